"""Questions a test asks of the simulated gateway's request log."""

from __future__ import annotations

from collections import Counter

from esploro_async.testing.window import max_in_window
from esploro_async.testing.wire import THRESHOLD_CODES, RequestRecord

__all__ = ["LogQueries"]


class LogQueries:
    """Counts and windows over ``log``, the requests a gateway saw in arrival order."""

    log: list[RequestRecord]
    window: float

    def max_in_window(
        self, window: float | None = None, *, accepted_only: bool = False, lane: str | None = None
    ) -> int:
        """Most arrivals in any half-open window ``[t, t + window)`` (default: ``self.window``).

        Arrivals refused for a threshold (429) count too: a 26th arrival is what a client
        must never cause, and the gateway never *accepts* more than its limit, so
        ``accepted_only=True`` can only ask how full the window was.  Requests the gateway
        refuses without counting (a bad key) never count.  ``lane=None`` counts client and
        foreign arrivals alike (what the server sees); ``lane="client"`` only ours.  Requests
        that never arrived are ignored.
        """
        times = [
            r.arrival
            for r in self.log
            if r.arrived
            and (r.accepted or (not accepted_only and r.error_code in THRESHOLD_CODES))
            and (lane is None or r.lane == lane)
        ]
        return max_in_window(times, self.window if window is None else window)

    def max_sent_in_window(self, window: float | None = None) -> int:
        """Most of the client's requests *sent* in any window ``[t, t + window)``.

        What the client controls; arrivals differ from it by the jitter of the request leg.
        """
        sent = [r.sent for r in self.log if r.sent is not None]
        return max_in_window(sent, self.window if window is None else window)

    def counts_by_status(self, lane: str | None = "client") -> Counter[int | None]:
        """``Counter`` of HTTP statuses (``None`` = no response) in the log."""
        return Counter(r.status for r in self.log if lane is None or r.lane == lane)

    def counts_by_error_code(self, lane: str | None = "client") -> Counter[str]:
        """``Counter`` of error codes (gateway, application and fault codes) in the log."""
        return Counter(
            r.error_code for r in self.log if r.error_code and (lane is None or r.lane == lane)
        )

    def client_log(self) -> list[RequestRecord]:
        """The log without foreign arrivals."""
        return [r for r in self.log if r.lane == "client"]

    def reset_log(self) -> None:
        """Forget the log (governance state is kept)."""
        self.log.clear()
