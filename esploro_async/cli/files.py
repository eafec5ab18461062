"""Crash-safe files: record output that only ever ends on a whole record, atomic state files.

Records are written a page at a time with one ``os.write`` per page, so the file ends at a
record boundary whatever happens to the process. The harvest state (stream checkpoint plus
the output's length at that checkpoint) is replaced atomically after each page. On resume
the output is cut back to the recorded length, which drops anything written after the last
saved state, and the stream continues from its checkpoint: no record is lost or repeated.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

__all__ = ["OutputFormat", "RecordWriter", "read_state", "write_atomically"]

OutputFormat = Literal["jsonl", "csv"]


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_state(path: Path) -> dict[str, Any]:
    """Read a state file written by `write_atomically`; `ValueError` if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a state file")
    return data


class RecordWriter:
    """Appends records to a JSON Lines or CSV file, one whole page per write.

    Args:
        path: the output file.
        format: ``jsonl`` (one JSON object per line, exactly as received) or ``csv``.
        columns: CSV columns (values looked up by key; nested values as JSON).
        resume_at: the file length to cut back to and continue from (None: a new file).
    """

    def __init__(
        self,
        path: Path,
        format: OutputFormat,
        *,
        columns: Sequence[str] = (),
        resume_at: int | None = None,
    ) -> None:
        self.path = path
        self.format = format
        self.columns = list(columns)
        if resume_at is None:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            self.length = 0
            if format == "csv":
                self._write(self._csv_rows([{column: column for column in self.columns}]))
        else:
            self._fd = os.open(path, os.O_WRONLY)
            os.ftruncate(self._fd, resume_at)
            os.lseek(self._fd, resume_at, os.SEEK_SET)
            self.length = resume_at

    def write_page(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write the records in one system call; return how many were written."""
        rows = list(records)
        if not rows:
            return 0
        if self.format == "jsonl":
            data = "".join(
                json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
            )
        else:
            data = self._csv_rows(rows)
        self._write(data)
        return len(rows)

    def sync(self) -> None:
        """Make what was written durable before the state that refers to it is saved."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.length += len(data)

    def _csv_rows(self, rows: Iterable[Mapping[str, Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in self.columns])
        return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
