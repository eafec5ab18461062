"""``esploro-async job run``: run a job on the simulated institution, follow it to the end."""

from __future__ import annotations

import json

from click.testing import CliRunner

from esploro_async.cli.app import cli

SIM = ["--sim-researchers", "20", "--sim-assets", "50"]
EMPTY_IER_SET = "9500000030004321"  # the simulator's empty "CloudApp-FilesLoaderSet-sim"


def test_run_and_wait_prints_the_final_status_and_counters() -> None:
    args = [
        *SIM,
        "job",
        "run",
        "M50173",
        "--param",
        f"set_id={EMPTY_IER_SET}",
        "--param",
        "job_name=cli test",
        "--wait",
        "--poll-interval",
        "0.5",
        "--simulate",
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["job"] == "M50173"
    assert summary["status"] == "COMPLETED_SUCCESS"
    assert summary["counters"]["import_research_assets_files.asset_failed"] == 0
    assert "started job M50173 instance" in result.stderr


def test_run_without_wait_prints_the_instance() -> None:
    result = CliRunner().invoke(cli, [*SIM, "job", "run", "M50762", "--simulate", "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("instance 98")


def test_bad_parameters_and_unknown_jobs_exit_non_zero() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, [*SIM, "job", "run", "M50173", "--param", "oops", "--simulate"])
    assert bad.exit_code == 2
    assert "NAME=VALUE" in bad.output
    unknown = runner.invoke(cli, [*SIM, "job", "run", "M0", "--simulate"])
    assert unknown.exit_code == 1
    assert "402885" in unknown.stderr
    no_set = runner.invoke(cli, [*SIM, "job", "run", "M50173", "--param", "set_id=1", "--simulate"])
    assert no_set.exit_code == 1
    assert "Set 1 was not found" in no_set.stderr


def test_wait_gives_up_at_the_deadline_and_says_the_job_still_runs() -> None:
    args = [*SIM, "job", "run", "M50173", "--param", f"set_id={EMPTY_IER_SET}", "--wait"]
    args += ["--poll-interval", "0.5", "--deadline", "1", "--simulate", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "deadline" in result.stderr
    assert "not cancelled" in result.stderr
