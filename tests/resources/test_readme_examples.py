"""The documentation's marked examples, run unchanged against the simulated gateway."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from esploro_async import EsploroClient
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]

README = Path(__file__).parent.parent.parent / "docs" / "guides" / "areas.md"
MARKER = "<!-- example: runs against the simulator"


def _examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(MARKER) + r".*?-->\s*```python\n(.*?)```", text, re.S)
    assert blocks, "no marked example"
    return blocks


async def test_load_files_example(
    client: EsploroClient, gw: SimulatedGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    (code,) = [b for b in _examples() if "async def load_files" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), namespace)
    ids = gw.institution.assets.ids()[:2]
    counters = await namespace["load_files"](client, {i: f"https://x.example/{i}.pdf" for i in ids})
    assert counters["import_research_assets_files.file_uploaded"] == 2
    assert counters["import_research_assets_files.asset_succeeded"] == 2
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == "COMPLETED_SUCCESS 100"
    assert len(gw.institution.sets) == 3  # the example deleted its set
