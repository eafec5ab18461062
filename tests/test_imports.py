"""``import esploro_async`` stays cheap: optional dependencies and the simulator load on use."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("redis", "click", "rich", "cattrs", "esploro_async.testing", "esploro_async.cli")
"""Never loaded by ``import esploro_async`` itself."""


def modules_after(code: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter after running ``code``."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def test_import_loads_no_optional_dependency_and_not_the_simulator() -> None:
    # httpx itself imports click and rich when they are installed (for its command line):
    # the package must add none of them to what httpx loads.
    added = modules_after("import esploro_async") - modules_after("import httpx")
    assert [p for p in OPTIONAL if loaded(added, p)] == []
    assert not loaded(modules_after("import esploro_async"), "esploro_async.testing")
    assert not loaded(modules_after("import esploro_async"), "redis")


def test_the_client_loads_the_areas_when_first_used() -> None:
    before = modules_after("from esploro_async import EsploroClient")
    assert not loaded(before, "esploro_async.resources")
    after = modules_after(
        "from esploro_async import EsploroClient\n"
        "client = EsploroClient('key', base_url='http://esploro.localhost')\n"
        "client.researchers"
    )
    assert loaded(after, "esploro_async.resources")
    assert not loaded(after, "redis")


def test_redis_governance_is_importable_from_the_package() -> None:
    from esploro_async import RedisGovernance
    from esploro_async.governance.redis import RedisGovernance as Direct

    assert RedisGovernance is Direct


def test_a_json_client_never_loads_the_xml_parsers() -> None:
    after = modules_after(
        "import asyncio, httpx\n"
        "from esploro_async import EsploroClient\n"
        "async def main():\n"
        "    t = httpx.MockTransport(lambda r: httpx.Response(200, json={'a': 1}))\n"
        "    async with EsploroClient('k', base_url='http://e.localhost', transport=t) as c:\n"
        "        response = await c.request('GET', 'researchers')\n"
        "        assert response.json() == {'a': 1}\n"
        "        assert [r async for r in c.researchers.list()] == []\n"
        "        try:\n"
        "            response.xml()\n"
        "        except TypeError:\n"
        "            pass\n"
        "asyncio.run(main())"
    )
    assert not loaded(after, "defusedxml")
    assert not loaded(after, "xml.etree")


def test_an_area_loads_its_own_models_only() -> None:
    after = modules_after(
        "from esploro_async import EsploroClient\n"
        "client = EsploroClient('key', base_url='http://esploro.localhost')\n"
        "client.researchers"
    )
    assert loaded(after, "esploro_async.models.researcher")
    assert loaded(after, "esploro_async.resources.researchers")
    others = ("asset", "config", "jobs", "organization", "activity")
    assert [m for m in others if loaded(after, f"esploro_async.models.{m}")] == []
    assert not loaded(after, "esploro_async.resources.assets")


def test_every_lazy_name_of_the_packages_resolves() -> None:
    import esploro_async
    from esploro_async import models, resources

    for package in (esploro_async, models, resources):
        for name in package.__all__:
            assert getattr(package, name) is not None, name
    for package in (models, resources):
        assert set(package.__all__) <= set(dir(package))
    assert models.RECORD_CLASSES[0] is models.Researcher
