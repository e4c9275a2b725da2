"""Which package may import which: the engine knows nothing of the apps built on it."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "orchestration"


def _imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_engine_package_never_imports_approvals() -> None:
    sources = [p for p in ENGINE.rglob("*.py") if "migrations" not in p.relative_to(ENGINE).parts]
    offenders = {
        str(source.relative_to(ENGINE.parent)): sorted(
            m for m in _imported_modules(source) if m == "approvals" or m.startswith("approvals.")
        )
        for source in sources
    }

    assert len(sources) > 20  # the walk found the engine's modules
    assert {path: modules for path, modules in offenders.items() if modules} == {}
