"""esploro-async: an asyncio client for the Ex Libris Esploro REST API.

It never breaks the gateway's governance thresholds: at most 25 request starts in
any second per institution, and a daily quota tracked from ``X-Exl-Api-Remaining``.
"""

from esploro_async._version import __version__
from esploro_async.client import EsploroClient
from esploro_async.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    BriefRecordError,
    ConfigurationError,
    ConnectError,
    DailyQuotaExhausted,
    ErrorDetail,
    EsploroError,
    InsufficientQuotaError,
    NetworkError,
    NotFoundError,
    PatchFormatError,
    RateLimitError,
    RedisUnavailableError,
    RequestTimeout,
    ResponseFormatError,
    ServerError,
    ServiceUnavailableError,
    TransportError,
    WrongHostError,
)
from esploro_async.governance import Governance, GovernanceSnapshot, RatePolicy
from esploro_async.governance.lanes import Lane, use_lane
from esploro_async.governance.redis import RedisGovernance
from esploro_async.retry import RetryPolicy
from esploro_async.session import REGIONS, EsploroResponse

__all__ = [
    "REGIONS",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BriefRecordError",
    "ConfigurationError",
    "ConnectError",
    "DailyQuotaExhausted",
    "ErrorDetail",
    "EsploroClient",
    "EsploroError",
    "EsploroResponse",
    "Governance",
    "GovernanceSnapshot",
    "InsufficientQuotaError",
    "Lane",
    "NetworkError",
    "NotFoundError",
    "PatchFormatError",
    "RateLimitError",
    "RatePolicy",
    "RedisGovernance",
    "RedisUnavailableError",
    "RequestTimeout",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "TransportError",
    "WrongHostError",
    "__version__",
    "use_lane",
]
