"""``esploro-async apply``: a JSON Lines file of changes, applied concurrently under governance.

Each input line is one change::

    {"type": "researcher", "id": "jdoe", "set": {"/researcher/researcher_first_name": "Ann"},
     "remove": ["/researcher/display_title"]}
    {"type": "asset", "id": "991234", "action": "add", "fields": {"links": [{"link.url": "…"}]}}

Researcher changes are JSON Pointers (RFC 6901) into the full record, applied by
fetch-modify-PUT (the PUT replaces the whole record, so the record is read first); asset
changes are patches (``action`` ``add`` or ``replace``; ``identifier.*`` fields go as XML).

Every input line ends in exactly one result line (``{"line": N, "status": …}``), written as
changes complete. A run that stops (Ctrl-C, a crash, the daily quota) resumes with
``--resume``: lines with a result are skipped. A change that was being sent when the
process died may or may not have been applied; idempotent changes (researcher PUTs, asset
``replace``) are simply sent again, an asset ``add`` is reported as ``unknown`` instead of
risking a second append.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from esploro_async.bulk import bulk
from esploro_async.client import EsploroClient
from esploro_async.errors import APIError, ConfigurationError, EsploroError

__all__ = ["Change", "ChangeError", "apply_changes", "parse_change", "read_done"]


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
        sets, removes = data.get("set", {}), data.get("remove", [])
        if not isinstance(sets, dict) or not isinstance(removes, list):
            raise ChangeError('"set" must be an object and "remove" a list of JSON Pointers')
        if not sets and not removes:
            raise ChangeError('a researcher change needs "set" or "remove"')
        for pointer in [*sets, *removes]:
            _tokens(pointer)
        return Change(line_no, "researcher", ident, set=sets, remove=tuple(removes))
    if kind == "asset":
        action, fields = data.get("action", "add"), data.get("fields")
        if action not in ("add", "replace"):
            raise ChangeError('"action" must be "add" or "replace"')
        if not isinstance(fields, dict) or not fields:
            raise ChangeError('an asset change needs a non-empty "fields" object')
        return Change(line_no, "asset", ident, action=action, fields=fields)
    raise ChangeError('"type" must be "researcher" or "asset"')


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


def apply_pointers(record: dict[str, Any], change: Change) -> dict[str, tuple[Any, Any]]:
    """Apply ``change`` to ``record`` in place; return what changed, ``{pointer: (old, new)}``."""
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
    return changed


def read_done(results: Path) -> set[int]:
    """Input lines that already have a result (a cut-off last line is ignored)."""
    done: set[int] = set()
    if not results.exists():
        return done
    with open(results, encoding="utf-8") as handle:
        for text in handle:
            try:
                done.add(int(json.loads(text)["line"]))
            except (ValueError, KeyError, TypeError):
                continue
    return done


def _error(exc: BaseException) -> dict[str, Any]:
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIError):
        info.update(
            status_code=exc.status_code, error_code=exc.error_code, tracking_id=exc.tracking_id
        )
    return info


class _Appender:
    """Appends whole lines with one write each, so a file never ends mid-line."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _cut_partial_line(path, self._fd)

    def write(self, data: Mapping[str, Any]) -> None:
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        os.close(self._fd)


def _cut_partial_line(path: Path, fd: int) -> None:
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.endswith(b"\n"):
        os.ftruncate(fd, data.rfind(b"\n") + 1)


@attrs.frozen
class _Outcome:
    change: Change
    result: dict[str, Any]


def _has_content(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _read_input(path: Path, skip: set[int]) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as handle:
        for line_no, text in enumerate(handle, start=1):
            if line_no in skip or not text.strip():
                continue
            yield line_no, text


async def apply_changes(
    client: EsploroClient,
    source: Path,
    results: Path,
    *,
    dry_run: bool = False,
    resume: bool = False,
    concurrency: int = 8,
) -> AsyncIterator[dict[str, Any]]:
    """Apply every change of ``source``; yield each result line as it is written."""
    if not resume and not dry_run and _has_content(results):
        raise ConfigurationError(
            f"{results} already holds results: pass --resume to continue that run, or choose "
            "another --results file"
        )
    done = read_done(results) if resume else set()
    journal_path = results.with_name(f".{results.name}.journal")
    started = read_done(journal_path) if resume else set()
    out = _Appender(results)
    journal = None if dry_run else _Appender(journal_path)
    try:
        invalid: list[dict[str, Any]] = []
        changes: list[Change] = []
        for line_no, text in _read_input(source, done):
            try:
                change = parse_change(line_no, text)
            except ChangeError as exc:
                invalid.append({"line": line_no, "status": "invalid", "error": str(exc)})
                continue
            if line_no in started and not change.idempotent:
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
        for result in invalid:
            out.write(result)
            yield result

        async def run(change: Change) -> dict[str, Any]:
            if journal is not None:
                journal.write({"line": change.line})
            return await _apply_one(client, change, dry_run=dry_run)

        async for outcome in bulk(changes, run, concurrency=concurrency):
            change = outcome.item
            base = {"line": change.line, "type": change.type, "id": change.id}
            if outcome.ok and outcome.value is not None:
                result = {**base, **outcome.value}
            else:
                error = outcome.error or RuntimeError("no result")
                result = {**base, "status": "error", "error": _error(error)}
                if not isinstance(error, (EsploroError, ChangeError)):
                    result["error"]["type"] = f"unexpected {type(error).__name__}"
            out.write(result)
            yield result
    finally:
        out.close()
        if journal is not None:
            journal.close()


async def _apply_one(client: EsploroClient, change: Change, *, dry_run: bool) -> dict[str, Any]:
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
        diff = apply_pointers(record, change)
        would = {p: {"from": before, "to": after} for p, (before, after) in diff.items()}
        return {"status": "dry-run" if would else "unchanged", "would_change": would}
    changed: dict[str, tuple[Any, Any]] = {}
    async with client.researchers.edit(change.id) as researcher:
        record = researcher.to_dict()
        changed = apply_pointers(record, change)
        for key in list(researcher.keys()):
            if key not in record:
                del researcher[key]
        for key, value in record.items():
            if researcher.get(key) != value:
                researcher[key] = value
    return {"status": "ok" if changed else "unchanged", "changed": sorted(changed)}
