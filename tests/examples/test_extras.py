"""``pip install 'esploro-async[examples]'`` installs what the examples import."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def provided_by_the_examples_extra() -> set[str]:
    """Import names of what `pip install 'esploro-async[examples]'` brings (installed metadata)."""
    provided = set()
    for requirement in importlib.metadata.requires("esploro-async") or []:
        name, _, marker = requirement.partition(";")
        if not marker or "examples" in marker.replace('"', "'").split("'"):
            provided.add(re.split(r"[<>=\[ ~!]", name.strip())[0].lower().replace("-", "_"))
    return provided


def imported_by_the_examples() -> set[str]:
    """Top-level names of every absolute import in ``examples/*.py``."""
    imported: set[str] = set()
    for example in sorted((ROOT / "examples").glob("*.py")):
        for node in ast.walk(ast.parse(example.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    return imported


def test_the_examples_extra_covers_every_third_party_import() -> None:
    provided = provided_by_the_examples_extra()
    third_party = {
        name
        for name in imported_by_the_examples()
        if name not in sys.stdlib_module_names and name != "esploro_async"
    }
    assert "fastapi" in third_party
    assert third_party <= provided, third_party - provided
    assert "uvicorn" in provided  # the documented way to serve the portal
