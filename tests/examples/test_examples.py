"""The examples run as documented, against the simulated gateway."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

EXAMPLES = Path(__file__).parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_portal_serves_profiles_while_the_harvest_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESPLORO_SIMULATE", "1")
    portal = load("fastapi_portal")
    with TestClient(portal.app) as http:
        deadline = time.monotonic() + 30
        while http.get("/status").json()["harvest"]["records"] == 0:
            assert time.monotonic() < deadline, "the harvest started"
            time.sleep(0.05)
        profile = http.get("/researchers/R00000042")
        assert profile.status_code == 200
        body = profile.json()
        assert body["id"] == "R00000042"
        assert body["name"]
        assert http.get("/researchers/nobody").status_code == 404
        status = http.get("/status").json()
        assert status["harvest"]["state"] == "running"
        assert status["throttled"] == 0


def test_the_nightly_sync_gives_one_result_per_row(tmp_path: Path) -> None:
    sync = load("nightly_sync")
    changes = tmp_path / "hr.csv"
    changes.write_text(
        "primary_id,field,value\n"
        "R00000001,display_title,Professor\n"
        "R00000002,orcid,0000-0002-1825-0097\n"
        "R00000003,last_name,Nakamura-Øberg\n"
        "R00000001,display_title,Professor\n"
        "R00000004,shoe_size,44\n"
        "NOBODY,display_title,Dr\n",
        encoding="utf-8",
    )
    results = tmp_path / "results.jsonl"
    status = sync.main([str(changes), str(results), "--simulate"])
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    by_row = {line["row"]: line for line in lines}
    assert sorted(by_row) == [1, 2, 3, 4, 5, 6]
    assert {by_row[n]["status"] for n in (1, 2, 3)} == {"changed"}
    assert by_row[4]["status"] in ("changed", "unchanged")  # same edit as row 1, concurrently
    assert by_row[5]["status"] == "error"
    assert "unknown field" in by_row[5]["error"]
    assert "NotFoundError" in by_row[6]["error"]
    assert status == 1


def _portal_with(monkeypatch: pytest.MonkeyPatch, **gateway: Any) -> ModuleType:
    """The portal, its client on a simulated gateway built with ``gateway`` options."""
    from esploro_async import EsploroClient, RetryPolicy
    from esploro_async.testing import SIM_API_KEY, SimulatedGateway, SyntheticInstitution

    portal = load("fastapi_portal")
    simulated = SimulatedGateway(SyntheticInstitution(seed=1, researchers=50), **gateway)

    def make_client() -> EsploroClient:
        return EsploroClient(
            SIM_API_KEY,
            base_url="http://esploro.localhost",
            transport=simulated.transport(),
            retry=RetryPolicy(max_attempts=2, backoff_initial=0),
        )

    monkeypatch.setattr(portal, "make_client", make_client)
    return portal


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/researchers/R00000001", 200),
        ("/researchers/%2E", 400),
        ("/researchers/%2E%2E", 400),
        ("/researchers/nobody", 404),
    ],
)
def test_the_portal_answers_a_visitors_bad_input_with_4xx(
    monkeypatch: pytest.MonkeyPatch, path: str, status: int
) -> None:
    portal = _portal_with(monkeypatch)
    with TestClient(portal.app) as http:
        response = http.get(path)
    assert response.status_code == status, response.text


def test_the_portal_answers_503_with_retry_after_when_the_api_is_down_or_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from esploro_async.testing import Fault, FaultKind

    down = _portal_with(monkeypatch, faults=[Fault(FaultKind.ROUTING_ERROR)])
    with TestClient(down.app, raise_server_exceptions=False) as http:
        response = http.get("/researchers/R00000001")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0

    spent = _portal_with(monkeypatch, daily_quota=3)
    with TestClient(spent.app, raise_server_exceptions=False) as http:
        answers = [http.get("/researchers/R00000001") for _ in range(5)]
    assert {a.status_code for a in answers} <= {200, 503}  # the harvest spends quota too
    assert answers[-1].status_code == 503
    assert "quota" in answers[-1].json()["detail"]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 24 * 3600


def test_the_portal_answers_429_when_the_gateway_keeps_refusing() -> None:
    from esploro_async import RateLimitError

    portal = load("fastapi_portal")
    error = RateLimitError("429 PER_SECOND_THRESHOLD", status_code=429)
    assert portal.http_answer(error)[0] == 429
    assert portal.http_answer(error)[2]["Retry-After"] == "1"
