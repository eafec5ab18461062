"""Unknown ids as the real gateway reports them: HTTP 400 with a "not found" ``errorCode``.

Codes and bodies: ``401861`` "User with identifier ... was not found" and ``402203`` (MMS /
asset id) from public clients of the same gateway (bodleian/almapy ``_ERROR_MAPPING``,
NationalLibraryOfNorway/bikube ``AlmaErrorCode``); the JSON and XML envelopes are the
verbatim captures of reference §6.1; the ``web_service_result`` JSON wrapper with a single
``error`` object is the shape almapy reads (``web_service_result.errorList.error``).
"""

from __future__ import annotations

import httpx
import pytest
from resource_sim import BASE_URL, calls

from esploro_async import (
    BadRequestError,
    EsploroClient,
    NotFoundError,
    RetryPolicy,
    ServerError,
)
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]

USER_NOT_FOUND = {
    "errorsExist": True,
    "errorList": {
        "error": [
            {
                "errorCode": "401861",
                "errorMessage": "User with identifier jdoe of type primary_id was not found.",
                "trackingId": "E01-1409095747-SS4OE-AWAE1612166395",
            }
        ]
    },
    "result": None,
}
USER_NOT_FOUND_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">'
    b"<errorsExist>true</errorsExist><errorList><error><errorCode>401861</errorCode>"
    b"<errorMessage>User with identifier jdoe of type primary_id was not found.</errorMessage>"
    b"<trackingId>E01-1409095748-ZYFO9-AWAE1612166395</trackingId></error></errorList>"
    b"</web_service_result>"
)
WRAPPED_SINGLE = {
    "web_service_result": {
        "errorsExist": True,
        "errorList": {
            "error": {
                "errorCode": "402203",
                "errorMessage": "Input parameters mmsId 99nope is not valid.",
                "trackingId": "E01-2811120000-ABCDE-AWAE1",
            }
        },
    }
}


def _client(response: httpx.Response) -> EsploroClient:
    return EsploroClient(
        "k",
        base_url=BASE_URL,
        retry=RetryPolicy.none(),
        transport=httpx.MockTransport(lambda request: response),
    )


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(400, json=USER_NOT_FOUND), id="json-400"),
        pytest.param(
            httpx.Response(
                400,
                content=USER_NOT_FOUND_XML,
                headers={"Content-Type": "application/xml;charset=UTF-8"},
            ),
            id="xml-400",
        ),
        pytest.param(httpx.Response(404, json=USER_NOT_FOUND), id="json-404"),
    ],
)
async def test_an_unknown_researcher_is_not_found_whatever_the_status(
    response: httpx.Response,
) -> None:
    async with _client(response) as client:
        with pytest.raises(NotFoundError) as raised:
            await client.researchers.get("jdoe")
    assert raised.value.error_code == "401861"
    assert raised.value.status_code == response.status_code
    assert raised.value.tracking_id is not None


async def test_a_wrapped_single_error_object_parses() -> None:
    async with _client(httpx.Response(400, json=WRAPPED_SINGLE)) as client:
        with pytest.raises(NotFoundError) as raised:
            await client.assets.get("99nope")
    assert raised.value.error_code == "402203"
    assert "mmsId 99nope" in str(raised.value)
    # the same body on a 200 is an error, not a success with an odd payload
    async with _client(httpx.Response(200, json=WRAPPED_SINGLE)) as client:
        with pytest.raises(NotFoundError):
            await client.request("GET", "assets/99nope")


async def test_other_codes_keep_their_class() -> None:
    general = {"errorsExist": True, "errorList": {"error": {"errorCode": "402119"}}}
    async with _client(httpx.Response(400, json=general)) as client:
        with pytest.raises(BadRequestError) as raised:
            await client.researchers.get("jdoe")
    assert not isinstance(raised.value, NotFoundError)
    internal = {"errorsExist": True, "errorList": {"error": {"errorCode": "INTERNAL_SERVER_ERROR"}}}
    async with _client(httpx.Response(500, json=internal)) as client:
        with pytest.raises(ServerError) as server:
            await client.researchers.get("jdoe")
    assert not isinstance(server.value, NotFoundError)


async def test_get_many_reports_ids_answered_400_not_found_as_missing() -> None:
    async with _client(httpx.Response(400, json=WRAPPED_SINGLE)) as client:
        batch = await client.assets.get_many(["99nope", "99gone"])
    assert batch.found == []
    assert batch.missing == ["99nope", "99gone"]


async def test_the_simulator_answers_unknown_ids_as_the_real_gateway(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    for call in (
        client.researchers.get("nobody"),
        client.assets.get("990000000000000"),
        client.organizations.get("NOPE"),
        client.config.sets.get("1"),
        client.config.jobs.get("M0"),
    ):
        with pytest.raises(NotFoundError) as raised:
            await call
        assert raised.value.status_code == 400
    assert [r.error_code for r in calls(gw)] == ["401861", "402880", "402885", "402885", "402885"]
