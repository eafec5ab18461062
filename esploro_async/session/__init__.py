"""The HTTP session: configuration, the single request path, responses and error mapping."""

from esploro_async.session.base import DEFAULT_TIMEOUT, BaseClient, quote_segment
from esploro_async.session.config import REGIONS, Format, Region
from esploro_async.session.options import ClientOptions
from esploro_async.session.response import EsploroResponse

__all__ = [
    "DEFAULT_TIMEOUT",
    "REGIONS",
    "BaseClient",
    "ClientOptions",
    "EsploroResponse",
    "Format",
    "Region",
    "quote_segment",
]
