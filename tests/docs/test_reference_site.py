"""The reference site as a reader meets it: built with ``mkdocs build --strict`` once.

Three faults a reader noticed in the rendered pages fail here: an optional keyword shown as
"required", a literal ``::`` left over from reStructuredText, and an exported name the
reference never shows.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from esploro_async.resources import StreamOptions
from esploro_async.session.options import ClientOptions

ROOT = Path(__file__).parents[2]
PUBLIC_MODULES = (
    "esploro_async",
    "esploro_async.errors",
    "esploro_async.sync",
    "esploro_async.models",
    "esploro_async.governance",
    "esploro_async.governance.redis",
    "esploro_async.pagination",
    "esploro_async.resources",
    "esploro_async.bulk",
    "esploro_async.metrics",
    "esploro_async.testing",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def pages(site: Path, folder: str) -> list[Path]:
    return sorted((site / folder).glob("*/index.html"))


class _Text(HTMLParser):
    """The page's text outside code, and its parameter table rows."""

    def __init__(self) -> None:
        super().__init__()
        self.in_code = 0
        self.prose: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "pre"):
            self.in_code += 1
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre"):
            self.in_code -= 1
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and data.strip():
            self._row.append(data.strip())
        if not self.in_code:
            self.prose.append(data)


def parse(page: Path) -> _Text:
    text = _Text()
    text.feed(page.read_text(encoding="utf-8"))
    return text


def test_no_optional_keyword_is_shown_as_required(site: Path) -> None:
    optional = {  # where each set of options is documented
        "client": set(ClientOptions.__optional_keys__),
        "resources": set(StreamOptions.__optional_keys__),
    }
    wrong = []
    for page in pages(site, "reference"):
        for row in parse(page).rows:
            if "required" not in row[1:]:
                continue
            name = row[0]
            # "a, b: shared text" entries match no parameter: shown "required" whatever
            if "," in name or name.lstrip("*") in optional.get(page.parent.name, ()):
                wrong.append(f"{page.parent.name}: {name}")
    assert not wrong, f"optional keywords rendered as required: {wrong}"


def test_the_client_options_are_typed_with_their_defaults(site: Path) -> None:
    rows = {row[0]: row for row in parse(site / "reference/client/index.html").rows}
    for name in ("region", "base_url", "timeout", "daily_reserve", "verify"):
        assert name in rows, f"ClientOptions.{name} is not in the client reference"
        assert len(rows[name]) >= 3, f"{name}: no type shown ({rows[name]})"
        assert "default" in " ".join(rows[name][2:]).lower(), f"{name}: no default given"


def test_no_literal_double_colon_outside_code(site: Path) -> None:
    found = []
    for page in pages(site, "reference") + pages(site, "guides"):
        prose = "".join(parse(page).prose)
        for match in re.finditer(r".{0,40}::.{0,20}", prose):
            found.append(f"{page.parent.name}: {match.group(0)!r}")
    assert not found, found


def test_every_exported_name_is_in_the_reference(site: Path) -> None:
    anchors: set[str] = set()
    for page in pages(site, "reference"):
        anchors |= set(re.findall(r'id="([\w.]+)"', page.read_text(encoding="utf-8")))
    shown = {anchor.rsplit(".", 1)[-1] for anchor in anchors}
    missing = [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        for name in getattr(importlib.import_module(module), "__all__", ())
        if not name.startswith("__") and name not in shown
    ]
    assert not missing, f"exported but not in the reference: {missing}"


def test_signatures_are_wrapped_by_a_formatter(site: Path) -> None:
    client = (site / "reference/client/index.html").read_text(encoding="utf-8")
    signatures = re.findall(r'<div class="doc-signature[^"]*">(.*?)</div>', client, re.S)
    assert signatures, "no separate signature rendered"
    longest = max(
        len(line) for sig in signatures for line in re.sub(r"<[^>]+>", "", sig).splitlines()
    )
    assert longest <= 100, f"a signature line of {longest} characters: not wrapped"


def test_the_models_page_opens_with_the_records_users_meet() -> None:
    page = (ROOT / "docs/reference/models.md").read_text(encoding="utf-8")
    first = re.findall(r"^::: (\S+)", page, re.M)[:3]
    assert first[0] == "esploro_async.models.Researcher"
    assert "esploro_async.models.Asset" in first


def test_the_blocking_client_reference_lists_its_methods(site: Path) -> None:
    text = (site / "reference/sync/index.html").read_text(encoding="utf-8")
    for method in ("SyncResearchers.get", "SyncResearchers.list", "EsploroClient.close"):
        assert re.search(rf'id="[\w.]*{re.escape(method)}"', text), method


def test_the_governance_guides_three_gates_render_as_one_numbered_list(site: Path) -> None:
    text = (site / "guides/governance/index.html").read_text(encoding="utf-8")
    gates = text[text.index("three gates, in this order") : text.index("What the margin buys")]
    items = re.findall(r"<li>\s*(?:<p>)?\s*<strong>([^<]+)</strong>", gates)
    assert items == ["A concurrency slot", "The daily quota.", "A rate permit."]


def test_the_errors_guide_lists_every_exception_with_its_base_and_retries() -> None:
    from esploro_async import errors

    guide = (ROOT / "docs/guides/errors.md").read_text(encoding="utf-8")
    rows = {
        cells[0].strip("` "): cells
        for line in guide.splitlines()
        if line.startswith("| `")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
        if len(cells) == 4  # the table of exceptions, not the one of what to do
    }
    for name in errors.__all__:
        exc = getattr(errors, name)
        if not (isinstance(exc, type) and issubclass(exc, BaseException)):
            continue
        assert name in rows, f"{name} is not in the errors guide"
        assert f"`{exc.__bases__[0].__name__}`" in rows[name][1], f"{name}: wrong base"
        assert rows[name][3], f"{name}: nothing said about retries"
