"""The headers of a request: the client's fixed ones per format, the caller's, the body's type."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any

from esploro_async._version import __version__
from esploro_async.session.config import Format

__all__ = ["ACCEPT", "BodyAndHeaders", "base_headers"]

ACCEPT: dict[Format, str] = {"json": "application/json", "xml": "application/xml"}
_ACCEPT_ENCODING = "gzip, deflate"  # what `read_body` decodes with a bounded output
_FIXED_HEADERS = frozenset({"accept", "accept-encoding", "authorization"})


def base_headers(api_key: str) -> dict[Format, dict[str, str]]:
    """The headers every request in each format carries."""
    return {
        fmt: {
            "User-Agent": f"esploro-async/{__version__}",
            "Accept": accept,
            "Accept-Encoding": _ACCEPT_ENCODING,
            "Authorization": f"apikey {api_key}",
        }
        for fmt, accept in ACCEPT.items()
    }


class BodyAndHeaders:
    """Builds the body and headers of each request from the client's fixed headers.

    ``sent_by_default`` is the format whose headers the http client sends by itself (one it
    owns): a request in it without extra headers passes none, as httpx merges each header
    it is given, slowly.
    """

    def __init__(self, api_key: str, sent_by_default: Format | None = None) -> None:
        self.by_format = base_headers(api_key)
        self.sent_by_default = sent_by_default

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sent_by_default={self.sent_by_default!r})"

    def build(
        self, fmt: Format, extra: Mapping[str, str] | None, json: Any, content: bytes | str | None
    ) -> tuple[bytes | None, dict[str, str] | None]:
        """The body to send and the headers to pass with it (``None``: the client's own)."""
        headers = self.headers(fmt, extra)
        if json is not None:
            if content is not None:
                raise ValueError("pass json or content, not both")
            body = jsonlib.dumps(json, ensure_ascii=False).encode()
            return body, _content_type(headers, "application/json", replace=True)
        if content is None:
            return None, headers
        body = content.encode() if isinstance(content, str) else content
        return body, _content_type(headers, ACCEPT[fmt], replace=False)

    def headers(self, fmt: Format, extra: Mapping[str, str] | None) -> dict[str, str] | None:
        """The headers to pass with a request; ``None`` when the http client sends them."""
        base = self.by_format[fmt]
        if not extra:
            return None if fmt == self.sent_by_default else dict(base)
        # A caller may set its own User-Agent, never Accept, Accept-Encoding or Authorization,
        # in whatever case it spells them (one name in two cases would send both values).
        headers = {"User-Agent": base["User-Agent"]}
        for name, value in extra.items():
            lowered = name.lower()
            if lowered == "user-agent":
                headers["User-Agent"] = value
            elif lowered not in _FIXED_HEADERS:
                headers[name] = value
        for name in ("Accept", "Accept-Encoding", "Authorization"):
            headers[name] = base[name]
        return headers


def _content_type(
    headers: Mapping[str, str] | None, value: str, *, replace: bool
) -> dict[str, str]:
    """``headers`` with one ``Content-Type``: ``value``, or the caller's unless ``replace``.

    Names are compared whatever their case: one name in two cases would send both values.
    """
    merged = dict(headers or {})
    given = [name for name in merged if name.lower() == "content-type"]
    if given and not replace:
        return merged
    for name in given:
        del merged[name]
    merged["Content-Type"] = value
    return merged
