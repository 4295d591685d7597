"""The import rules of docs/ARCHITECTURE.md, read from the code itself.

Dependencies flow one way, `app` -> `monitor` -> `models`; inside `monitor`, the site agent needs
nothing but the wire package, the simulation never reaches the engine, and scale-out builds on
the engine, never the other way round. A module that breaks a rule fails this test by name.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("app", "monitor", "models")

# Package -> the packages of ours it may import (besides itself and the Python it runs on).
ALLOWED: dict[str, set[str]] = {
    "models": set(),
    "monitor.wire": {"models"},
    "monitor.agent": {"monitor.wire"},
    "monitor.simulation": {"monitor.agent", "monitor.wire"},
    "monitor.probe": {
        "monitor.wire",
        "monitor.conference",
        "monitor.maintenance",
        "monitor.notify",
        "models",
    },
    "monitor.scaleout": {"monitor.probe", "models"},
    "monitor.conference": {"models"},
    "monitor.maintenance": {"models"},
    "monitor.notify": {"models"},
    "monitor": set(),  # monitor/__init__.py itself
    "app": {"app", "monitor", "models"},
}


def package_of(module: str) -> str:
    """The most specific package of ALLOWED that holds `module` ("monitor.probe.engine" ->
    "monitor.probe")."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        candidate = ".".join(parts[:length])
        if candidate in ALLOWED:
            return candidate
    raise AssertionError(f"{module} belongs to no package of the rules")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str) -> set[str]:
    """Every module of ours that `source` imports (at any depth, type-checking ones included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative: resolved against this module's package
                base = ".".join([*module.split(".")[: -node.level], node.module])
            found |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return {name for name in found if name.split(".")[0] in OURS}


def breaches(modules: dict[str, str]) -> list[str]:
    """`modules`: name -> source. Every import that crosses a rule, as 'importer -> imported'."""
    found = []
    for module, source in sorted(modules.items()):
        own = package_of(module)
        for imported in sorted(imports_of(source, module)):
            target = package_of(imported) if imported.split(".")[0] != "models" else "models"
            if target != own and target not in ALLOWED[own] and not _inside(target, own):
                found.append(f"{module} -> {imported}")
    return found


def _inside(target: str, own: str) -> bool:
    """`app` may import anything of `monitor`'s subpackages, as of `monitor` itself."""
    return any(target.startswith(f"{allowed}.") for allowed in ALLOWED[own])


def project_modules() -> dict[str, str]:
    return {
        module_name(path): path.read_text(encoding="utf-8")
        for package in OURS
        for path in (ROOT / package).rglob("*.py")
    }


def test_every_import_follows_the_rules() -> None:
    modules = project_modules()
    assert len(modules) > 60  # the whole tree was read, not an empty folder
    assert breaches(modules) == []


def test_a_breach_is_named() -> None:
    """The checker itself: an agent that reached for the engine, a model that reached up."""
    modules = {
        "monitor.agent.site_agent": "from monitor.probe.engine import ProbeEngine\n",
        "monitor.simulation.link": "import monitor.wire.peer\n",
        "models.site": "from app.main import create_app\n",
        "monitor.probe.engine": "from monitor.scaleout.leases import LeaseKeeper\n",
    }
    assert breaches(modules) == [
        "models.site -> app.main",
        "models.site -> app.main.create_app",
        "monitor.agent.site_agent -> monitor.probe.engine",
        "monitor.agent.site_agent -> monitor.probe.engine.ProbeEngine",
        "monitor.probe.engine -> monitor.scaleout.leases",
        "monitor.probe.engine -> monitor.scaleout.leases.LeaseKeeper",
    ]
