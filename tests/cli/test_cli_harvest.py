"""The command line's harvest, as a user runs it: interrupted, stopped by the quota, resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from esploro_async.cli.app import cli

SIM = ["--sim-researchers", "3000", "--sim-latency", "0.05:0.3"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "esploro_async", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def ids(path: Path) -> list[str]:
    return [json.loads(line)["primary_id"] for line in path.read_text().splitlines()]


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """An uninterrupted harvest of the simulated institution."""
    out = tmp_path_factory.mktemp("ref") / "all.jsonl"
    done = run(*SIM, "harvest", "researchers", "--simulate", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return ids(out)


def test_a_harvest_killed_half_way_resumes_to_the_same_records(
    tmp_path: Path, reference: list[str]
) -> None:
    out = tmp_path / "r.jsonl"
    state = tmp_path / ".r.jsonl.checkpoint"
    args = [*SIM, "harvest", "researchers", "--simulate", "--quiet", "--out", str(out)]
    process = subprocess.Popen(
        [sys.executable, "-m", "esploro_async", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if state.exists() and json.loads(state.read_text())["records"] >= 600:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    partial = ids(out)
    assert 0 < len(partial) < len(reference), "killed half-way"

    resumed = run(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert ids(out) == reference


def test_stopped_at_the_daily_quota_exits_3_and_resumes(
    tmp_path: Path, reference: list[str]
) -> None:
    out = tmp_path / "r.jsonl"
    quota = ["--sim-daily-quota", "20"]
    args = [*SIM, *quota, "harvest", "researchers", "--simulate", "--quiet", "--out", str(out)]

    refused = run(*args)
    assert refused.returncode == 3
    assert "--until-reserve" in refused.stderr
    assert "hint:" in refused.stderr

    stopped = run(*args, "--until-reserve", "--overwrite")
    assert stopped.returncode == 3, stopped.stderr
    assert "--resume" in stopped.stderr
    assert 0 < len(ids(out)) < len(reference)

    # A new process is a new simulated day: the quota is back.
    resumed = run(*args, "--until-reserve", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert ids(out) == reference


def test_no_api_key_says_how_to_set_one_and_offers_simulate(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESPLORO_")}
    result = run("harvest", "researchers", "--out", str(tmp_path / "x.jsonl"), env=env)
    assert result.returncode == 2
    assert "ESPLORO_API_KEY" in result.stderr
    assert "--simulate" in result.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_an_existing_output_is_not_overwritten_silently(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text("precious\n")
    result = CliRunner().invoke(
        cli, ["harvest", "researchers", "--simulate", "--quiet", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert out.read_text() == "precious\n"


def test_csv_output_and_other_resources(tmp_path: Path) -> None:
    runner = CliRunner()
    csv_out = tmp_path / "a.csv"
    result = runner.invoke(
        cli,
        [
            *SIM,
            "--sim-assets",
            "250",
            "harvest",
            "assets",
            "--update-date-from",
            "1900-01-01",
            "--format",
            "csv",
            "--simulate",
            "--quiet",
            "--out",
            str(csv_out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "asset_id,title,doi,resource_type,date_published,record"
    assert len(lines) == 251

    report = tmp_path / "report.jsonl"
    result = runner.invoke(
        cli,
        [
            "harvest",
            "analytics",
            "--path",
            "/shared/Sim University/Reports/Researchers",
            "--simulate",
            "--quiet",
            "--out",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert rows
    assert "Researcher Name" in rows[0]
    assert "0" not in rows[0]

    missing = runner.invoke(
        cli, ["harvest", "set-members", "--simulate", "--out", str(tmp_path / "m.jsonl")]
    )
    assert missing.exit_code == 2
    assert "--set-id" in missing.output


def test_quota_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["quota", "--simulate"])
    assert result.exit_code == 0, result.output
    assert "daily quota left: 999,999" in result.output
    assert "resets at:" in result.output
