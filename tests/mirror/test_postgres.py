"""The mirror in a real PostgreSQL server (started for these tests): the same guarantees."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from killing import kill_and_compare
from postgres_support import fresh_database, postgres_cluster

from conftest import API_KEY, BASE_URL, make_gateway
from esploro_async import EsploroClient
from esploro_async.mirror import Mirror, StoreError, StoreLockedError
from esploro_async.testing import SyntheticInstitution

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def database(server: str) -> str:
    return fresh_database(server, f"mirror_{uuid.uuid4().hex[:12]}")


@pytest.mark.parametrize(("kind", "rounds", "seed"), [("assets", 8, 21), ("researchers", 6, 22)])
async def test_postgres_mirror_killed_anywhere_equals_the_source(
    tmp_path: Path, database: str, kind: str, rounds: int, seed: int
) -> None:
    report = await kill_and_compare(
        kind=kind, db=database, out=tmp_path / "export.jsonl", rounds=rounds, seed=seed
    )
    assert report.kills == rounds, report


async def test_postgres_store_refuses_another_institution_and_a_second_sync(
    database: str,
) -> None:
    from esploro_async.mirror.postgres import PostgresStore

    institution = SyntheticInstitution(seed=3, researchers=20, assets=150)
    gateway = make_gateway(institution=institution)
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport()) as client:
        async with Mirror(client, PostgresStore(database), institution="01ONE") as mirror:
            await mirror.sync("assets")
            with pytest.raises(StoreLockedError, match="another sync is running"):
                await PostgresStore(database).open("01ONE")
        with pytest.raises(StoreError, match="another institution"):
            async with Mirror(client, PostgresStore(database), institution="01TWO") as other:
                await other.sync("assets")
        async with Mirror(client, PostgresStore(database), institution="01ONE") as mirror:
            assert (await mirror.store.count("assets")) == (150, 0)


async def test_postgres_store_of_a_newer_version_is_refused_and_left_as_it_is(
    database: str,
) -> None:
    import psycopg

    from esploro_async.mirror.postgres import PostgresStore

    gateway = make_gateway(institution=SyntheticInstitution(seed=4, researchers=5, assets=120))
    client = EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport())
    async with client, Mirror(client, PostgresStore(database), institution="01ONE") as mirror:
        await mirror.sync("assets")
    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE mirror_meta SET value = '7' WHERE key = 'schema_version'")
        before = db.execute("SELECT count(*), max(last_seen) FROM mirror_records").fetchone()
    gateway.institution.churn("x", assets=(30, 3, 0))
    client = EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport())
    with pytest.raises(StoreError, match="newer esploro-async"):
        async with client, Mirror(client, PostgresStore(database), institution="01ONE") as m:
            await m.sync("assets")
    with psycopg.connect(database, autocommit=True) as db:
        after = db.execute("SELECT count(*), max(last_seen) FROM mirror_records").fetchone()
    assert after == before
