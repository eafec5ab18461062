"""``esploro-async sync`` and ``export`` as a user runs them: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from esploro_async.cli.app import cli
from esploro_async.mirror import SQLiteStore
from esploro_async.mirror.columns import COLUMNS

SIM = ["--sim-assets", "700", "--sim-researchers", "30", "--sim-latency", "0"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*SIM, *args])
    return result.exit_code, result.output


def test_sync_shows_the_estimate_then_a_summary_and_a_dry_run_writes_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.sqlite"
    code, out = run("sync", "assets", "--simulate", "--db", str(db), "--dry-run")
    assert code == 0, out
    assert "full sync of assets: 700 records to list; about 9 requests" in out
    assert not db.exists()
    code, out = run("sync", "assets", "--simulate", "--db", str(db))
    assert code == 0, out
    assert "full sync of assets: 700 records to list" in out
    assert "done: assets done: 700 new, 0 changed, 0 unchanged, 0 deleted" in out
    code, out = run("sync", "assets", "--simulate", "--db", str(db))
    assert "incremental sync of assets: 0 records to list" in out


def test_a_quota_stop_exits_3_and_says_what_to_do(tmp_path: Path) -> None:
    db = str(tmp_path / "mirror.sqlite")
    code, out = run("--sim-daily-quota", "5", "sync", "assets", "--simulate", "--db", db)
    assert code == 3, out
    assert "needs about 9 requests" in out
    assert "--until-reserve" in out
    code, out = run(
        "--sim-daily-quota", "5", "sync", "assets", "--simulate", "--db", db, "--until-reserve"
    )
    assert code == 3, out
    assert "run the same sync then, it continues exactly where it stopped" in out


async def test_a_second_sync_of_one_store_exits_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "mirror.sqlite"
    args = ("sync", "assets", "--simulate", "--db", str(db))
    assert (await anyio.to_thread.run_sync(run, *args))[0] == 0
    holder = SQLiteStore(db)
    await holder.open("simulated institution (seed 0)")
    try:
        code, out = await anyio.to_thread.run_sync(run, *args)
    finally:
        await holder.close()
    assert code == 2, out
    assert "another sync is running on" in out


@pytest.fixture
def synced_db(tmp_path: Path) -> str:
    """A mirror of the 700 simulated assets, synced by the CLI."""
    db = str(tmp_path / "mirror.sqlite")
    assert run("sync", "assets", "--simulate", "--db", db)[0] == 0
    return db


def export(db: str, kind: str, fmt: str, out: Path) -> Path:
    """``esploro-async export`` of ``kind`` as ``fmt`` to ``out``, which must succeed."""
    code, text = run("export", "--db", db, "--type", kind, "--format", fmt, "--out", str(out))
    assert code == 0, text
    return out


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_writes_a_private_file(synced_db: str, tmp_path: Path, fmt: str) -> None:
    out = export(synced_db, "assets", fmt, tmp_path / f"a.{fmt}")
    assert out.stat().st_mode & 0o777 == 0o600


def test_export_jsonl_and_csv_with_the_models_columns(synced_db: str, tmp_path: Path) -> None:
    jsonl = export(synced_db, "assets", "jsonl", tmp_path / "a.jsonl")
    csv = export(synced_db, "assets", "csv", tmp_path / "a.csv")
    records = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines()]
    assert len(records) == 700
    assert csv.read_text("utf-8").splitlines()[0] == ",".join(c.name for c in COLUMNS["assets"])


def test_export_parquet_rows_hold_the_records_and_lists_stay_lists(
    synced_db: str, tmp_path: Path
) -> None:
    jsonl = export(synced_db, "assets", "jsonl", tmp_path / "a.jsonl")
    table = pq.read_table(export(synced_db, "assets", "parquet", tmp_path / "a.parquet"))
    assert table.num_rows == 700
    assert str(table.schema.field("keywords").type) == "list<element: string>"
    records = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines()]
    by_id = {r["originalRepository"]["assetId"]: r for r in records}
    for row in table.to_pylist()[:50]:
        assert json.loads(row["record"]) == by_id[row["originalRepository.assetId"]]
        assert row["identifier.doi"] == by_id[row["originalRepository.assetId"]]["identifier.doi"]


def test_export_of_an_empty_kind_has_every_column_of_its_model(
    synced_db: str, tmp_path: Path
) -> None:
    # the columns come from the models, not from the first row: an empty kind has them all
    empty = export(synced_db, "organizations", "parquet", tmp_path / "o.parquet")
    assert pq.read_table(empty).schema.names == [c.name for c in COLUMNS["organizations"]]


def test_export_refuses_a_file_that_is_not_a_mirror(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("not a database")
    code, out = run("export", "--db", str(db), "--type", "assets", "--out", str(tmp_path / "x"))
    assert code == 2
    assert "not a SQLite database" in out
    assert not (tmp_path / "x").exists()


async def test_stream_to_arrow_has_the_models_columns_and_every_record() -> None:
    from conftest import API_KEY, BASE_URL, make_gateway
    from esploro_async import EsploroClient
    from esploro_async.models import Asset
    from esploro_async.testing import SyntheticInstitution

    institution = SyntheticInstitution(seed=3, researchers=150, assets=250)
    gateway = make_gateway(institution=institution)
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport()) as client:
        assets = await client.assets.list(update_date_from="1900-01-01").to_arrow()
        people = await client.researchers.list().to_arrow()
    assert assets.schema.names == [c.name for c in COLUMNS["assets"]]
    assert assets.num_rows == 250
    assert assets.column("originalRepository.assetId").to_pylist() == institution.assets.ids()
    first = institution.assets.ref(institution.assets.ids()[0])
    assert first is not None
    assert assets.column("keywords")[0].as_py() == Asset.from_dict(first).keywords
    assert any(len(k.as_py()) > 1 for k in assets.column("keywords"))  # lists stay lists
    assert json.loads(assets.column("record")[0].as_py()) == first
    assert people.column("primary_id").to_pylist() == institution.researchers.ids()
