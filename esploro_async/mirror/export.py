"""Export a mirror's records: JSON Lines (the stored records byte for byte), CSV or Parquet.

The file is written beside its destination under a temporary name, readable by its owner
only (0600), and renamed into place once complete: a reader sees the old file or the new
one, never half of one. Memory stays flat: records are read a thousand at a time.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import anyio.to_thread

from esploro_async.errors import ConfigurationError
from esploro_async.mirror.columns import COLUMNS, row_of
from esploro_async.mirror.store import KINDS, MirrorStore, record_text

if TYPE_CHECKING:
    import pyarrow

    from esploro_async.pagination import OffsetStream

__all__ = ["ExportFormat", "arrow_schema", "export_records", "rows_to_arrow", "stream_to_arrow"]

ExportFormat = Literal["jsonl", "csv", "parquet"]

_BATCH = 1000


def arrow_schema(kind: str) -> pyarrow.Schema:
    """The Parquet/Arrow schema of a kind: its model's columns, lists as lists of strings."""
    pa = _pyarrow()
    fields = [
        pa.field(c.name, pa.list_(pa.string()) if c.type == "list" else pa.string())
        for c in COLUMNS[kind]
    ]
    return pa.schema(fields)


def rows_to_arrow(kind: str, rows: list[dict[str, Any]]) -> pyarrow.Table:
    """Rows of `row_of` as an Arrow table of `arrow_schema` (an empty list: an empty table)."""
    pa = _pyarrow()
    schema = arrow_schema(kind)
    return pa.Table.from_pylist(rows, schema=schema)


_KIND_OF_LIST_KEY = {"records": "assets", "user": "researchers"}


async def stream_to_arrow(stream: OffsetStream[Any]) -> pyarrow.Table:
    """Every record of ``stream`` as an Arrow table (see ``OffsetStream.to_arrow``).

    Assets, researchers and organizations get their model's columns (`arrow_schema`),
    other records ``id`` and ``record``; ``record`` is always the whole JSON text.
    """
    pa = _pyarrow()
    kind = _KIND_OF_LIST_KEY.get(stream.list_key)
    if kind is None and stream.path.endswith("/organizations/internal"):
        kind = "organizations"
    if kind is not None:
        schema = arrow_schema(kind)
    else:
        schema = pa.schema([pa.field("id", pa.string()), pa.field("record", pa.string())])
    batches = []
    async for page in stream.pages():
        texts = [record_text(r.to_dict()) for r in page.records]
        if kind is not None:
            rows = [row_of(kind, text) for text in texts]
        else:
            pairs = zip(page.records, texts, strict=True)
            rows = [{"id": record.record_id, "record": text} for record, text in pairs]
        batches.append(pa.RecordBatch.from_pylist(rows, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise ConfigurationError(
            "Parquet and Arrow need pyarrow: pip install 'esploro-async[arrow]'"
        ) from None
    return pyarrow


async def _batches(store: MirrorStore, kind: str) -> AsyncIterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    async for item in store.texts(kind):
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


async def export_records(
    store: MirrorStore,
    kind: str,
    fmt: ExportFormat,
    out: str | os.PathLike[str],
    *,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Write every live record of ``kind`` in ``store`` to ``out``; return how many.

    ``jsonl``: one stored record per line, byte for byte. ``csv``: the kind's columns (lists
    as JSON arrays), ``record`` last. ``parquet``: the same columns, typed (needs the
    ``arrow`` extra). ``on_batch`` is called with the count so far.
    """
    if kind not in KINDS:
        raise ConfigurationError(f"cannot export {kind!r}: choose one of {', '.join(KINDS)}")
    if fmt == "parquet":
        _pyarrow()  # fail before anything is written
    target = Path(out)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            writer = _writer(kind, fmt, raw)
            async for batch in _batches(store, kind):
                await anyio.to_thread.run_sync(writer.write, kind, batch)
                count += len(batch)
                if on_batch is not None:
                    on_batch(count)
            await anyio.to_thread.run_sync(writer.close)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return count


class _Writer:
    def write(self, kind: str, batch: list[tuple[str, str]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file."""


class _JsonLines(_Writer):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def write(self, kind: str, batch: list[tuple[str, str]]) -> None:
        self.raw.write("".join(text + "\n" for _, text in batch).encode("utf-8"))


class _Csv(_Writer):
    def __init__(self, kind: str, raw: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
        self.names = [c.name for c in COLUMNS[kind]]
        self.csv = csv.writer(self.text)
        self.csv.writerow(self.names)

    def write(self, kind: str, batch: list[tuple[str, str]]) -> None:
        for _, text in batch:
            row = row_of(kind, text)
            self.csv.writerow([_csv_cell(row[name]) for name in self.names])

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


class _Parquet(_Writer):
    def __init__(self, kind: str, raw: IO[bytes]) -> None:
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(raw, arrow_schema(kind))

    def write(self, kind: str, batch: list[tuple[str, str]]) -> None:
        self.writer.write_table(rows_to_arrow(kind, [row_of(kind, text) for _, text in batch]))

    def close(self) -> None:
        self.writer.close()


def _writer(kind: str, fmt: ExportFormat, raw: IO[bytes]) -> _Writer:
    if fmt == "jsonl":
        return _JsonLines(raw)
    if fmt == "csv":
        return _Csv(kind, raw)
    if fmt == "parquet":
        return _Parquet(kind, raw)
    raise ConfigurationError(f"unknown export format {fmt!r}: jsonl, csv or parquet")
