"""``esploro-async harvest``: one resource to a JSON Lines or CSV file, resumable."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeGuard

import attrs

from esploro_async.cli.files import (
    OutputFormat,
    RecordWriter,
    check_writable,
    count_records,
    last_line_is_a_record,
    read_state,
    write_atomically,
)
from esploro_async.cli.progress import HarvestProgress
from esploro_async.client import EsploroClient
from esploro_async.errors import ConfigurationError
from esploro_async.models import Asset, Organization, Record, Researcher, SetMember
from esploro_async.pagination import AnalyticsStream, Checkpoint, OffsetStream

__all__ = ["TARGETS", "HarvestRequest", "HarvestSummary", "prepare_harvest", "run_harvest"]

_STATE_VERSION = 1


@attrs.frozen
class HarvestRequest:
    """What to harvest and where: the resource, its filters and the output."""

    target: str
    filters: Mapping[str, str]
    out: Path
    format: OutputFormat = "jsonl"
    state: Path | None = None
    resume: bool = False
    overwrite: bool = False
    until_reserve: bool = False
    page_size: int | None = None

    @property
    def to_stdout(self) -> bool:
        """``--out -``: records go to standard output, with no checkpoint."""
        return str(self.out) == "-"

    @property
    def state_path(self) -> Path:
        """The state file: ``--checkpoint``, or ``.<out>.checkpoint`` beside the output."""
        return self.state or self.out.with_name(f".{self.out.name}.checkpoint")


@attrs.frozen
class HarvestSummary:
    """How a harvest ended."""

    records: int
    total: int | None
    finished: bool
    resumed_from: int


OpenStream = Callable[
    [EsploroClient, Mapping[str, str], Checkpoint | None, dict[str, Any]],
    "OffsetStream[Any] | AnalyticsStream",
]


@attrs.frozen
class Target:
    """A harvestable resource: how to open its stream and which CSV columns it has."""

    name: str
    open: OpenStream
    columns: tuple[str, ...]
    row: Callable[[Any], dict[str, Any]]
    required: tuple[str, ...] = ()
    resumable: bool = True


def _with(checkpoint: Checkpoint | None, options: dict[str, Any]) -> Any:
    """Stream options, with ``resume_from`` when there is a checkpoint."""
    if checkpoint is None:
        return options
    return {**options, "resume_from": checkpoint}


def _researchers(
    client: EsploroClient, f: Mapping[str, str], cp: Checkpoint | None, opts: dict[str, Any]
) -> OffsetStream[Researcher]:
    return client.researchers.list(params=dict(f) or None, **_with(cp, opts))


def _assets(
    client: EsploroClient, f: Mapping[str, str], cp: Checkpoint | None, opts: dict[str, Any]
) -> OffsetStream[Asset]:
    rest = {k: v for k, v in f.items() if k not in ("update_date_from", "doi")}
    return client.assets.list(
        update_date_from=f.get("update_date_from"),
        doi=f.get("doi"),
        params=rest or None,
        **_with(cp, opts),
    )


def _organizations(
    client: EsploroClient, f: Mapping[str, str], cp: Checkpoint | None, opts: dict[str, Any]
) -> OffsetStream[Organization]:
    return client.organizations.list(params=dict(f) or None, **_with(cp, opts))


def _set_members(
    client: EsploroClient, f: Mapping[str, str], cp: Checkpoint | None, opts: dict[str, Any]
) -> OffsetStream[SetMember]:
    rest = {k: v for k, v in f.items() if k != "set_id"}
    return client.config.sets.members(f["set_id"]).list(params=rest or None, **_with(cp, opts))


def _analytics(
    client: EsploroClient, f: Mapping[str, str], cp: Checkpoint | None, opts: dict[str, Any]
) -> AnalyticsStream:
    limit = int(f.get("limit", "1000"))
    return client.analytics.report(f["path"], limit=limit, filter=f.get("filter"))


def _researcher_row(r: Researcher) -> dict[str, Any]:
    status = r.status
    return {
        "primary_id": r.primary_id,
        "first_name": r.first_name,
        "last_name": r.last_name,
        "status": status.value if status else None,
        "record": r.to_dict(),
    }


def _asset_row(a: Asset) -> dict[str, Any]:
    kind = a.resource_type
    return {
        "asset_id": a.asset_id,
        "title": a.title,
        "doi": a.doi,
        "resource_type": kind.value if kind else None,
        "date_published": a.date_published,
        "record": a.to_dict(),
    }


def _record_row(r: Record) -> dict[str, Any]:
    return {"id": r.record_id, "record": r.to_dict()}


_RESEARCHER_COLUMNS = ("primary_id", "first_name", "last_name", "status", "record")
_ASSET_COLUMNS = ("asset_id", "title", "doi", "resource_type", "date_published", "record")
_RECORD_COLUMNS = ("id", "record")

TARGETS: dict[str, Target] = {
    "researchers": Target("researchers", _researchers, _RESEARCHER_COLUMNS, _researcher_row),
    "assets": Target("assets", _assets, _ASSET_COLUMNS, _asset_row),
    "organizations": Target("organizations", _organizations, _RECORD_COLUMNS, _record_row),
    "set-members": Target(
        "set-members", _set_members, _RECORD_COLUMNS, _record_row, required=("set_id",)
    ),
    "analytics": Target("analytics", _analytics, (), dict, required=("path",), resumable=False),
}
"""What ``harvest`` can harvest."""


def _state(
    request: HarvestRequest,
    *,
    checkpoint: Checkpoint | None,
    length: int,
    records: int,
    finished: bool,
    columns: Sequence[str],
) -> dict[str, Any]:
    return {
        "version": _STATE_VERSION,
        "target": request.target,
        "filters": dict(sorted(request.filters.items())),
        "out": str(request.out),
        "format": request.format,
        "columns": list(columns),
        "bytes": length,
        "records": records,
        "finished": finished,
        "stream": checkpoint.to_dict() if checkpoint is not None else None,
    }


def _refuse(path: Path, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"cannot resume: the checkpoint {path} {problem}; start again with --overwrite"
    )


def _load_resume_state(request: HarvestRequest) -> dict[str, Any] | None:
    path = request.state_path
    if request.resume and not path.exists():
        if request.out.exists():
            raise ConfigurationError(
                f"cannot resume: {request.out} has no checkpoint ({path}), so where it stopped "
                "is unknown; the file was left as it is. Start again with --overwrite"
            )
        return None
    if not request.resume:
        if request.out.exists() and not request.overwrite:
            raise ConfigurationError(
                f"{request.out} already exists: pass --resume to continue the harvest that "
                "wrote it, or --overwrite to start again"
            )
        return None
    try:
        state = read_state(path)
    except ValueError as exc:
        raise ConfigurationError(f"cannot resume: {exc}; start again with --overwrite") from None
    mine = {
        "target": request.target,
        "filters": dict(sorted(request.filters.items())),
        "out": str(request.out),
        "format": request.format,
    }
    theirs = {key: state.get(key) for key in mine}
    if state.get("version") != _STATE_VERSION or theirs != mine:
        raise ConfigurationError(
            f"cannot resume: {path} belongs to another harvest ({theirs}); use the same "
            "resource, filters, output and format, or --overwrite"
        )
    _check_state(request, path, state)
    return state


def _check_state(request: HarvestRequest, path: Path, state: Mapping[str, Any]) -> None:
    """The checkpoint agrees with itself and with the output, or `ConfigurationError`."""
    records = _check_counts(request, path, state)
    if TARGETS[request.target].resumable and not state["finished"]:
        _check_stream_position(path, state, records)


def _check_counts(request: HarvestRequest, path: Path, state: Mapping[str, Any]) -> int:
    """The checkpoint's byte and record counts match the output; the records counted."""
    length, records = state.get("bytes"), state.get("records")
    if not _count(length) or not _count(records):
        raise _refuse(path, "has no valid 'bytes' and 'records' counts")
    if not isinstance(state.get("finished"), bool) or not _strings(state.get("columns")):
        raise _refuse(path, "is incomplete ('finished' or 'columns' is missing)")
    if not request.out.is_file() or request.out.stat().st_size < length:
        raise ConfigurationError(
            f"cannot resume: {request.out} is shorter than the checkpoint says; start again "
            "with --overwrite"
        )
    found = count_records(request.out, length, request.format)
    if found is None:
        raise _refuse(path, f"says {length} bytes, which is not the end of a record")
    if found != records:
        raise _refuse(path, f"counts {records} records but {found} end at byte {length}")
    _check_end(request, length, finished=state["finished"])
    return records


def _check_stream_position(path: Path, state: Mapping[str, Any], records: int) -> None:
    """An unfinished stream's position is valid and after exactly ``records`` records."""
    stream = state.get("stream")
    if stream is None and records == 0:
        return
    if not isinstance(stream, dict):
        raise _refuse(path, "has no stream position")
    try:
        checkpoint = Checkpoint.from_dict(stream)
    except ValueError as exc:
        raise _refuse(path, f"has an invalid stream position ({exc})") from None
    if checkpoint.delivered != records:
        raise _refuse(
            path, f"has a stream position after {checkpoint.delivered} records, not {records}"
        )


def _check_end(request: HarvestRequest, length: int, *, finished: bool) -> None:
    """The output still ends as the harvest left it: a record last, nothing after a finish."""
    if request.format == "jsonl" and not last_line_is_a_record(request.out, length):
        raise ConfigurationError(
            f"cannot resume: the last record of {request.out} before byte {length} is not a "
            "JSON object (the file was changed after the harvest); start again with --overwrite"
        )
    if finished and request.out.stat().st_size != length:
        extra = request.out.stat().st_size - length
        raise ConfigurationError(
            f"cannot resume: {request.out} is complete at byte {length} but has {extra} more "
            "bytes after it (the file was changed after the harvest); start again with "
            "--overwrite"
        )


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def prepare_harvest(request: HarvestRequest) -> dict[str, Any] | None:
    """Check everything that needs no request; return the state to resume from, if any.

    Raises `ConfigurationError` for a missing filter, an output that cannot be written, or a
    checkpoint that does not match its output. Nothing is sent and no file is touched.
    """
    target = TARGETS[request.target]
    missing = [name for name in target.required if not request.filters.get(name)]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise ConfigurationError(f"harvest {target.name} needs {flags}")
    if target.name == "assets" and not (
        request.filters.get("update_date_from") or request.filters.get("doi")
    ):
        raise ConfigurationError(
            "harvest assets needs --update-date-from YYYY-MM-DD or --doi: the API lists no "
            "asset without a filter (--update-date-from 1900-01-01 lists them all)"
        )
    if request.to_stdout:
        if request.resume or request.state is not None:
            raise ConfigurationError(
                "--out - writes to standard output, which cannot be resumed: give a file to "
                "use --resume or --checkpoint"
            )
        return None
    check_writable(request.out, "--out")
    check_writable(request.state_path, "the checkpoint")
    return _load_resume_state(request)


async def run_harvest(
    client: EsploroClient,
    request: HarvestRequest,
    progress: HarvestProgress,
    *,
    state: dict[str, Any] | None = None,
    prepared: bool = False,
) -> HarvestSummary:
    """Harvest ``request.target`` into ``request.out``; see `esploro_async.cli.files`.

    ``prepared`` says `prepare_harvest` already ran and returned ``state``.
    """
    target = TARGETS[request.target]
    if not prepared:
        state = prepare_harvest(request)
    if state is not None and state.get("finished"):
        progress.note(f"{request.out} is complete ({state['records']} records): nothing to do")
        return HarvestSummary(int(state["records"]), None, True, int(state["records"]))
    state = _state_to_resume(target, request, state, progress)
    checkpoint = (
        Checkpoint.from_dict(state["stream"]) if state is not None and state["stream"] else None
    )
    stream = target.open(client, request.filters, checkpoint, _stream_options(target, request))
    resumed_from = int(state["records"]) if state is not None else 0
    if isinstance(stream, OffsetStream):
        records, total = await _harvest_pages(client, stream, target, request, progress, state)
    else:
        records, total = await _harvest_report(client, stream, request, progress), None
    return HarvestSummary(records, total, True, resumed_from)


def _state_to_resume(
    target: Target,
    request: HarvestRequest,
    state: dict[str, Any] | None,
    progress: HarvestProgress,
) -> dict[str, Any] | None:
    """The unfinished state to continue from, or ``None`` to start again (its checkpoint gone)."""
    if state is not None and not target.resumable:
        progress.note(f"{target.name} cannot resume mid-report: starting the report again")
        state = None
    if state is None:
        _forget_checkpoint(request)
    return state


def _stream_options(target: Target, request: HarvestRequest) -> dict[str, Any]:
    """The stream's keyword arguments: what to do at the reserve, the page size."""
    options: dict[str, Any] = {}
    if target.resumable:
        options["on_insufficient_quota"] = "run" if request.until_reserve else "refuse"
        if request.page_size is not None:
            options["page_size"] = request.page_size
    return options


async def _harvest_pages(
    client: EsploroClient,
    stream: OffsetStream[Any],
    target: Target,
    request: HarvestRequest,
    progress: HarvestProgress,
    state: Mapping[str, Any] | None,
) -> tuple[int, int | None]:
    """A list endpoint, page by page, each page durable before the checkpoint that counts it.

    Returns the records written in all (earlier runs included) and the total listed.
    """
    records = int(state["records"]) if state is not None else 0
    estimate = await stream.check_quota()
    progress.start(target.name, total=estimate.total_records, done=records)
    left = "unknown" if estimate.quota_remaining is None else f"{estimate.quota_remaining:,}"
    progress.note(
        f"{estimate.total_records} {target.name}: {estimate.requests_needed} more requests; "
        f"daily quota left {left}"
    )
    columns = list(state["columns"]) if state is not None else list(target.columns)
    writer = _writer(request, columns, None if state is None else int(state["bytes"]))

    def save(*, finished: bool) -> None:
        if request.to_stdout:
            return
        saved = _state(
            request,
            checkpoint=stream.checkpoint,
            length=writer.length,
            records=records,
            finished=finished,
            columns=columns,
        )
        write_atomically(request.state_path, _json(saved))

    try:
        async for page in stream.pages():
            rows = [_row(target, record, request.format) for record in page.records]
            records += writer.write_page(rows)
            writer.sync()  # the records are durable before the state that counts them
            save(finished=False)
            progress.advance(records, client.governance.snapshot())
        save(finished=True)
    finally:
        writer.close()
    return records, estimate.total_records


async def _harvest_report(
    client: EsploroClient,
    stream: AnalyticsStream,
    request: HarvestRequest,
    progress: HarvestProgress,
) -> int:
    """Analytics: rows in pages of the report, written as they come."""
    progress.start("analytics rows", total=None, done=0)
    writer: RecordWriter | None = None
    batch: list[dict[str, Any]] = []
    records = 0

    def flush() -> None:
        nonlocal writer, records
        if writer is None:
            columns = list((stream.columns or {}).values())
            columns = [c for c in columns if c != "0"]
            writer = _writer(request, columns, None)
        records += writer.write_page(batch)
        writer.sync()
        batch.clear()
        progress.advance(records, client.governance.snapshot())

    try:
        async for row in stream:
            batch.append(row)
            if len(batch) >= stream.limit:
                flush()
        flush()
        assert writer is not None
        if request.to_stdout:
            return records
        write_atomically(
            request.state_path,
            _json(
                _state(
                    request,
                    checkpoint=None,
                    length=writer.length,
                    records=records,
                    finished=True,
                    columns=writer.columns,
                )
            ),
        )
    finally:
        if writer is not None:
            writer.close()
    return records


def _forget_checkpoint(request: HarvestRequest) -> None:
    """A new harvest: no stale checkpoint may describe the new file."""
    if not request.to_stdout:
        with contextlib.suppress(FileNotFoundError):
            request.state_path.unlink()


def _writer(request: HarvestRequest, columns: list[str], resume_at: int | None) -> RecordWriter:
    """The output: standard output for ``--out -``, else the file (cut back to ``resume_at``)."""
    if request.to_stdout:
        return RecordWriter.to_stdout(request.format, columns=columns)
    return RecordWriter(request.out, request.format, columns=columns, resume_at=resume_at)


def _row(target: Target, record: Record, fmt: Literal["jsonl", "csv"]) -> dict[str, Any]:
    return record.to_dict() if fmt == "jsonl" else target.row(record)


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)
