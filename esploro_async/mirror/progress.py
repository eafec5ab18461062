"""What a sync reports while it runs and when it ends: `SyncCounts`, `SyncPlan`, `SyncSummary`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

__all__ = ["SyncCounts", "SyncObserver", "SyncPlan", "SyncSummary"]


@attrs.define
class SyncCounts:
    """Records of one run so far (across resumptions of the run), and its requests.

    ``requests`` counts this process's attempts only; ``quota_left`` is the daily quota
    left as governance last saw it (``None``: unknown yet).
    """

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    requests: int = 0
    quota_left: int | None = None

    @property
    def records(self) -> int:
        """Records seen: new, changed and unchanged."""
        return self.new + self.changed + self.unchanged

    def to_dict(self) -> dict[str, int]:
        """The counts a run keeps in its state (the requests and quota are per process)."""
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncCounts:
        """The counts kept in a run's state."""
        return cls(**{k: int(data.get(k, 0)) for k in ("new", "changed", "unchanged", "deleted")})


@attrs.frozen
class SyncPlan:
    """What a run will fetch and what it will cost, known before it starts.

    Attributes:
        kind: what is synced.
        mode: ``full`` (first run), ``incremental``, ``reconcile`` or ``resume``.
        since: assets: the ``update_date_from`` of the listing (``None`` otherwise).
        records: records the listing will go through (its total).
        requests: requests the run needs (for researchers, new and changed records are
            unknown until listed: counted as the ids the store does not hold yet).
        quota_left: the daily quota left (``None``: unknown).
        reserve: the daily reserve governance protects.
        refresh: researchers: full records the rotation refreshes this run.
    """

    kind: str
    mode: str
    since: str | None
    records: int
    requests: int
    quota_left: int | None
    reserve: int
    refresh: int = 0

    @property
    def fits(self) -> bool | None:
        """Whether the run can finish above the reserve (``None``: quota unknown)."""
        if self.quota_left is None:
            return None
        return self.quota_left - self.requests >= self.reserve

    def describe(self) -> str:
        """One line for people."""
        since = f" changed since {self.since}" if self.since and self.mode != "full" else ""
        refresh = f", {self.refresh:,} refreshed by rotation" if self.refresh else ""
        left = "unknown" if self.quota_left is None else f"{self.quota_left:,}"
        return (
            f"{self.mode} sync of {self.kind}: {self.records:,} records to list{since}"
            f"{refresh}; about {self.requests:,} requests; daily quota left {left}"
        )


@attrs.frozen
class SyncSummary:
    """How a run ended: its plan, its counts, and whether it finished."""

    kind: str
    plan: SyncPlan
    counts: SyncCounts
    finished: bool
    dry_run: bool = False

    def describe(self) -> str:
        """The summary line."""
        c = self.counts
        if self.dry_run:
            return f"dry run: {self.plan.describe()}; nothing was fetched or written"
        end = "done" if self.finished else "stopped (run the same command again to continue)"
        return (
            f"{self.kind} {end}: {c.new:,} new, {c.changed:,} changed, {c.unchanged:,} unchanged, "
            f"{c.deleted:,} deleted; {c.requests:,} requests"
        )


class SyncObserver(Protocol):
    """Receives a run's plan and its counts after every committed page (e.g. a progress bar)."""

    def planned(self, plan: SyncPlan) -> None:
        """The run's plan, before the first page."""

    def advanced(self, counts: SyncCounts, done: int, total: int) -> None:
        """After a page was committed: the counts, and ``done`` of ``total`` steps."""
