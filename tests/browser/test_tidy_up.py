"""Tidy up in a real browser: a jumbled diagram is laid out with no block on another and no path
through a block, saved like any edit, and one Undo puts it back."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from designer.starters import starter
from orchestration.definitions import create_workflow, current_draft
from orchestration.models import Workflow
from tests.conftest import wait_for

pytestmark = pytest.mark.backend_neutral


def jumbled() -> str:
    """The travel request with every block drawn at nearly the same place (paths through blocks)."""
    xml = starter("travel-request").diagram()  # type: ignore[union-attr]
    count = iter(range(100))

    def pile(match: re.Match[str]) -> str:
        n = next(count)
        return (
            f'<dc:Bounds x="{200 + 15 * n}" y="{200 + 10 * (n % 3)}" width="{match[1]}" height="{match[2]}"'
        )

    return re.sub(r'<dc:Bounds x="[\d.-]+" y="[\d.-]+" width="([\d.]+)" height="([\d.]+)"', pile, xml)


def layout(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const registry = window.batonModeler.get('elementRegistry');
          const shapes = registry.filter((e) => !e.waypoints && !e.labelTarget && e.type !== 'bpmn:Process')
            .map((e) => ({ id: e.id, x: e.x, y: e.y, w: e.width, h: e.height }));
          const paths = registry.filter((e) => e.waypoints)
            .map((e) => ({ id: e.id, source: e.source.id, target: e.target.id, points: e.waypoints.map((p) => [p.x, p.y]) }));
          const labels = registry.filter((e) => e.labelTarget).map((e) => {
            const t = e.labelTarget, box = t.waypoints ? null : t;
            const host = box ? { x: box.x + box.width / 2, y: box.y + box.height / 2 }
              : t.waypoints.reduce((a, p) => ({ x: a.x + p.x / t.waypoints.length, y: a.y + p.y / t.waypoints.length }), { x: 0, y: 0 });
            return { id: t.id, distance: Math.hypot(e.x + e.width / 2 - host.x, e.y + e.height / 2 - host.y) };
          });
          return { shapes, paths, labels };
        }"""
    )


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def crosses(points: list[list[float]], box: dict[str, Any]) -> bool:
    """Whether a path of horizontal and vertical segments runs through the inside of ``box``."""
    left, right, top, bottom = box["x"] + 2, box["x"] + box["w"] - 2, box["y"] + 2, box["y"] + box["h"] - 2
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        if y1 == y2 and top < y1 < bottom and min(x1, x2) < right and max(x1, x2) > left:
            return True
        if x1 == x2 and left < x1 < right and min(y1, y2) < bottom and max(y1, y2) > top:
            return True
    return False


def test_tidy_up_lays_a_jumbled_diagram_out_saves_it_and_one_undo_takes_it_back(
    demo, login, screenshot
) -> None:
    admin = get_user_model().objects.get(username="admin")
    create_workflow("trips", "Trips", jumbled(), owner=admin)
    page = login("admin")
    page.goto("/designer/trips/")
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-ready", "true")
    before = layout(page)
    shapes = before["shapes"]
    assert any(overlaps(a, b) for i, a in enumerate(shapes) for b in shapes[i + 1 :]), (
        "the test starts jumbled"
    )

    page.get_by_test_id("tidy").click()
    after = layout(page)
    shapes = after["shapes"]
    assert not [(a["id"], b["id"]) for i, a in enumerate(shapes) for b in shapes[i + 1 :] if overlaps(a, b)]
    by_id = {s["id"]: s for s in shapes}
    through = [
        (p["id"], s["id"])
        for p in after["paths"]
        for s in shapes
        if s["id"] not in (p["source"], p["target"]) and crosses(p["points"], s)
    ]
    assert through == []
    assert [(label["id"], label["distance"]) for label in after["labels"] if label["distance"] > 120] == []
    assert by_id["Start_trip"]["x"] < by_id["Approval_manager"]["x"] < by_id["End_approved"]["x"]
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    workflow = Workflow.objects.get(key="trips")
    wait_for(lambda: current_draft(workflow).bpmn_xml != jumbled(), what="the tidied diagram saved")  # type: ignore[union-attr]
    screenshot(page, "tidied")

    page.get_by_role("button", name="Undo").click()
    restored = {s["id"]: (s["x"], s["y"]) for s in layout(page)["shapes"]}
    assert restored == {s["id"]: (s["x"], s["y"]) for s in before["shapes"]}
