"""The command line loads the simulator only for ``--simulate`` and Redis only for a Redis URL.

Each case runs in a fresh interpreter and reads its ``sys.modules`` afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("esploro_async.testing", "redis", "esploro_async.governance.redis")


def modules_after(code: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter (no ``ESPLORO_*`` variables) after ``code``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ESPLORO_")}
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules), file=sys.stderr)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return set(result.stderr.split())


def heavy(modules: set[str]) -> list[str]:
    """Which of `HEAVY` were loaded."""
    return [p for p in HEAVY if any(m == p or m.startswith(p + ".") for m in modules)]


def test_importing_the_command_line_loads_neither_the_simulator_nor_redis() -> None:
    assert heavy(modules_after("import esploro_async.cli.app")) == []


def test_help_of_every_command_loads_neither() -> None:
    commands = ("harvest", "apply", "quota", "status", "sync", "export", "job run", "simulate")
    for command in commands:
        code = (
            "from esploro_async.cli.app import run\n"
            f"assert run([*{command.split()!r}, '--help']) == 0"
        )
        assert heavy(modules_after(code)) == [], command


def test_a_command_without_simulate_or_redis_loads_neither() -> None:
    code = "from esploro_async.cli.app import run\nassert run(['quota']) == 2  # no API key"
    assert heavy(modules_after(code)) == []


def test_simulate_loads_the_simulator_and_not_redis() -> None:
    code = (
        "from esploro_async.cli.app import run\n"
        "assert run(['--sim-researchers', '5', '--sim-latency', '0', 'quota', '--simulate']) == 0"
    )
    assert heavy(modules_after(code)) == ["esploro_async.testing"]


def test_a_bad_simulated_latency_is_still_a_usage_error_naming_the_flag() -> None:
    code = (
        "from esploro_async.cli.app import run\n"
        "assert run(['--sim-latency', 'soon', 'quota', '--simulate']) == 2"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ESPLORO_")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Invalid value for '--sim-latency'" in result.stderr
    assert "expected seconds" in result.stderr
