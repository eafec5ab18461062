"""The installed ``esploro-async`` script as a user meets it: bad input, resume, files.

Every case runs the real console script in a subprocess against a simulated gateway served on
loopback. Where the input is bad, the command must exit with its documented code, print an
``error:`` and a ``hint:`` but no traceback, leave every file as it was, and spend no request
(the gateway's quota, read before and after, moves only by the probe itself).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import esploro_async
from esploro_async.testing import SIM_API_KEY, SyntheticInstitution

SCRIPT = Path(sys.executable).with_name("esploro-async")
SIM = ["--sim-researchers", "300", "--sim-latency", "0.01:0.02"]


class Served:
    """A simulated gateway served by ``esploro-async simulate serve`` in its own process."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def remaining(self) -> int:
        """The daily quota left (the probe itself costs one request)."""
        response = httpx.get(
            f"{self.url}/esploro/v1/researchers/test",
            headers={"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"},
        )
        return int(response.headers["X-Exl-Api-Remaining"])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    process = subprocess.Popen(
        [str(SCRIPT), "simulate", "serve", "--port", "0", "--researchers", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield Served(process, match.group(0))
    finally:
        process.terminate()
        process.wait(timeout=30)


def cli(
    *args: str, served: Served | None = None, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the console script; never a traceback, whatever the outcome."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ESPLORO_")}
    if served is not None:
        environ.update(ESPLORO_API_KEY=SIM_API_KEY, ESPLORO_BASE_URL=served.url)
    environ.update(env)
    result = subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=cwd,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def refused(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "hint:" in result.stderr
    for word in words:
        assert word in result.stderr


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and mode."""
    return {
        str(p.relative_to(folder)): (
            p.read_bytes() if p.is_file() and not p.is_symlink() else b"",
            p.lstat().st_mode,
        )
        for p in sorted(folder.rglob("*"))
    }


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ids(path: Path) -> list[str]:
    return [json.loads(line)["primary_id"] for line in path.read_text().splitlines()]


def harvest(out: Path, *more: str, served: Served) -> subprocess.CompletedProcess[str]:
    return cli("harvest", "researchers", "--quiet", "--out", str(out), *more, served=served)


# 1. Bad input: a message, an exit code, no traceback, nothing spent, no file touched


BAD_INPUT: list[tuple[list[str], str]] = [
    (["harvest", "assets", "--out", "{tmp}/a.jsonl"], "--update-date-from"),
    (
        ["harvest", "assets", "--update-date-from", "yesterday", "--out", "{tmp}/a.jsonl"],
        "--update-date-from",
    ),
    (["harvest", "researchers", "--out", "{tmp}/missing/r.jsonl"], "does not exist"),
    (["harvest", "researchers", "--out", "{tmp}/precious.txt/r.jsonl"], "does not exist"),
    (
        ["--daily-reserve", "-1", "harvest", "researchers", "--out", "{tmp}/r.jsonl"],
        "--daily-reserve",
    ),
    (
        ["--safety-margin", "nan", "harvest", "researchers", "--out", "{tmp}/r.jsonl"],
        "--safety-margin",
    ),
    (["--safety-margin", "-0.1", "quota"], "--safety-margin"),
    (["--safety-margin", "fast", "quota"], "--safety-margin"),
    (["harvest", "set-members", "--out", "{tmp}/m.jsonl"], "--set-id"),
    (["harvest", "researchers", "--out", "{tmp}/precious.txt"], "--resume"),
    (["harvest", "researchers", "--resume", "--out", "{tmp}/precious.txt"], "no checkpoint"),
    (["apply", "{tmp}/latin1.jsonl"], "UTF-8"),
    (["apply", "{tmp}/changes.jsonl", "--results", "-"], "--results -"),
    (["apply", "{tmp}/changes.jsonl", "--results", "{tmp}/changes.jsonl"], "CHANGES file itself"),
]


@pytest.mark.parametrize(("args", "named"), BAD_INPUT)
def test_bad_input_exits_2_naming_it_and_spends_nothing(
    served: Served, tmp_path: Path, args: list[str], named: str
) -> None:
    (tmp_path / "precious.txt").write_text("precious\n")
    (tmp_path / "latin1.jsonl").write_bytes(
        '{"type": "researcher", "id": "R1", "set": {"/x": "Müller"}}\n'.encode("latin-1")
    )
    (tmp_path / "changes.jsonl").write_text(
        '{"type": "researcher", "id": "R1", "set": {"/x": 1}}\n'
    )
    before_files = snapshot(tmp_path)
    before = served.remaining()

    result = cli(*(a.replace("{tmp}", str(tmp_path)) for a in args), served=served)

    refused(result, 2, named)
    assert served.remaining() == before - 1, "a request was spent on bad input"
    assert snapshot(tmp_path) == before_files


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_output_folder_is_found_before_any_request(
    served: Served, tmp_path: Path
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    before = served.remaining()
    result = harvest(folder / "r.jsonl", served=served)
    refused(result, 2, "not writable")
    assert served.remaining() == before - 1


def test_text_from_the_server_is_printed_literally(tmp_path: Path) -> None:
    set_id = "[/red]\x1b[31mx\x07"
    result = cli(
        *SIM, "harvest", "set-members", "--set-id", set_id, "--simulate", "--out",
        str(tmp_path / "m.jsonl"),
    )  # fmt: skip
    refused(result, 1, "Set [/red][31mx was not found")
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr


# 2. Resume never destroys or duplicates


@pytest.fixture
def harvested(served: Served, tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """A finished harvest of 300 researchers, with its checkpoint marked as unfinished."""
    out = tmp_path / "r.jsonl"
    done = harvest(out, "--page-size", "50", served=served)
    assert done.returncode == 0, done.stderr
    state_path = tmp_path / ".r.jsonl.checkpoint"
    state = json.loads(state_path.read_text())
    state["finished"] = False
    state_path.write_text(json.dumps(state))
    return out, state_path, state


def test_a_consistent_checkpoint_resumes_to_the_same_records(
    served: Served, harvested: tuple[Path, Path, dict[str, Any]]
) -> None:
    out, _, _ = harvested
    records = ids(out)
    resumed = harvest(out, "--page-size", "50", "--resume", served=served)
    assert resumed.returncode == 0, resumed.stderr
    assert ids(out) == records
    assert len(records) == len(set(records)) == 300


CORRUPT: list[tuple[str, dict[str, Any] | str]] = [
    ("not a checkpoint", "{not json"),
    ("bytes at the start", {"bytes": 0}),
    ("bytes in a record", {"bytes": -20}),
    ("more records than lines", {"records": 301}),
    ("an empty stream state", {"stream": {}}),
    ("no stream state", {"stream": None}),
    ("a stream behind the records", {"stream": {"delivered": 250}}),
    ("no counts", {"bytes": "many"}),
]


@pytest.mark.parametrize(("case", "change"), CORRUPT, ids=[c for c, _ in CORRUPT])
def test_a_checkpoint_that_does_not_match_its_output_is_refused(
    served: Served,
    harvested: tuple[Path, Path, dict[str, Any]],
    case: str,
    change: dict[str, Any] | str,
) -> None:
    out, state_path, state = harvested
    if isinstance(change, str):
        state_path.write_text(change)
    else:
        for key, value in change.items():
            if key == "bytes" and isinstance(value, int) and value < 0:
                value = state["bytes"] + value
            if key == "stream" and isinstance(value, dict) and value:
                value = {**state["stream"], **value}
            state[key] = value
        state_path.write_text(json.dumps(state))
    before_files = snapshot(out.parent)
    before = served.remaining()

    result = harvest(out, "--page-size", "50", "--resume", served=served)

    refused(result, 2, "cannot resume", "--overwrite")
    assert served.remaining() == before - 1
    assert snapshot(out.parent) == before_files


def test_apply_resume_resends_only_what_is_safe_to_resend(tmp_path: Path) -> None:
    assets = SyntheticInstitution(seed=0, researchers=300, assets=5_000).assets.ids()[:4]
    replace = {"action": "replace", "fields": {"date.published": "2024"}}
    lines: list[dict[str, Any]] = [{"type": "asset", "id": aid, **replace} for aid in assets[:3]]
    lines.append({"type": "asset", "id": assets[3], "action": "add", "fields": {"keywords": ["x"]}})
    lines.append({"type": "researcher", "id": "NOPE", "set": {"/researcher/display_title": "Dr"}})
    changes = tmp_path / "changes.jsonl"
    changes.write_text("".join(json.dumps(line) + "\n" for line in lines))
    results = tmp_path / "changes.jsonl.results.jsonl"

    def outcome() -> dict[int, tuple[str, bool | None]]:
        rows = [json.loads(line) for line in results.read_text().splitlines()]
        assert sorted(r["line"] for r in rows) == [1, 2, 3, 4, 5], "one result per line"
        return {r["line"]: (r["status"], r.get("error", {}).get("retryable")) for r in rows}

    # every asset POST fails with a 500: a replace may be sent again, an add may not
    failed = cli(*SIM, "--sim-fault", "http_500:assets:POST", "apply", str(changes), "--simulate")
    assert failed.returncode == 1
    assert "hint: run the same command with --resume" in failed.stderr
    assert "--retry-failed" in failed.stderr
    assert outcome() == {
        1: ("error", True),
        2: ("error", True),
        3: ("error", True),
        4: ("error", False),
        5: ("error", False),
    }

    resumed = cli(*SIM, "apply", str(changes), "--simulate", "--resume")
    assert resumed.returncode == 1
    assert outcome() == {
        1: ("ok", None),
        2: ("ok", None),
        3: ("ok", None),
        4: ("error", False),
        5: ("error", False),
    }

    retried = cli(*SIM, "apply", str(changes), "--simulate", "--retry-failed")
    assert retried.returncode == 1
    assert "1 failed" in retried.stderr
    assert outcome() == {
        1: ("ok", None),
        2: ("ok", None),
        3: ("ok", None),
        4: ("ok", None),
        5: ("error", False),
    }


# 3. Files are private and written safely


def test_every_file_written_is_private_whatever_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text("old\n")
    out.chmod(0o644)
    old_umask = os.umask(0)
    try:
        done = cli(
            *SIM, "harvest", "researchers", "--simulate", "-q", "--overwrite", "--out", str(out)
        )
        changes = tmp_path / "c.jsonl"
        change = {
            "type": "researcher",
            "id": "R00000001",
            "set": {"/researcher/display_title": "D"},
        }
        changes.write_text(json.dumps(change) + "\n")
        applied = cli(*SIM, "apply", str(changes), "--simulate")
    finally:
        os.umask(old_umask)
    assert done.returncode == 0, done.stderr
    assert applied.returncode == 0, applied.stderr
    written = [out, tmp_path / ".r.jsonl.checkpoint", tmp_path / "c.jsonl.results.jsonl"]
    written.append(tmp_path / ".c.jsonl.results.jsonl.journal")
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert not list(tmp_path.glob("*.tmp"))
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "planted",
    ["r.jsonl", ".r.jsonl.checkpoint", "c.jsonl.results.jsonl", ".c.jsonl.results.jsonl.journal"],
)
def test_a_symbolic_link_planted_at_an_output_path_is_not_followed(
    tmp_path: Path, planted: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (tmp_path / planted).symlink_to(victim)
    (tmp_path / "c.jsonl").write_text(
        '{"type": "researcher", "id": "R00000001", "set": {"/x": 1}}\n'
    )
    if planted.startswith(("r.", ".r.")):
        args = ["harvest", "researchers", "--overwrite", "--out", str(tmp_path / "r.jsonl")]
    else:
        args = ["apply", str(tmp_path / "c.jsonl")]
    result = cli(*SIM, *args, "--simulate")
    refused(result, 2, "symbolic link")
    assert victim.read_text() == "keep me\n"
    assert (tmp_path / planted).is_symlink()


# 4. Honest small things


def test_quota_with_a_refused_key_exits_4(served: Served) -> None:
    result = cli("--api-key", "l8xx-not-a-key", "quota", served=served)
    refused(result, 4, "API key was refused")
    assert "daily quota left" not in result.stdout
    assert "l8xx-not-a-key" not in result.stdout + result.stderr


def test_quota_with_a_good_key(served: Served) -> None:
    result = cli("quota", served=served)
    assert result.returncode == 0, result.stderr
    assert re.search(r"daily quota left: [\d,]+\nresets at: ", result.stdout)


def test_an_automatic_margin_harvests_everything(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    result = cli(
        *SIM, "--safety-margin", "auto", "harvest", "researchers", "--simulate", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    records = ids(out)
    assert len(records) == len(set(records)) == 300


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"esploro-async, version {esploro_async.__version__}"


def test_simulate_serve_documents_every_option() -> None:
    from esploro_async.cli.app import serve

    result = cli("simulate", "serve", "--help")
    assert result.returncode == 0
    for option in serve.params:
        assert option.opts[0] in result.stdout
        assert getattr(option, "help", None), f"{option.opts[0]} has no help"


def test_the_progress_bar_fits_80_columns(served: Served, tmp_path: Path) -> None:
    result = cli(
        "harvest", "researchers", "--page-size", "10", "--out", str(tmp_path / "r.jsonl"),
        served=served, COLUMNS="80", FORCE_COLOR="1", TERM="xterm",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)
    bars = [line for line in re.split(r"[\r\n]", screen) if "req/s" in line]
    assert bars, result.stderr
    assert max(len(line.rstrip()) for line in bars) <= 80
    assert re.search(r"300/300 [\d.]+ req/s quota [\d,]+ \d\d:\d\d$", bars[-1].rstrip())
