"""A throwaway PostgreSQL cluster for the mirror's tests (a real server on loopback).

``ESPLORO_TEST_POSTGRES_URL`` names a server to use instead. Otherwise the cluster is made
with the PostgreSQL binaries of the machine (``/usr/lib/postgresql/*/bin``), as the
``postgres`` user when the tests run as root (PostgreSQL refuses to run as root), and
removed at the end. Without binaries the tests are skipped, unless
``ESPLORO_REQUIRE_POSTGRES=1`` (CI sets it): then they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

__all__ = ["postgres_binaries", "postgres_cluster"]


def postgres_binaries() -> str | None:
    """The folder of ``initdb`` and ``pg_ctl``, or ``None``."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster on a free loopback port; yield its URL; stop and remove it."""
    given = os.environ.get("ESPLORO_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    binaries = postgres_binaries()
    if binaries is None:
        if os.environ.get("ESPLORO_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL binaries not found (apt-get install postgresql)")
        pytest.skip("PostgreSQL binaries not found: install postgresql to run these tests")
    owner = "postgres" if os.geteuid() == 0 else None
    folder = tempfile.mkdtemp(prefix="esploro-pg-")
    data = os.path.join(folder, "data")
    if owner:
        shutil.chown(folder, owner)
    port = _free_port()
    pg_ctl = os.path.join(binaries, "pg_ctl")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    try:
        subprocess.run(
            _as_owner(
                [os.path.join(binaries, "initdb"), "-D", data, "-U", "postgres", "-A", "trust"],
                owner,
            ),
            **quiet,  # type: ignore[call-overload]
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_owner(
                [pg_ctl, "-D", data, "-o", options, "-l", f"{folder}/log", "-w", "start"], owner
            ),
            **quiet,  # type: ignore[call-overload]
        )
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield url
    finally:
        subprocess.run(
            _as_owner([pg_ctl, "-D", data, "-m", "immediate", "stop"], owner),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Create database ``name`` on the server at ``url``; return its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"
