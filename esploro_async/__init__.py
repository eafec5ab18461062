"""esploro-async: an asyncio client for the Ex Libris Esploro REST API.

It never breaks the gateway's governance thresholds: at most 25 request starts in
any second per institution, and a daily quota tracked from ``X-Exl-Api-Remaining``.
"""

import logging
from typing import TYPE_CHECKING

from esploro_async._version import __version__
from esploro_async.client import EsploroClient
from esploro_async.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BriefRecordError,
    ConfigurationError,
    ConnectionFailedError,
    ConnectionLostError,
    DailyQuotaExhaustedError,
    ErrorDetail,
    EsploroError,
    IncompletePageError,
    InsufficientQuotaError,
    InvalidIdentifierError,
    JobAbortedError,
    JobFailedError,
    JobManualHandlingError,
    JobWaitTimeoutError,
    NotFoundError,
    PatchFormatError,
    RateLimitError,
    RedisUnavailableError,
    ReportNotFinishedError,
    ReportTokenExpiredError,
    RequestTimeoutError,
    ResponseFormatError,
    ServerError,
    ServiceUnavailableError,
    UnresolvedDriftError,
    WrongHostError,
)
from esploro_async.governance import (
    Governance,
    GovernanceSettings,
    GovernanceSnapshot,
    RatePolicy,
)
from esploro_async.governance.lanes import Lane, use_lane
from esploro_async.retry import RetryPolicy
from esploro_async.session import REGIONS, ClientOptions, EsploroResponse

__all__ = [
    "REGIONS",
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BriefRecordError",
    "ClientOptions",
    "ConfigurationError",
    "ConnectionFailedError",
    "ConnectionLostError",
    "DailyQuotaExhaustedError",
    "ErrorDetail",
    "EsploroClient",
    "EsploroError",
    "EsploroResponse",
    "Governance",
    "GovernanceSettings",
    "GovernanceSnapshot",
    "IncompletePageError",
    "InsufficientQuotaError",
    "InvalidIdentifierError",
    "JobAbortedError",
    "JobFailedError",
    "JobManualHandlingError",
    "JobWaitTimeoutError",
    "Lane",
    "NotFoundError",
    "PatchFormatError",
    "RateLimitError",
    "RatePolicy",
    "RedisGovernance",
    "RedisUnavailableError",
    "ReportNotFinishedError",
    "ReportTokenExpiredError",
    "RequestTimeoutError",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "UnresolvedDriftError",
    "WrongHostError",
    "__version__",
    "use_lane",
]

# A library leaves logging to the application: without its configuration, nothing is printed
# (not even Python's "last resort" warnings to stderr).
logging.getLogger(__name__).addHandler(logging.NullHandler())


if TYPE_CHECKING:
    from esploro_async.governance.redis import RedisGovernance


def __getattr__(name: str) -> object:
    # Loaded on first use: redis is an optional dependency, and costly to import.
    if name == "RedisGovernance":
        from esploro_async.governance.redis import RedisGovernance

        return RedisGovernance
    from esploro_async import errors

    if name in errors.DEPRECATED_NAMES:
        return errors.deprecated_alias(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
