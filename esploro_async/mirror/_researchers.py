"""The researchers run: the API has no change filter, so the brief list is the change signal.

1. **list**: the brief list (total/100 requests); a full record is fetched only for an id the
   store does not hold (or holds as a tombstone) and for a brief that changed. Each page is
   committed with its full records. At the end, ids the listing did not see are tombstoned.
2. **rotate**: full records of the rest, the longest-unrefreshed first, as many as keep every
   record at most ``refresh_days`` old (live / refresh_days a run), a hundred per commit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import attrs

from esploro_async.errors import NotFoundError
from esploro_async.mirror._runs import Run, count_change, list_requests, utc_now
from esploro_async.mirror.progress import SyncCounts, SyncPlan, SyncSummary
from esploro_async.mirror.store import Known, PageWrite, RecordRow, content_hash, record_text
from esploro_async.models import Researcher
from esploro_async.pagination import Checkpoint

__all__ = ["ResearchersRun"]

_ROTATION_BATCH = 100


def _wanted(briefs: Mapping[str, str], known: Mapping[str, Known]) -> list[str]:
    """Ids whose full record to fetch: new, tombstoned, or with a brief that changed."""
    return [
        rid
        for rid, brief in briefs.items()
        if rid not in known or known[rid].deleted or known[rid].brief_hash != brief
    ]


class ResearchersRun(Run):
    """See the module docstring."""

    kind = "researchers"

    async def _fulls(self, ids: Sequence[str]) -> dict[str, Researcher | None]:
        """Full records by id, fetched concurrently (governed); ``None`` for an id now gone."""
        found: dict[str, Researcher | None] = {}
        errors: list[BaseException] = []

        async def one(rid: str, scope: anyio.CancelScope) -> None:
            try:
                found[rid] = await self.client.researchers.get(rid)
            except NotFoundError:
                found[rid] = None
            except Exception as exc:  # the first failure stops the page; it is not committed
                errors.append(exc)
                scope.cancel()

        async with anyio.create_task_group() as group:
            for rid in ids:
                group.start_soon(one, rid, group.cancel_scope)
        if errors:
            raise errors[0]
        return found

    def _rows(
        self,
        fulls: Mapping[str, Researcher | None],
        briefs: Mapping[str, str],
        known: Mapping[str, Known],
        counts: SyncCounts,
        run_id: str | None,
    ) -> tuple[list[RecordRow], list[str]]:
        """Rows for fetched records that are new or changed; ids fetched and unchanged.

        ``run_id``: the listing that read them (a record it read before is not counted
        twice), ``None`` for the rotation.
        """
        rows: list[RecordRow] = []
        same: list[str] = []
        for rid, full in fulls.items():
            if full is None:
                continue
            data = full.to_dict()
            digest = content_hash(data)
            if count_change(known.get(rid), digest, run_id, counts):
                rows.append(RecordRow(rid, record_text(data), digest, briefs.get(rid)))
            else:
                same.append(rid)
        return rows, same

    async def _begin(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], SyncPlan]:
        today, total = await self.probe("/esploro/v1/researchers", {})
        live, _ = await self.store.count(self.kind)
        refresh = math.ceil(live / self.options.refresh_days)
        mode = "incremental" if state.get("last") else "full"
        requests = 1 + list_requests(total) + max(0, total - live) + refresh
        plan = self.plan(mode=mode, since=None, records=total, requests=requests, refresh=refresh)
        return self.new_run(phase="list", until=today, refresh=None, refreshed=0), plan

    async def dry_run(self, *, reconcile: bool) -> SyncSummary:
        """The plan of the next run (one request)."""
        state = await self.store.state(self.kind)
        _, plan = await self._begin(state)
        if state.get("run") is not None:
            plan = attrs.evolve(plan, mode="resume")
        return SyncSummary(self.kind, plan, self.counts_now(SyncCounts()), False, dry_run=True)

    async def run_once(self, *, reconcile: bool) -> SyncSummary:
        """List (every run sees every id, so ``reconcile`` changes nothing), then rotate."""
        state = await self.store.state(self.kind)
        run = state.get("run")
        if run is None:
            run, plan = await self._begin(state)
            self.check_fits(plan)
            await self.store.save_state(self.kind, {**state, "run": run})
        else:
            _, plan = await self._begin(state)
            plan = attrs.evolve(plan, mode="resume")
        self.planned(plan)
        counts = SyncCounts.from_dict(run["counts"])
        if run["phase"] == "list":
            run = await self._list(state, run, counts, plan)
        run = await self._rotate(state, run, counts, plan)
        await self.finish(state, run, counts, listed=False)
        return SyncSummary(self.kind, plan, self.counts_now(counts), True)

    async def _list(
        self, state: Mapping[str, Any], run: dict[str, Any], counts: SyncCounts, plan: SyncPlan
    ) -> dict[str, Any]:
        resume = Checkpoint.from_dict(run["checkpoint"]) if run["checkpoint"] else None
        stream = self.client.researchers.list(**self.stream_options(resume))
        async with stream:
            await stream.check_quota()
            async for page in stream.pages():
                briefs = {
                    r.primary_id: content_hash(r.to_dict())
                    for r in page.records
                    if r.primary_id is not None
                }
                known = await self.store.known(self.kind, list(briefs))
                wanted = _wanted(briefs, known)
                fulls = await self._fulls(wanted)
                rows, same = self._rows(fulls, briefs, known, counts, run["id"])
                unfetched = [rid for rid in briefs if rid not in fulls]
                counts.unchanged += sum(known[rid].listed != run["id"] for rid in unfetched)
                run = {**run, "checkpoint": stream.checkpoint.to_dict(), "counts": counts.to_dict()}
                await self.store.commit(
                    PageWrite(
                        self.kind,
                        rows,
                        [*unfetched, *same],
                        state={**state, "run": run},
                        now=utc_now(),
                        refreshed=same,
                        listed=run["id"],
                    )
                )
                self.advanced(counts, stream.checkpoint.delivered, plan.records + plan.refresh)
        live, _ = await self.store.count(self.kind)
        run = {**run, "phase": "rotate", "refresh": math.ceil(live / self.options.refresh_days)}
        deleted = await self.store.tombstone_unlisted(
            self.kind, run["id"], utc_now(), {**state, "run": run}
        )
        counts.deleted += deleted
        if deleted:
            run = {**run, "counts": counts.to_dict()}
            await self.store.save_state(self.kind, {**state, "run": run})
        return run

    async def _rotate(
        self, state: Mapping[str, Any], run: dict[str, Any], counts: SyncCounts, plan: SyncPlan
    ) -> dict[str, Any]:
        while run["refreshed"] < run["refresh"]:
            limit = min(_ROTATION_BATCH, run["refresh"] - run["refreshed"])
            ids = await self.store.stale(self.kind, run["started"], limit)
            if not ids:
                break
            fulls = await self._fulls(ids)
            known = await self.store.known(self.kind, ids)
            before = counts.unchanged
            rows, same = self._rows(fulls, {}, known, counts, None)
            counts.unchanged = before  # a refresh that finds nothing new is not a record seen
            run = {
                **run,
                "refreshed": run["refreshed"] + len(ids),
                "counts": counts.to_dict(),
            }
            gone = [rid for rid, full in fulls.items() if full is None]
            await self.store.commit(
                PageWrite(
                    self.kind,
                    rows,
                    same,
                    state={**state, "run": run},
                    now=utc_now(),
                    # gone since the listing: tombstoned by the next listing, not fetched again
                    refreshed=[*same, *gone],
                )
            )
            self.advanced(counts, plan.records + run["refreshed"], plan.records + run["refresh"])
        return run
