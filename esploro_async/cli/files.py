"""Crash-safe, private files: record output that only ever ends on a whole record, atomic state.

Records are written a page at a time with one ``os.write`` per page, so the file ends at a
record boundary whatever happens to the process. The harvest state (stream checkpoint plus
the output's length at that checkpoint) is replaced atomically after each page. On resume
the output is cut back to the recorded length, which drops anything written after the last
saved state, and the stream continues from its checkpoint: no record is lost or repeated.

Every file written here may hold personal data: it is created ``0600``, temporary files are
created exclusively (``mkstemp``), and no path is opened through a symbolic link
(``O_NOFOLLOW``), so a link planted at an output or temporary path cannot redirect a write.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from esploro_async.errors import ConfigurationError

__all__ = [
    "PRIVATE",
    "OutputFormat",
    "RecordWriter",
    "check_writable",
    "count_records",
    "last_line_is_a_record",
    "open_private",
    "read_state",
    "write_atomically",
]

OutputFormat = Literal["jsonl", "csv"]

PRIVATE = 0o600
"""The mode of every file the command line creates: readable by its owner only."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def check_writable(path: Path, what: str) -> None:
    """Refuse (`ConfigurationError`) a ``path`` that cannot be created or written safely."""
    folder = path.parent
    if not folder.is_dir():
        raise ConfigurationError(f"{what} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigurationError(f"{what} {path}: the folder {folder} is not writable")
    if path.is_symlink():
        raise ConfigurationError(f"{what} {path} is a symbolic link: give the real path")
    if path.exists() and not path.is_file():
        raise ConfigurationError(f"{what} {path} is not a regular file")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigurationError(f"{what} {path} is not writable")


def open_private(path: Path, *, new: bool = False, append: bool = False) -> int:
    """Open ``path`` to write (and read back), never through a symbolic link, and make it ``0600``.

    ``new`` creates the file exclusively (it must not exist); otherwise it is created if
    missing and opened as it is (``append``: every write goes to the end).
    """
    flags = os.O_RDWR | _NOFOLLOW | os.O_CREAT
    if new:
        flags |= os.O_EXCL
    if append:
        flags |= os.O_APPEND
    try:
        fd = os.open(path, flags, PRIVATE)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigurationError(f"{path} is not a regular file")
    os.fchmod(fd, PRIVATE)
    return fd


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half.

    The temporary file is created exclusively beside ``path`` with mode ``0600``; the rename
    replaces a symbolic link at ``path`` rather than writing where it points.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_state(path: Path) -> dict[str, Any]:
    """Read a state file written by `write_atomically`; `ValueError` if it is not one."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ValueError(f"cannot read {path}: {reason}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a state file")
    return data


class RecordWriter:
    """Appends records to a JSON Lines or CSV file, one whole page per write.

    Args:
        path: the output file (created ``0600``; a new one replaces what was there).
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
        self._owned = True
        if resume_at is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # removes a link itself, never its target
            self._fd = open_private(path, new=True)
            self.length = 0
            if format == "csv":
                self._write(self._csv_rows([{column: column for column in self.columns}]))
        else:
            self._fd = open_private(path)
            os.ftruncate(self._fd, resume_at)
            os.lseek(self._fd, resume_at, os.SEEK_SET)
            self.length = resume_at

    @classmethod
    def to_stdout(cls, format: OutputFormat, *, columns: Sequence[str] = ()) -> RecordWriter:
        """A writer to standard output (``--out -``): no file, nothing to resume."""
        writer = cls.__new__(cls)
        writer.path = Path("-")
        writer.format = format
        writer.columns = list(columns)
        writer._fd = 1
        writer._owned = False
        writer.length = 0
        if format == "csv":
            writer._write(writer._csv_rows([{column: column for column in writer.columns}]))
        return writer

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
        if self._owned:
            os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (standard output stays open)."""
        if self._owned:
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


def count_records(path: Path, length: int, format: OutputFormat) -> int | None:
    """Records in the first ``length`` bytes of ``path``; None if they do not end a record."""
    with open(path, "rb") as handle:
        if length > 0:
            handle.seek(length - 1)
            if handle.read(1) != b"\n":
                return None
        handle.seek(0)
        if format == "jsonl":
            lines, left = 0, length
            while left > 0:
                chunk = handle.read(min(left, 1 << 20))
                if not chunk:
                    return None
                lines += chunk.count(b"\n")
                left -= len(chunk)
            return lines
        text = io.TextIOWrapper(io.BytesIO(handle.read(length)), encoding="utf-8", newline="")
        try:
            rows = sum(1 for _ in csv.reader(text))
        except (csv.Error, UnicodeDecodeError):
            return None
        return max(0, rows - 1)  # the header


def last_line_is_a_record(path: Path, length: int) -> bool:
    """Whether the last line of the first ``length`` bytes of a JSON Lines file is a record.

    `count_records` checks only that the bytes end a line; a line cut or overwritten in
    place (an editor, a copy that stopped) still ends in a newline but is no record.
    """
    if length == 0:
        return True
    with open(path, "rb") as handle:
        end, tail = length - 1, b""  # the newline that ends the last record
        while end > 0:
            start = max(0, end - (1 << 16))
            handle.seek(start)
            tail = handle.read(end - start) + tail
            end = start
            if b"\n" in tail:
                break
        line = tail.rsplit(b"\n", 1)[-1]
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except ValueError:
        return False


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
