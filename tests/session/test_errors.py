"""Every error body shape maps to its exception class, with its details."""

from __future__ import annotations

import httpx
import pytest
import respx

from conftest import API_KEY, BASE_URL
from esploro_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    EsploroClient,
    NotFoundError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    ServiceUnavailableError,
    WrongHostError,
)
from esploro_async.testing._xml import error_xml

pytestmark = pytest.mark.looptime

JSON_ERROR = {
    "errorsExist": True,
    "errorList": {
        "error": [
            {
                "errorCode": "401861",
                "errorMessage": "User with identifier jdoe was not found.",
                "trackingId": "E01-2811120000-ABCDE-AWAE1",
            }
        ]
    },
    "result": None,
}
XML_APP_ERROR = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">'
    "<errorsExist>true</errorsExist><errorList>"
    "<error><errorCode>402119</errorCode><errorMessage>General error.</errorMessage>"
    "<trackingId>E01-1</trackingId></error>"
    "<error><errorCode>402120</errorCode><errorMessage>Second.</errorMessage>"
    "<trackingId>E01-2</trackingId></error>"
    "</errorList></web_service_result>"
)
HTML_401 = (
    "<!doctype html><html><head><title>HTTP Status 401 – Unauthorized</title></head>"
    "<body><h1>HTTP Status 401 – Unauthorized</h1></body></html>"
)
XML = {"Content-Type": "application/xml;charset=UTF-8"}
HTML = {"Content-Type": "text/html;charset=utf-8"}

CASES = [
    pytest.param(httpx.Response(404, json=JSON_ERROR), NotFoundError, "401861", id="json-404"),
    pytest.param(
        httpx.Response(400, content=XML_APP_ERROR, headers=XML),
        BadRequestError,
        "402119",
        id="xml-400",
    ),
    pytest.param(
        httpx.Response(
            400,
            content=error_xml("UNAUTHORIZED", "API-key not defined", "E01-TEST"),
            headers=XML,
        ),
        AuthenticationError,
        "UNAUTHORIZED",
        id="gateway-xml-to-json-request",
    ),
    pytest.param(
        httpx.Response(
            403, json={"errorsExist": True, "errorList": {"error": {"errorCode": "FORBIDDEN"}}}
        ),
        AuthenticationError,
        "FORBIDDEN",
        id="json-403-single-error-object",
    ),
    pytest.param(
        httpx.Response(401, content=HTML_401, headers=HTML), WrongHostError, None, id="html-401"
    ),
    pytest.param(
        httpx.Response(
            503, content=error_xml("ROUTING_ERROR", "No route", "E01-TEST"), headers=XML
        ),
        ServiceUnavailableError,
        "ROUTING_ERROR",
        id="routing-error",
    ),
    pytest.param(httpx.Response(502), ServerError, None, id="empty-502"),
    pytest.param(
        httpx.Response(
            200,
            json={"errorsExist": True, "errorList": {"error": [{"errorCode": "401604"}]}},
        ),
        APIError,
        "401604",
        id="200-with-errorsExist",
    ),
    pytest.param(
        httpx.Response(200, content=XML_APP_ERROR, headers=XML),
        APIError,
        "402119",
        id="200-xml-errors",
    ),
]


@pytest.mark.parametrize(("response", "error_class", "code"), CASES)
async def test_error_bodies_map_to_classes(
    response: httpx.Response, error_class: type[APIError], code: str | None
) -> None:
    async with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/esploro/v1/researchers/jdoe").mock(return_value=response)
        async with EsploroClient(API_KEY, base_url=BASE_URL, retry=RetryPolicy.none()) as client:
            with pytest.raises(error_class) as raised:
                await client.request("GET", "researchers/jdoe")
    error = raised.value
    assert type(error) is error_class
    assert error.status_code == response.status_code
    assert error.error_code == code
    assert error.method == "GET"
    assert error.path == "/esploro/v1/researchers/jdoe"
    assert route.call_count == 1
    if code is not None:
        assert code in str(error)


async def test_all_listed_errors_and_the_tracking_id_are_kept() -> None:
    async with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/esploro/v1/researchers/x").mock(
            return_value=httpx.Response(
                400, content=XML_APP_ERROR, headers={**XML, "X-Exl-Api-Remaining": "4242"}
            )
        )
        async with EsploroClient(API_KEY, base_url=BASE_URL) as client:
            with pytest.raises(BadRequestError) as raised:
                await client.request("GET", "researchers/x")
    error = raised.value
    assert [e.code for e in error.errors] == ["402119", "402120"]
    assert error.tracking_id == "E01-1"
    assert error.quota_remaining == 4242
    assert "tracking id E01-1" in str(error)
    assert "+1 more" in str(error)


async def test_wrong_host_says_what_to_do() -> None:
    async with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/esploro/v1/researchers").mock(
            return_value=httpx.Response(401, content=HTML_401, headers=HTML)
        )
        async with EsploroClient(API_KEY, base_url=BASE_URL) as client:
            with pytest.raises(WrongHostError, match="not the Ex Libris API gateway"):
                await client.request("GET", "researchers")


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b'{"user": [{"primary_id": "a"', "application/json"), (b"<report><Query", "application/xml")],
    ids=["truncated-json", "truncated-xml"],
)
async def test_unreadable_success_body_is_retried_for_get_then_raised(
    body: bytes, ctype: str
) -> None:
    async with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/esploro/v1/researchers").mock(
            return_value=httpx.Response(200, content=body, headers={"Content-Type": ctype})
        )
        retry = RetryPolicy(max_attempts=2, backoff_initial=0)
        async with EsploroClient(API_KEY, base_url=BASE_URL, retry=retry) as client:
            with pytest.raises(ResponseFormatError, match="could not be read"):
                await client.request("GET", "researchers")
    assert route.call_count == 2


async def test_xml_success_body_is_parsed_safely() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;">]><r>&lol2;</r>'
    )
    async with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/esploro/v1/assets/1").mock(
            return_value=httpx.Response(200, content=bomb, headers=XML)
        )
        async with EsploroClient(API_KEY, base_url=BASE_URL, retry=RetryPolicy.none()) as client:
            with pytest.raises(ResponseFormatError):
                await client.request("GET", "assets/1", format="xml")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("DailyQuotaExhausted", "DailyQuotaExhaustedError"),
        ("RequestTimeout", "RequestTimeoutError"),
        ("TransportError", "APIConnectionError"),
        ("ConnectError", "ConnectionFailedError"),
        ("NetworkError", "ConnectionLostError"),
    ],
)
def test_old_exception_names_still_import_with_a_deprecation_warning(old: str, new: str) -> None:
    import esploro_async
    from esploro_async import errors

    for module in (esploro_async, errors):
        with pytest.warns(DeprecationWarning, match=new):
            cls = getattr(module, old)
        assert cls is getattr(errors, new)
    with pytest.raises(AttributeError):
        _ = esploro_async.NoSuchError


async def test_an_api_error_carries_the_response_headers_and_status_not_the_key() -> None:
    headers = {"X-Exl-Api-Remaining": "41", "Retry-After": "7", "X-Request-Tag": "abc"}
    async with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/esploro/v1/researchers/x").mock(
            return_value=httpx.Response(404, json=JSON_ERROR, headers=headers)
        )
        async with EsploroClient(API_KEY, base_url=BASE_URL) as client:
            with pytest.raises(NotFoundError) as raised:
                await client.request("GET", "researchers/x")
    error = raised.value
    assert error.status_code == 404
    assert isinstance(error.headers, httpx.Headers)
    assert error.headers["x-request-tag"] == "abc"  # any case, as httpx's headers
    assert error.headers["Retry-After"] == "7"
    assert API_KEY not in repr(error.headers) + repr(vars(error))


def test_an_api_error_built_by_hand_has_empty_headers() -> None:
    error = APIError("boom", status_code=500)
    assert error.headers == httpx.Headers()
