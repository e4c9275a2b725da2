"""The human-task interface is the only door from apps that own human work into the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import orchestration.engine
from orchestration.engine import dry_run, human
from orchestration.models import Timer

ROOT = Path(__file__).resolve().parents[2]

# What an app may import from the engine, module by module: the public modules' __all__, and
# from the transition tables only the means to declare its own (never the engine's tables).
PUBLIC = {
    "orchestration.engine": set(orchestration.engine.__all__),
    "orchestration.engine.human": set(human.__all__),
    # Dry runs (the designer's Try it): the engine's own entry point for test runs and replays.
    "orchestration.engine.dry_run": set(dry_run.__all__),
    "orchestration.engine.transitions": {"IllegalMove", "StatusTable"},
    # The block registry's read side: the designer builds its palette from it.
    "orchestration.engine.blocks": {"palette", "kinds", "registered"},
    # What the registry's read side hands out: a kind's description.
    "orchestration.engine.blocks.base": {"Kind"},
}


def boundary_violations(source: str, app: str = "approvals") -> list[str]:
    """What in ``source`` (a module of ``app``) reaches past the engine's public interface.

    Empty when nothing does. Private names (``_x``) are private to their app.
    """
    found = []
    if "Timer.objects" in source:
        found.append("writes or queries Timer rows (Timer.objects)")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("orchestration.engine.") and alias.name not in PUBLIC:
                    found.append(f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [alias.name for alias in node.names]
            if node.module.split(".")[0] != app:
                found += [f"imports {name} from {node.module}" for name in names if name.startswith("_")]
            if node.module in PUBLIC:
                found += [
                    f"imports {name} from {node.module}"
                    for name in names
                    if name not in PUBLIC[node.module] and f"{node.module}.{name}" not in PUBLIC
                ]
            elif node.module.startswith("orchestration.engine."):
                found.append(f"imports from {node.module}")
    return found


def _app_modules() -> list[Path]:
    files = [*ROOT.glob("approvals/**/*.py"), *ROOT.glob("designer/**/*.py")]
    return sorted(f for f in files if "migrations" not in f.parts)


def test_approvals_and_designer_use_only_the_public_engine_interface() -> None:
    modules = _app_modules()
    assert len(modules) > 10
    found = {
        str(f.relative_to(ROOT)): problems
        for f in modules
        if (problems := boundary_violations(f.read_text(), f.relative_to(ROOT).parts[0]))
    }

    assert found == {}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("Timer.objects.create(kind='due')", "writes or queries Timer rows (Timer.objects)"),
        (
            "from orchestration.engine.runtime import raise_incident",
            "imports from orchestration.engine.runtime",
        ),
        ("from orchestration.engine import runtime", "imports runtime from orchestration.engine"),
        ("import orchestration.engine.timers", "imports orchestration.engine.timers"),
        ("from orchestration.engine.human import _x", "imports _x from orchestration.engine.human"),
        ("from orchestration.models import _x", "imports _x from orchestration.models"),
        ("from orchestration.engine.human import Timer", "imports Timer from orchestration.engine.human"),
        (
            "from orchestration.engine.transitions import move",
            "imports move from orchestration.engine.transitions",
        ),
    ],
)
def test_the_boundary_check_catches_each_way_past_the_interface(source: str, problem: str) -> None:
    assert problem in boundary_violations(source)


def test_the_boundary_check_lets_the_public_interface_through() -> None:
    source = (
        "from orchestration.engine import human, start_instance\nfrom orchestration.engine.human import Run\n"
    )

    assert boundary_violations(source) == []


def test_a_human_task_cannot_set_an_engine_timer() -> None:
    with pytest.raises(ValueError, match="cannot set a wait timer"):
        human.schedule_step_timer(None, None, Timer.Kind.WAIT, None)  # type: ignore[arg-type]
