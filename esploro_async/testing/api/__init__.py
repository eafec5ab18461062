"""The simulated Esploro REST API behind the gateway (reference §2-§6).

:class:`EsploroApi` maps an already-authorised request to a response.  Formats: JSON by
default; XML when ``Accept`` asks for it (without JSON) or ``format=xml`` for asset
reads and writes, analytics (always XML), the ``/test`` endpoints, error bodies and the
job-instance fixture.  Every other endpoint answers JSON only.

Alma areas that Esploro integrations reach with the same key: ``/almaws/v1/conf`` (sets,
jobs, code tables), ``GET /almaws/v1/users/{id}`` (the researchers, as Alma users) and
``/almaws/v1/analytics/reports`` (served like the Esploro reports).

Alma configuration writes (``/almaws/v1/conf``): sets are created (``POST /sets``), deleted,
and their members added or removed (``POST /sets/{id}?op=add_members|delete_members``);
``POST /jobs/{id}?op=run`` starts a :class:`SimJobRun` that is queued, runs with progress and
ends with counters after simulated time. Activities must carry the snake_case fields of the
Create Activity API (``activity_name``, ``activity_category``, ``member_researcher``).

Empty pages omit the list key (``{"total_record_count": 0}``), as the real API may.

Simulated application error codes (HTTP status, ``errorCode``):

Unknown ids are answered with HTTP **400** and a "not found" code, as the real gateway
answers an unknown user (``401861``, seen in public Alma clients); only unknown paths get 404.

====  =========  ===========================================================
400   401861     researcher (user) not found
400   401858     researcher already exists (``POST /researchers``)
400   402119     general error: unparsable or wrongly shaped body
400   40166411   invalid parameter value (``limit``/``offset``/``action``/date...)
400   40166410   mandatory parameter missing (``GET /assets`` without ``doi`` or
                 ``update_date_from``; analytics without ``path``)
400   402880     no asset found for the requested id(s) (all ids unknown)
400   402204     an asset id that is not numeric (``GET /assets/{id}``, one id)
400   402884     asset id already exists (``POST /assets``)
400   402882     ``identifier.*`` fields sent in a JSON patch (XML only)
400   402883     ``temporary.linksToExtract`` sent in an XML patch (JSON only)
400   402885     organization / set / code table / profile / job / job instance /
                 mapping table / analytics catalog path not found
400   402886     invalid set member id(s) with ``fail_on_invalid_id=true``
400   402892     unknown analytics resumption token
400   420033     "No more rows to fetch": a token used after its report's last page
500   INTERNAL_SERVER_ERROR  "Path not found (...)": an unknown analytics report path
405   402894     method not supported on this path (e.g. PUT/DELETE on assets)
404   402893     unknown path
====  =========  ===========================================================
"""

from esploro_async.testing.api._base import (
    JSON_CT,
    XML_CT,
    ApiError,
    ApiRequest,
    ApiResponse,
)
from esploro_async.testing.api.dispatch import EsploroApi

__all__ = ["JSON_CT", "XML_CT", "ApiError", "ApiRequest", "ApiResponse", "EsploroApi"]
