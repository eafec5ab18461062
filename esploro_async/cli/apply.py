"""``esploro-async apply``: a JSON Lines file of changes, applied concurrently under governance.

Each input line is one change:

```python
{"type": "researcher", "id": "jdoe", "set": {"/researcher/researcher_first_name": "Ann"},
 "remove": ["/researcher/display_title"]}
{"type": "asset", "id": "991234", "action": "add", "fields": {"links": [{"link.url": "…"}]}}
```

Researcher changes are JSON Pointers (RFC 6901) into the full record, applied by
fetch-modify-PUT (the PUT replaces the whole record, so the record is read first); asset
changes are patches (``action`` ``add`` or ``replace``; ``identifier.*`` fields go as XML).

A change cannot hurt the record by mistake: a pointer to a field the record does not have
(a typo, ``/researcher/first_nmae``) is refused for that line (``invalid``) unless new
fields are allowed (``--allow-new-fields``); fields the system maintains
(`SYSTEM_MAINTAINED`) are refused before anything is sent; an ORCID written is checked as
``Researcher.orcid`` and ``add_orcid_token`` check it. A key that may not write stops the
run at the first refusal (`AuthenticationError`, exit 4): the lines not yet sent keep no
result and are sent by ``--resume`` once the key is fixed. A byte-order mark (Excel,
Notepad) is read as such.

Every input line ends in exactly one result line (``{"line": N, "status": …}``), written as
changes complete. A run that stops (Ctrl-C, a crash, the daily quota) resumes with
``--resume``: lines with a result are skipped, except failures marked ``retryable`` (the
change was not applied, or sending it again is harmless), which are sent again;
``--retry-failed`` sends every failed line again. A change that was being sent when the
process died may or may not have been applied; idempotent changes (researcher PUTs, asset
``replace``) are simply sent again, an asset ``add`` is reported as ``unknown`` instead of
risking a second append.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from esploro_async.bulk import BulkResult, bulk
from esploro_async.cli.files import check_writable, open_private, write_atomically
from esploro_async.client import EsploroClient
from esploro_async.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    DailyQuotaExhaustedError,
    EsploroError,
    InvalidIdentifierError,
    RateLimitError,
    RedisUnavailableError,
    ServerError,
)
from esploro_async.models import Researcher
from esploro_async.models._orcid import check_orcid

__all__ = [
    "SYSTEM_MAINTAINED",
    "ApplyPlan",
    "Change",
    "ChangeError",
    "apply_changes",
    "parse_change",
    "prepare_apply",
    "read_done",
    "result_kind",
]

_NOT_SENT = (
    ConnectionFailedError,
    RateLimitError,
    DailyQuotaExhaustedError,
    RedisUnavailableError,
    AuthenticationError,
)
"""Failures that say the change was not applied: sending it again is always safe."""

SYSTEM_MAINTAINED: Mapping[str, str] = {
    "/researcher/profile_image_url": (
        "Esploro sets it when the researcher uploads a photo; a photo URL goes in "
        "/researcher/photo_url (rest_researcher.xsd: 'Optional in User API and in SIS load')"
    ),
    "/full_name": "Alma composes it from first_name, middle_name and last_name",
    "/created_by": "Alma records who created the user",
    "/created_date": "Alma records when the user was created",
    "/last_modified_by": "Alma records who changed the user last",
    "/last_modified_date": "Alma records when the user was changed last",
}
"""Researcher fields the system maintains: a change that writes or removes them is refused
(``invalid``) before anything is sent."""
_MAYBE_SENT = (APIConnectionError, ServerError)
"""Failures after which the change may have been applied: only idempotent ones are resent."""


class ChangeError(ValueError):
    """An input line that is not a valid change."""


@attrs.frozen
class Change:
    """One parsed input line."""

    line: int
    type: str
    id: str
    set: Mapping[str, Any] = attrs.Factory(dict)
    remove: tuple[str, ...] = ()
    action: str = "add"
    fields: Mapping[str, Any] = attrs.Factory(dict)

    @property
    def idempotent(self) -> bool:
        """Whether sending it twice leaves the same result as once."""
        return self.type == "researcher" or self.action == "replace"


def parse_change(line_no: int, text: str) -> Change:
    """Parse and check one input line; `ChangeError` says what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ChangeError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ChangeError("a change must be a JSON object")
    kind, ident = data.get("type"), data.get("id")
    if not isinstance(ident, str) or not ident:
        raise ChangeError('"id" must be a non-empty string')
    if kind == "researcher":
        return _researcher_change(line_no, ident, data)
    if kind == "asset":
        action, fields = data.get("action", "add"), data.get("fields")
        if action not in ("add", "replace"):
            raise ChangeError('"action" must be "add" or "replace"')
        if not isinstance(fields, dict) or not fields:
            raise ChangeError('an asset change needs a non-empty "fields" object')
        return Change(line_no, "asset", ident, action=action, fields=fields)
    raise ChangeError('"type" must be "researcher" or "asset"')


def _researcher_change(line_no: int, ident: str, data: Mapping[str, Any]) -> Change:
    sets, removes = data.get("set", {}), data.get("remove", [])
    if not isinstance(sets, dict) or not isinstance(removes, list):
        raise ChangeError('"set" must be an object and "remove" a list of JSON Pointers')
    if not sets and not removes:
        raise ChangeError('a researcher change needs "set" or "remove"')
    for pointer in [*sets, *removes]:
        _tokens(pointer)
        _check_writable(pointer)
    return Change(line_no, "researcher", ident, set=sets, remove=tuple(removes))


def _check_writable(pointer: str) -> None:
    for field, why in SYSTEM_MAINTAINED.items():
        if pointer == field or pointer.startswith(field + "/"):
            raise ChangeError(f"{pointer} is not writable through the API: {why}")


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise ChangeError(f"not a JSON Pointer: {pointer!r} (e.g. /researcher/display_title)")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _walk(doc: Any, tokens: list[str], create: bool) -> tuple[Any, str]:
    for token in tokens[:-1]:
        if isinstance(doc, list):
            doc = doc[int(token)]
        elif isinstance(doc, dict):
            if token not in doc:
                if not create:
                    raise KeyError(token)
                doc[token] = {}
            doc = doc[token]
        else:
            raise ChangeError(f"cannot go into a {type(doc).__name__} at {token!r}")
    return doc, tokens[-1]


def _existing_parent(record: dict[str, Any], pointer: str) -> tuple[Any, str]:
    """The parent of ``pointer``'s target, which must exist (or be a list's ``-``)."""
    tokens = _tokens(pointer)
    try:
        parent, last = _walk(record, tokens, create=False)
        if isinstance(parent, list):
            if last != "-":
                parent[int(last)]
            return parent, last
        if not isinstance(parent, dict) or last not in parent:
            raise KeyError(last)
    except (KeyError, IndexError, ValueError) as missing:
        raise ChangeError(
            f"{pointer}: the record has no such field ({missing} is not there); check the "
            "spelling, or allow new fields (--allow-new-fields) if it is meant to be added"
        ) from None
    return parent, last


def apply_pointers(
    record: dict[str, Any], change: Change, *, allow_new_fields: bool = False
) -> dict[str, tuple[Any, Any]]:
    """Apply ``change`` to ``record`` in place; return what changed, ``{pointer: (old, new)}``.

    A ``set`` pointer to a field the record does not have raises `ChangeError` (nothing is
    changed) unless ``allow_new_fields``; an ORCID that it writes must pass
    ``check_orcid``. ``remove`` of a field that is not there changes nothing.
    """
    if not allow_new_fields:
        for pointer in change.set:
            _existing_parent(record, pointer)
    before_orcids = _orcids(record)
    changed: dict[str, tuple[Any, Any]] = {}
    for pointer, value in change.set.items():
        parent, last = _walk(record, _tokens(pointer), create=True)
        if isinstance(parent, list):
            if last == "-":
                parent.append(value)
                changed[pointer] = (None, value)
                continue
            before = parent[int(last)]
            parent[int(last)] = value
        else:
            before = parent.get(last)
            parent[last] = value
        if before != value:
            changed[pointer] = (before, value)
    for pointer in change.remove:
        try:
            parent, last = _walk(record, _tokens(pointer), create=False)
            before = parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
        except (KeyError, IndexError):
            continue
        changed[pointer] = (before, None)
    for orcid in _orcids(record) - before_orcids:
        try:
            check_orcid(orcid)
        except InvalidIdentifierError as exc:
            raise ChangeError(str(exc)) from None
    return changed


def _orcids(record: Mapping[str, Any]) -> set[str]:
    """Every ORCID value of the record, as written (``Researcher.identifiers``)."""
    found = Researcher.from_dict(record).identifiers
    return {str(value) for kind, value in found if (kind or "").upper() == "ORCID" and value}


def read_done(results: Path) -> set[int]:
    """Input lines that already have a result (a cut-off last line is ignored)."""
    return set(_read_results(results))


def _read_results(path: Path) -> dict[int, dict[str, Any]]:
    """The result of each line in ``path`` (unreadable lines, e.g. a cut-off one, ignored)."""
    found: dict[int, dict[str, Any]] = {}
    if not path.is_file():
        return found
    with open(path, encoding="utf-8", errors="replace") as handle:
        for text in handle:
            try:
                result = json.loads(text)
                found[int(result["line"])] = result
            except (ValueError, KeyError, TypeError):
                continue
    return found


def result_kind(result: Mapping[str, Any]) -> str:
    """A result's status, with ``retryable`` for a failure that may safely be sent again."""
    status = str(result.get("status"))
    if status == "error" and (result.get("error") or {}).get("retryable") is True:
        return "retryable"
    return status


def _retryable(change: Change, error: BaseException) -> bool:
    if isinstance(error, _NOT_SENT):
        return True
    return change.idempotent and isinstance(error, _MAYBE_SENT)


def _error(exc: BaseException, change: Change | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIError):
        info.update(
            status_code=exc.status_code, error_code=exc.error_code, tracking_id=exc.tracking_id
        )
    if change is not None:
        info["retryable"] = _retryable(change, exc)
    return info


class _Appender:
    """Appends whole lines with one write each, so a file never ends mid-line.

    The file is private (``0600``) and never opened through a symbolic link; without a path
    the lines go to standard output.
    """

    def __init__(self, path: Path | None) -> None:
        self._fd: int | None = None
        if path is not None:
            self._fd = open_private(path, append=True)
            _cut_partial_line(self._fd)

    def write(self, data: Mapping[str, Any]) -> None:
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        if self._fd is None:
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


def _cut_partial_line(fd: int) -> None:
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    data = os.pread(fd, size, 0)
    os.ftruncate(fd, data.rfind(b"\n") + 1)


@attrs.frozen
class ApplyPlan:
    """What `prepare_apply` found: where results go, and which lines to skip or flag.

    Attributes:
        results: the results file (None: standard output, for a dry run).
        dry_run: send no write.
        skip: lines that already have a final result.
        retry: lines whose failed result is dropped and sent again.
        in_flight: lines that were being sent when an earlier run stopped.
        earlier: how many skipped lines ended in each status (see `result_kind`).
    """

    results: Path | None
    dry_run: bool = False
    skip: frozenset[int] = frozenset()
    retry: frozenset[int] = frozenset()
    in_flight: frozenset[int] = frozenset()
    earlier: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def journal(self) -> Path | None:
        """The journal of changes sent (none for a dry run)."""
        if self.dry_run or self.results is None:
            return None
        return self.results.with_name(f".{self.results.name}.journal")


def _check_utf8(path: Path) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise ConfigurationError(
                    f"{path} is not UTF-8 text (byte {offset + exc.start}): save it as UTF-8"
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ConfigurationError(f"{path} is not UTF-8 text (it ends mid-character)") from None


def _results_path(changes: Path, results: Path | None, dry_run: bool) -> Path | None:
    if results is not None and str(results) == "-":
        if not dry_run:
            raise ConfigurationError(
                "--results -: the results of a run that writes go to a file, so that --resume "
                "can continue it; give a file name"
            )
        return None
    if results is None:
        return None if dry_run else changes.with_name(changes.name + ".results.jsonl")
    if results.resolve() == changes.resolve():
        raise ConfigurationError(f"--results {results} is the CHANGES file itself")
    return results


def prepare_apply(
    changes: Path,
    results: Path | None,
    *,
    dry_run: bool = False,
    resume: bool = False,
    retry_failed: bool = False,
) -> ApplyPlan:
    """Check the input and output files before anything is sent; touch nothing.

    Raises `ConfigurationError` for a CHANGES file that is not UTF-8, a results file that
    cannot be written, or one that already holds results without ``resume``.
    """
    _check_utf8(changes)
    path = _results_path(changes, results, dry_run)
    if path is None:
        return ApplyPlan(None, dry_run=True)
    check_writable(path, "--results")
    plan = ApplyPlan(path, dry_run=dry_run)
    if plan.journal is not None:
        check_writable(plan.journal, "the journal")
    if not resume:
        if not dry_run and path.is_file() and path.stat().st_size > 0:
            raise ConfigurationError(
                f"{path} already holds results: pass --resume to continue that run, or "
                "choose another --results file"
            )
        return plan
    return _resumed(plan, path, retry_failed=retry_failed)


def _resumed(plan: ApplyPlan, path: Path, *, retry_failed: bool) -> ApplyPlan:
    """``plan`` continuing the run whose results are in ``path``: what to skip, retry, check."""
    done = _read_results(path)
    retry = {line for line, result in done.items() if _worth_sending_again(result, retry_failed)}
    started = set(_read_results(plan.journal)) if plan.journal is not None else set()
    earlier: dict[str, int] = {}
    for line in set(done) - retry:
        kind = result_kind(done[line])
        earlier[kind] = earlier.get(kind, 0) + 1
    return attrs.evolve(
        plan,
        earlier=earlier,
        skip=frozenset(set(done) - retry),
        retry=frozenset(retry),
        in_flight=frozenset(started - set(done)),
    )


def _worth_sending_again(result: Mapping[str, Any], retry_failed: bool) -> bool:
    """A failed line: every one with ``--retry-failed``, else those marked retryable."""
    if result.get("status") != "error":
        return False
    return retry_failed or (result.get("error") or {}).get("retryable") is True


def _drop_results(path: Path, lines: frozenset[int]) -> None:
    """Rewrite ``path`` without the results of ``lines`` (and any cut-off line), atomically."""
    kept = [
        json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n"
        for line, result in sorted(_read_results(path).items())
        if line not in lines
    ]
    write_atomically(path, "".join(kept))


@attrs.frozen
class _Outcome:
    change: Change
    result: dict[str, Any]


def _read_input(path: Path, skip: set[int]) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8-sig") as handle:  # a byte-order mark is not data
        for line_no, text in enumerate(handle, start=1):
            if line_no in skip or not text.strip():
                continue
            yield line_no, text


async def apply_changes(
    client: EsploroClient,
    source: Path,
    results: Path | None = None,
    *,
    dry_run: bool = False,
    resume: bool = False,
    retry_failed: bool = False,
    concurrency: int = 8,
    plan: ApplyPlan | None = None,
    allow_new_fields: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    """Apply every change of ``source``; yield each result line as it is written.

    ``plan`` is what `prepare_apply` returned (it is called with the other arguments if not
    given). ``allow_new_fields`` lets researcher changes add fields the record lacks.

    Raises:
        AuthenticationError: the key may not do this (read-only key, wrong area): raised at
            the first refusal, after the results of the changes already in flight.
    """
    if plan is None:
        plan = prepare_apply(
            source, results, dry_run=dry_run, resume=resume, retry_failed=retry_failed
        )
    if plan.retry and plan.results is not None:
        _drop_results(plan.results, plan.retry)
    out = _Appender(plan.results)
    journal = None if plan.journal is None else _Appender(plan.journal)
    try:
        invalid, changes = _parse_all(source, plan)
        for result in invalid:
            out.write(result)
            yield result

        async def run(change: Change) -> dict[str, Any]:
            if journal is not None:
                journal.write({"line": change.line})
            return await _apply_one(
                client, change, dry_run=plan.dry_run, allow_new_fields=allow_new_fields
            )

        async for outcome in bulk(changes, run, concurrency=concurrency):
            result = _result_line(outcome)
            out.write(result)
            yield result
    finally:
        out.close()
        if journal is not None:
            journal.close()


def _result_line(outcome: BulkResult[Change, dict[str, Any]]) -> dict[str, Any]:
    """The result line of one change."""
    change = outcome.item
    base = {"line": change.line, "type": change.type, "id": change.id}
    if outcome.ok and outcome.value is not None:
        return {**base, **outcome.value}
    if isinstance(outcome.error, ChangeError):
        return {**base, "status": "invalid", "error": str(outcome.error)}
    error = outcome.error or RuntimeError("no result")
    info = _error(error, change)
    if not isinstance(error, EsploroError):
        info["type"] = f"unexpected {type(error).__name__}"
    return {**base, "status": "error", "error": info}


def _parse_all(source: Path, plan: ApplyPlan) -> tuple[list[dict[str, Any]], list[Change]]:
    """The results of lines that cannot be sent, and the changes to send."""
    invalid: list[dict[str, Any]] = []
    changes: list[Change] = []
    for line_no, text in _read_input(source, set(plan.skip)):
        try:
            change = parse_change(line_no, text)
        except ChangeError as exc:
            invalid.append({"line": line_no, "status": "invalid", "error": str(exc)})
            continue
        if line_no in plan.in_flight and not change.idempotent:
            invalid.append(
                {
                    "line": line_no,
                    "type": change.type,
                    "id": change.id,
                    "status": "unknown",
                    "error": "the process stopped while this change was being sent; it "
                    "may or may not have been applied: check the record, then re-run it "
                    "from a new file if needed",
                }
            )
            continue
        changes.append(change)
    return invalid, changes


async def _apply_one(
    client: EsploroClient, change: Change, *, dry_run: bool, allow_new_fields: bool
) -> dict[str, Any]:
    if change.type == "asset":
        if dry_run:
            return {
                "status": "dry-run",
                "would_send": {"action": change.action, "fields": change.fields},
            }
        await client.assets.patch(change.id, dict(change.fields), action=change.action)  # type: ignore[arg-type]
        return {"status": "ok", "action": change.action, "fields": sorted(change.fields)}
    if dry_run:
        record = (await client.researchers.get(change.id)).to_dict()
        diff = apply_pointers(record, change, allow_new_fields=allow_new_fields)
        would = {p: {"from": before, "to": after} for p, (before, after) in diff.items()}
        return {"status": "dry-run" if would else "unchanged", "would_change": would}
    changed: dict[str, tuple[Any, Any]] = {}
    async with client.researchers.edit(change.id) as researcher:
        record = researcher.to_dict()
        changed = apply_pointers(record, change, allow_new_fields=allow_new_fields)
        for key in list(researcher.keys()):
            if key not in record:
                del researcher[key]
        for key, value in record.items():
            if researcher.get(key) != value:
                researcher[key] = value
    return {"status": "ok" if changed else "unchanged", "changed": sorted(changed)}
