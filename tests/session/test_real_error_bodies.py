"""Error bodies as the gateway really sends them (``tests/fixtures/public``, verbatim
answers recorded in scriptotek/php-alma-client ``spec/data``), through the client.

* ``per_second_threshold_error_response.json``: a JSON 429 without ``trackingId`` whose
  message ends in a space;
* ``error_response.xml``: an XML error declared ``encoding="utf-8"`` in lower case;
* ``report_not_found_response.xml``: ``INTERNAL_SERVER_ERROR`` "Path not found (...)";
* ``item_barcode_error_response.json``: ``401689`` "No items found for barcode 123.".
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from esploro_async import (
    BadRequestError,
    EsploroClient,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from esploro_async.testing import SIM_API_KEY, Fault, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime

PUBLIC = Path(__file__).parent.parent / "fixtures" / "public"
XML = {"Content-Type": "application/xml;charset=UTF-8"}
JSON = {"Content-Type": "application/json;charset=UTF-8"}


def _client(responses: list[httpx.Response], *, retry: RetryPolicy | None = None) -> EsploroClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return responses.pop(0) if len(responses) > 1 else responses[0]

    return EsploroClient(
        "k",
        base_url="http://esploro.localhost",
        retry=retry or RetryPolicy(backoff_initial=0.01),
        transport=httpx.MockTransport(answer),
    )


def _counted(response: httpx.Response) -> tuple[list[int], httpx.MockTransport]:
    sent: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return response

    return sent, httpx.MockTransport(answer)


async def test_a_real_429_without_tracking_id_and_a_trailing_space_parses() -> None:
    body = (PUBLIC / "per_second_threshold_error_response.json").read_bytes()
    async with _client(
        [httpx.Response(429, content=body, headers=JSON)], retry=RetryPolicy.none()
    ) as client:
        with pytest.raises(RateLimitError) as raised:
            await client.researchers.get("jdoe")
    assert raised.value.error_code == "PER_SECOND_THRESHOLD"
    assert raised.value.tracking_id is None
    assert raised.value.errors[0].message == (
        "HTTP requests are more than allowed per second. See https://goo.gl/2x1c1M"
    )


@pytest.mark.parametrize("prefix", [b"", b"\n", b"\r\n   ", b"\t "], ids=repr)
async def test_a_real_xml_error_in_lower_case_utf_8_with_leading_whitespace_parses(
    prefix: bytes,
) -> None:
    body = prefix + (PUBLIC / "error_response.xml").read_bytes()
    assert b'encoding="utf-8"' in body
    async with _client([httpx.Response(400, content=body, headers=XML)]) as client:
        with pytest.raises(BadRequestError) as raised:
            await client.researchers.get("jdoe")
    assert raised.value.error_code == "401664"
    assert raised.value.errors[0].message == "Mandatory field is missing: library"
    assert raised.value.tracking_id == "E02-2807130150-8OWYS-AWAE533535741"


@pytest.mark.parametrize(
    ("fixture", "status", "code"),
    [
        ("report_not_found_response.xml", 500, "INTERNAL_SERVER_ERROR"),
        ("report_not_found_response.xml", 400, "INTERNAL_SERVER_ERROR"),
        ("item_barcode_error_response.json", 500, "401689"),
        ("item_barcode_error_response.json", 400, "401689"),
    ],
)
async def test_not_found_in_another_code_or_status_is_not_found_and_never_retried(
    fixture: str, status: int, code: str
) -> None:
    body = (PUBLIC / fixture).read_bytes()
    headers = XML if fixture.endswith(".xml") else JSON
    sent, transport = _counted(httpx.Response(status, content=body, headers=headers))
    async with EsploroClient(
        "k", base_url="http://esploro.localhost", transport=transport
    ) as client:
        with pytest.raises(NotFoundError) as raised:
            await client.request("GET", "researchanalytics/reports", params={"path": "/test/path"})
    assert raised.value.error_code == code
    assert raised.value.status_code == status
    assert len(sent) == 1  # the default policy retries 500s: not this one


async def test_402204_is_a_malformed_id_not_an_unknown_one() -> None:
    body = {
        "errorsExist": True,
        "errorList": {
            "error": [
                {
                    "errorCode": "402204",
                    "errorMessage": "Input parameters mmsId abc is not numeric.",
                    "trackingId": "E01-0000000000-AAAAA-AWAE1",
                }
            ]
        },
    }
    async with _client([httpx.Response(400, json=body)]) as client:
        with pytest.raises(BadRequestError) as raised:
            await client.assets.get("abc")
    assert not isinstance(raised.value, NotFoundError)
    assert "malformed" in str(raised.value)


async def test_a_server_error_that_says_nothing_of_not_found_is_still_retried() -> None:
    body = {"errorsExist": True, "errorList": {"error": [{"errorCode": "INTERNAL_SERVER_ERROR",
            "errorMessage": "Internal server error."}]}}  # fmt: skip
    sent, transport = _counted(httpx.Response(500, json=body))
    async with EsploroClient(
        "k",
        base_url="http://esploro.localhost",
        transport=transport,
        retry=RetryPolicy(max_attempts=3, backoff_initial=0.01),
    ) as client:
        with pytest.raises(ServerError) as raised:
            await client.researchers.get("jdoe")
    assert not isinstance(raised.value, NotFoundError)
    assert len(sent) == 3


async def test_the_simulator_pads_bodies_and_declares_errors_in_lower_case() -> None:
    gw = SimulatedGateway(
        SyntheticInstitution(seed=1, researchers=3, assets=3),
        faults=[Fault("leading_whitespace", endpoint="researchers")],
    )
    async with EsploroClient(
        SIM_API_KEY,
        base_url="http://esploro.localhost",
        transport=gw.transport(),
        retry=RetryPolicy.none(),
    ) as client:
        known = gw.institution.researchers.ids()[0]
        assert (await client.researchers.get(known)).primary_id == known
        with pytest.raises(NotFoundError):
            await client.researchers.get("nobody", extra_headers={"Accept": "application/xml"})
    records = [r for r in gw.log if r.path.startswith("/esploro/v1/researchers")]
    assert [r.status for r in records] == [200, 400]


async def test_the_simulator_can_throttle_with_the_real_json_body() -> None:
    gw = SimulatedGateway(SyntheticInstitution(seed=1, researchers=3, assets=3), rate_limit=1)
    gw.throttle_body = "json"
    async with httpx.AsyncClient(
        transport=gw.transport(), base_url="http://esploro.localhost"
    ) as raw:
        answers = [
            await raw.get(
                "/esploro/v1/researchers/test", headers={"Authorization": f"apikey {SIM_API_KEY}"}
            )
            for _ in range(2)
        ]
    assert [a.status_code for a in answers] == [200, 429]
    real = json.loads((PUBLIC / "per_second_threshold_error_response.json").read_text())
    assert answers[1].json() == real
    # and the client, under its own governance, paces itself and reads it as a throttle
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport()
    ) as client:
        ids = gw.institution.researchers.ids()
        got = [(await client.researchers.get(i)).primary_id for i in ids]
    assert got == ids
