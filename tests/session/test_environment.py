"""What a new user's environment decides: the gateway, logging, the trust store."""

from __future__ import annotations

import logging
import ssl
import subprocess
import sys

import httpx
import pytest

from conftest import API_KEY, BASE_URL, make_gateway
from esploro_async import REGIONS, ConfigurationError, EsploroClient
from esploro_async.sync import EsploroClient as BlockingClient


async def test_the_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESPLORO_REGION", "eu")
    async with EsploroClient(API_KEY) as client:
        assert client.base_url == REGIONS["eu"]


async def test_the_base_url_comes_from_the_environment_and_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A guide's ``EsploroClient()`` reaches the simulated gateway the shell names."""
    gateway = make_gateway()
    monkeypatch.setenv("ESPLORO_BASE_URL", BASE_URL)
    monkeypatch.setenv("ESPLORO_REGION", "eu")  # the URL wins, as on the command line
    async with EsploroClient(API_KEY, transport=gateway.transport()) as client:
        assert client.base_url == BASE_URL
        response = await client.request("GET", "researchers/test")
    assert response.status_code == 200
    assert len(gateway.log) == 1


async def test_what_code_passes_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESPLORO_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ESPLORO_REGION", "eu")
    async with EsploroClient(API_KEY, region="ap") as client:
        assert client.base_url == REGIONS["ap"]
    async with EsploroClient(API_KEY, base_url=BASE_URL) as client:
        assert client.base_url == BASE_URL


def test_the_blocking_client_reads_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESPLORO_REGION", "ca")
    with BlockingClient(API_KEY) as client:
        assert client.base_url == REGIONS["ca"]


def test_an_unsafe_base_url_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ESPLORO_BASE_URL", "http://example.org")
    with pytest.raises(ConfigurationError, match="plain http"):
        EsploroClient(API_KEY)


def test_the_package_logger_prints_nothing_unless_the_application_configures_logging() -> None:
    assert any(
        isinstance(h, logging.NullHandler) for h in logging.getLogger("esploro_async").handlers
    )
    # Without a handler, Python's last resort prints warnings to stderr: not ours.
    code = (
        "import logging, esploro_async\n"
        "logging.getLogger('esploro_async.http').warning('a warning of the library')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stderr == ""


async def test_the_system_trust_store_is_used_for_this_client_only() -> None:
    truststore = pytest.importorskip("truststore")  # the test extra brings it
    original = ssl.SSLContext
    async with EsploroClient(API_KEY, verify="system") as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._ssl_context, truststore.SSLContext)
    assert ssl.SSLContext is original  # ssl was not patched for the process
    async with EsploroClient(API_KEY) as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert not isinstance(pool._ssl_context, truststore.SSLContext)


def test_the_system_trust_store_without_truststore_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "truststore", None)
    with pytest.raises(ConfigurationError, match=r"esploro-async\[truststore\]"):
        EsploroClient(API_KEY, verify="system")


@pytest.mark.parametrize("verify", [False, "certifi", 0])
def test_certificate_checks_cannot_be_turned_off(verify: object) -> None:
    with pytest.raises(ConfigurationError, match="verify must be"):
        EsploroClient(API_KEY, verify=verify)  # type: ignore[arg-type]


async def test_verify_goes_to_a_client_this_object_creates_not_to_a_given_one() -> None:
    async with httpx.AsyncClient() as given:
        with pytest.raises(ConfigurationError, match="verify= or http_client"):
            EsploroClient(API_KEY, verify=ssl.create_default_context(), http_client=given)
