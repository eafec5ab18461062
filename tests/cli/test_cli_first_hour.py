"""The console script as a new user first meets it: ports, pipes, hints, keys, logs.

Each case runs the installed ``esploro-async`` script in a subprocess, as a shell would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from esploro_async.testing import SIM_API_KEY

SCRIPT = Path(sys.executable).with_name("esploro-async")
SIM = ["--sim-researchers", "120", "--sim-latency", "0.001:0.002"]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the console script in a clean environment; never a traceback."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ESPLORO_")}
    environ.update(env)
    result = subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=environ, check=False
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_simulate_serve_on_a_port_in_use_says_so_in_one_line_with_a_hint(busy_port: int) -> None:
    result = cli("simulate", "serve", "--port", str(busy_port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: cannot listen on 127.0.0.1:")
    assert str(busy_port) in lines[0]
    assert lines[1].startswith("hint:")
    assert "--port 0" in lines[1]


def test_simulate_serve_help_says_how_latency_is_split() -> None:
    result = cli("simulate", "serve", "--help")
    text = " ".join(result.stdout.split())
    assert "before the request arrives" in text
    assert "before its response is sent" in text


def test_harvest_to_standard_output_pipes_records(tmp_path: Path) -> None:
    result = cli(*SIM, "harvest", "researchers", "--simulate", "--out", "-")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 120
    assert all(isinstance(r["primary_id"], str) for r in records)
    assert "done: 120 records written to standard output" in result.stderr
    assert not list(tmp_path.iterdir())  # no checkpoint file anywhere near
    assert not Path(".-.checkpoint").exists()


def test_harvest_to_standard_output_cannot_resume() -> None:
    result = cli(*SIM, "harvest", "researchers", "--simulate", "--out", "-", "--resume")
    assert result.returncode == 2
    assert "standard output" in result.stderr
    assert "hint:" in result.stderr
    assert result.stdout == ""


def test_quiet_keeps_the_done_line(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    result = cli(*SIM, "harvest", "researchers", "--simulate", "-q", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("done: 120 records in"), result.stderr
    assert "━" not in result.stderr


def test_resume_of_a_finished_harvest_checks_the_last_line(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    assert (
        cli(*SIM, "harvest", "researchers", "--simulate", "-q", "--out", str(out)).returncode == 0
    )
    again = cli(*SIM, "harvest", "researchers", "--simulate", "-q", "--resume", "--out", str(out))
    assert again.returncode == 0
    assert "done: 120 records" in again.stderr
    assert "(0 requests" in again.stderr  # complete: nothing sent

    data = out.read_bytes()
    head, last = data[:-1].rsplit(b"\n", 1)
    out.write_bytes(head + b"\n" + b"x" * len(last) + b"\n")  # same length, not a record
    result = cli(*SIM, "harvest", "researchers", "--simulate", "-q", "--resume", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert "not a JSON object" in result.stderr
    assert "--overwrite" in result.stderr

    out.write_bytes(data + b'{"appended": \n')
    result = cli(*SIM, "harvest", "researchers", "--simulate", "-q", "--resume", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert "more bytes after it" in result.stderr
    assert out.read_bytes() == data + b'{"appended": \n'  # the file was left as it is


def test_status_simulate_shows_a_simulated_institution() -> None:
    result = cli(*SIM, "status", "--simulate", "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["processes"] == 1
    assert state["quota_remaining"] == 1_000_000 - 1  # one test request
    text = cli(*SIM, "status", "--simulate")
    assert "daily quota left: 999,999" in text.stdout


def test_quota_failures_get_a_hint_of_their_own() -> None:
    result = cli(*SIM, "--sim-fault", "reset", "quota", "--simulate")
    assert result.returncode == 1
    assert "esploro-async quota again" in result.stderr
    assert "--resume" not in result.stderr


def test_job_failures_get_a_hint_of_their_own() -> None:
    result = cli(*SIM, "job", "run", "M00000", "--simulate")
    assert result.returncode == 1, result.stderr
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hint
    assert "--resume" not in hint[0]
    assert "job" in hint[0]


def test_log_level_debug_shows_our_requests_not_asyncio_or_httpcore() -> None:
    result = cli(*SIM, "--log-level", "debug", "quota", "--simulate")
    assert result.returncode == 0, result.stderr
    assert " esploro_async." in result.stderr
    for noisy in (" asyncio:", " httpcore.", " httpx:"):
        assert noisy not in result.stderr


def test_api_key_on_the_command_line_warns_and_a_key_file_does_not(tmp_path: Path) -> None:
    typed = cli(*SIM, "--api-key", SIM_API_KEY, "quota", "--simulate")
    assert typed.returncode == 0
    assert "warning: --api-key on the command line is visible" in typed.stderr
    assert SIM_API_KEY not in typed.stderr

    from_env = cli(*SIM, "quota", "--simulate", ESPLORO_API_KEY=SIM_API_KEY)
    assert "warning" not in from_env.stderr

    key_file = tmp_path / "key"
    key_file.write_text("not-a-real-key\n")
    key_file.chmod(0o600)
    refused = cli("--api-key-file", str(key_file), "--base-url", "http://127.0.0.1:9", "quota")
    assert "warning" not in refused.stderr
    assert "not-a-real-key" not in refused.stderr
    assert refused.returncode == 1  # the key was read: the refusal is the connection's

    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = cli("--api-key-file", str(empty), "quota")
    assert result.returncode == 2
    assert "is empty" in result.stderr
