"""The URL a request is sent to: the query httpx itself would build, and a path's own query kept.

The session encodes the query into the URL string once (`url_of`) instead of handing httpx
the parameters apart; these tests hold it to httpx's own encoding, over random parameters,
and read what was sent with the standard library's parser.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import API_KEY, BASE_URL
from esploro_async import EsploroClient
from esploro_async.session.paths import url_of

_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=0, max_size=12)
_VALUE = st.one_of(
    _TEXT,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_PARAMS = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(_VALUE, st.lists(_VALUE, max_size=3)),
    max_size=5,
)
_PATHS = st.sampled_from(
    ["/esploro/v1/researchers", "/esploro/v1/assets/99123%2F4", "/almaws/v1/conf/jobs/M1"]
)


@settings(max_examples=300, deadline=None)
@given(path=_PATHS, params=_PARAMS)
def test_the_url_is_the_one_httpx_builds_from_the_parameters(
    path: str, params: dict[str, Any]
) -> None:
    client = httpx.Client()
    expected = client.build_request("GET", "https://gw.example" + path, params=params).url
    sent = client.build_request("GET", url_of("https://gw.example", path, params)).url
    assert sent == expected
    assert sent.raw_path == expected.raw_path


async def _sent_url(path: str, params: dict[str, Any] | None) -> httpx.URL:
    """The URL one request made by the client reached the transport with."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={}, headers={"X-Exl-Api-Remaining": "1000"})

    async with EsploroClient(
        API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(handler)
    ) as client:
        await client.request("GET", path, params=params)
    assert len(seen) == 1
    return seen[0]


async def test_a_query_in_the_path_is_sent_with_the_parameters() -> None:
    url = await _sent_url("researchers?view=brief&limit=5", {"offset": 10, "limit": 20})
    # The parameters win where both name a key, as httpx's own merging does.
    assert parse_qsl(urlsplit(str(url)).query) == [
        ("view", "brief"),
        ("limit", "20"),
        ("offset", "10"),
    ]
    assert url.path == "/esploro/v1/researchers"


async def test_a_path_with_a_query_and_no_parameters_keeps_its_query() -> None:
    url = await _sent_url("researchers?view=brief", None)
    assert parse_qsl(urlsplit(str(url)).query) == [("view", "brief")]


async def test_reserved_characters_in_a_parameter_stay_in_its_value() -> None:
    value = 'all~"a b"&limit=1#x/é'
    url = await _sent_url("researchers", {"q": value, "limit": 3})
    assert parse_qsl(urlsplit(str(url)).query) == [("q", value), ("limit", "3")]
    assert url.host == httpx.URL(BASE_URL).host
    assert url.path == "/esploro/v1/researchers"
