"""Where requests go: regional gateways, base URL checks, the API key source."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import ssl
from typing import Literal

import httpx

from esploro_async.errors import ConfigurationError

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "REGIONS",
    "REGION_ENV",
    "Format",
    "Region",
    "key_fingerprint",
    "resolve_api_key",
    "resolve_base_url",
    "tls_context",
]

Region = Literal["na", "eu", "ap", "aps", "ca", "cn"]
Format = Literal["json", "xml"]

REGIONS: dict[str, str] = {
    "na": "https://api-na.hosted.exlibrisgroup.com",
    "eu": "https://api-eu.hosted.exlibrisgroup.com",
    "ap": "https://api-ap.hosted.exlibrisgroup.com",
    "aps": "https://api-aps.hosted.exlibrisgroup.com",
    "ca": "https://api-ca.hosted.exlibrisgroup.com",
    "cn": "https://api-cn.hosted.exlibrisgroup.com.cn",
}
"""The Ex Libris API gateways. China is ``.com.cn``; ``aps`` is Australia."""

API_KEY_ENV = "ESPLORO_API_KEY"
REGION_ENV = "ESPLORO_REGION"
BASE_URL_ENV = "ESPLORO_BASE_URL"


def gateway_from_env(region: str | None, base_url: str | None) -> tuple[str | None, str | None]:
    """``region`` and ``base_url`` as given, else from ``$ESPLORO_BASE_URL`` / ``$ESPLORO_REGION``.

    The environment is read only when neither is given, as the command line does: a
    ``base_url`` or ``region`` passed in code always wins, and ``ESPLORO_BASE_URL`` wins
    over ``ESPLORO_REGION`` (a simulated gateway named in the environment is used whatever
    region is set beside it). Empty variables count as unset.
    """
    if region is not None or base_url is not None:
        return region, base_url
    env_url = os.environ.get(BASE_URL_ENV, "").strip()
    if env_url:
        return None, env_url
    env_region = os.environ.get(REGION_ENV, "").strip()
    return (env_region or None), None


def resolve_api_key(api_key: str | None) -> str:
    """The key given, else ``$ESPLORO_API_KEY``, stripped.

    `ConfigurationError` if neither, or if the key holds anything but printable ASCII
    (a header cannot carry it; refusing it here beats failing on every request).
    """
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not key or not key.strip():
        raise ConfigurationError(
            f"no API key: pass api_key=... or set {API_KEY_ENV}. Keys are created in the Ex Libris "
            "Developer Network with read or read/write permission for each API area."
        )
    key = key.strip()
    if any(c in key for c in "\r\n"):
        raise ConfigurationError("the API key contains a line break; check how it was read")
    for position, char in enumerate(key, 1):
        if not "!" <= char <= "~":  # printable ASCII, no space: all a header can carry
            raise ConfigurationError(
                f"the API key contains {_describe_char(char)} at position {position}; "
                "keys are printable ASCII: check how it was copied or read"
            )
    return key


def _describe_char(char: str) -> str:
    """Name an unacceptable key character without echoing the key."""
    if char.isspace():
        return "whitespace"
    if ord(char) < 32 or ord(char) == 127:
        return f"a control character (U+{ord(char):04X})"
    return f"a non-ASCII character (U+{ord(char):04X})"


def key_fingerprint(api_key: str) -> str:
    """A short, irreversible tag for logs and registries (never the key itself)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(region: str | None, base_url: str | None) -> str:
    """The gateway URL for ``region``, or ``base_url`` checked for safety.

    Plain ``http://`` is refused except for loopback hosts (``localhost``,
    ``*.localhost``, 127.0.0.0/8, ``::1``): the API key travels in a header.
    """
    if base_url is not None:
        return _checked_base_url(base_url)
    if region is None:
        return REGIONS["na"]
    name = region.lower() if isinstance(region, str) else region
    if name not in REGIONS:
        raise ConfigurationError(
            f"unknown region {region!r}: choose one of {', '.join(REGIONS)} or pass base_url"
        )
    return REGIONS[name]


_API_ROOT = "/esploro/v1"


def _check_port_and_credentials(url: httpx.URL, port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise ConfigurationError(f"base_url's port must be in [1, 65535], got {port}")
    if url.userinfo:
        raise ConfigurationError(
            "base_url must not carry a user name or password (user:password@host): the API "
            "key is sent in a header, and a URL is shown in logs and reprs"
        )


def _checked_base_url(base_url: str) -> str:
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a URL string, got {base_url!r}")
    try:
        url = httpx.URL(base_url)
        port = url.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigurationError(f"base_url is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL such as {REGIONS['na']}, got {base_url!r}"
        )
    _check_port_and_credentials(url, port)
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigurationError(
            "refusing plain http:// to a non-loopback host: the API key would cross the "
            "network unencrypted. Use https:// (plain http is allowed for localhost only)."
        )
    if url.query or url.fragment or "apikey" in base_url.lower():
        raise ConfigurationError(
            "base_url must not carry a query string: the API key is sent in a header"
        )
    text = str(url).rstrip("/")
    # The gateway's URL, as the API documentation gives it with the API's root: paths are
    # relative to that root already, so keeping it would send /esploro/v1/esploro/v1/...
    if text.lower().endswith(_API_ROOT):
        text = text[: -len(_API_ROOT)].rstrip("/")
    return text


def tls_context(verify: object, *, given_client: bool = False) -> ssl.SSLContext | None:
    """The TLS context for ``verify=``: ``None`` keeps httpx's default (certifi's roots).

    ``"system"`` verifies with the operating system's trust store through ``truststore``
    (``pip install 'esploro-async[truststore]'``), so a CA that a campus proxy re-signs with,
    installed on the machine, is trusted. Only this client's context is affected:
    ``truststore.inject_into_ssl()`` (which patches ``ssl`` for the whole process) is never
    called. An ``ssl.SSLContext`` is used as given. ``given_client``: the caller brings its
    own httpx client, which has its own ``verify=``.
    """
    if verify is None:
        return None
    if given_client:
        raise ConfigurationError(
            "pass verify= or http_client, not both: give the http_client its own verify="
        )
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify == "system":
        try:
            import truststore
        except ImportError:
            raise ConfigurationError(
                "verify='system' uses the system trust store through truststore: "
                "pip install 'esploro-async[truststore]'"
            ) from None
        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    raise ConfigurationError(
        f"verify must be 'system' or an ssl.SSLContext, not {verify!r}; certificate checks "
        "cannot be turned off (the API key travels in a header)"
    )
