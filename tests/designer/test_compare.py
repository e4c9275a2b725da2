"""What changed between versions: blocks and paths matched by id, said in plain words."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from designer.compare import compare
from designer.starters import starter
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.bpmn.graph import Graph
from orchestration.definitions import create_workflow, new_draft, publish_version, save_draft

TRAVEL = starter("travel-request").diagram()  # type: ignore[union-attr]


def graph(xml: str) -> Graph:
    result = compile_bpmn(xml)
    assert result.ok and result.graph is not None, result.errors
    return result.graph


def changed_travel() -> str:
    """The travel request with a dearer threshold, a renamed approval and the refusal email removed."""
    xml = TRAVEL.replace("amount &gt; 1000.0", "amount &gt; 5000.0")
    xml = xml.replace('name="Manager approval"', 'name="Line manager approval"')
    xml = xml.replace('baton:dueIn="P2D"', 'baton:dueIn="P5D"')
    return xml


def test_same_diagram_has_no_changes() -> None:
    result = compare(graph(TRAVEL), graph(TRAVEL))
    assert (
        result.changes == [] and result.summary() == "No changes to what runs; only the drawing may differ."
    )


def test_changed_settings_and_conditions_are_said_in_plain_words() -> None:
    result = compare(graph(TRAVEL), graph(changed_travel()))
    said = {(c.element_id, c.kind): (c.what, c.details, c.technical) for c in result.changes}
    assert said == {
        ("Approval_manager", "changed"): (
            "Approval “Line manager approval”",
            ["renamed from “Manager approval”", "changed: the deadline"],
            [],
        ),
        ("Flow_dear", "changed"): (
            "The path “Yes” from Decision “Costs more than 1,000?” to Approval “Line manager approval”",
            ["changed: when it is taken"],
            ["amount > 1000.0 → amount > 5000.0"],
        ),
    }
    assert result.summary() == "2 changed."
    assert result.markers() == {"added": [], "removed": [], "changed": ["Approval_manager", "Flow_dear"]}


def test_added_and_removed_blocks_and_paths_are_listed() -> None:
    old = graph(TRAVEL)
    new = graph(TRAVEL)
    new = {**new, "nodes": dict(new["nodes"]), "flows": dict(new["flows"])}  # type: ignore[assignment]
    removed = new["nodes"].pop("Notify_no")
    new["flows"].pop("Flow_to_end_no")
    new["nodes"]["Approval_director"] = {
        **new["nodes"]["Approval_manager"],
        "id": "Approval_director",
        "name": "Director approval",
    }
    result = compare(old, new)
    kinds = {(c.kind, c.what) for c in result.changes}
    assert ("added", "Approval “Director approval”") in kinds
    assert ("removed", f"Notify “{removed['name']}”") in kinds
    assert ("removed", "The path from Notify “Tell the traveller no” to End “Rejected”") in kinds
    assert result.summary() == "1 added, 2 removed."


@pytest.mark.django_db
def test_the_compare_page_lists_the_drafts_changes_against_the_live_version() -> None:
    users = get_user_model()
    owner = users.objects.create_user("dana")
    draft = create_workflow("trips", "Trips", TRAVEL, owner=owner)
    publish_version(draft, actor=owner)
    workflow = draft.workflow
    new_draft(workflow.published_version, actor=owner)  # type: ignore[arg-type]
    save_draft(workflow, changed_travel(), actor=owner)
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("designer:version-compare", args=["trips"])).content.decode()
    assert "What changed: Version 1 → Draft" in page
    assert "renamed from “Manager approval”" in page and "changed: when it is taken" in page
    versions = client.get(reverse("designer:versions", args=["trips"])).content.decode()
    assert 'data-testid="compare-draft"' in versions

    stranger = users.objects.create_user("olga")
    client.force_login(stranger)
    assert client.get(reverse("designer:version-compare", args=["trips"])).status_code == 404
    client.force_login(owner)
    assert client.get(reverse("designer:version-compare", args=["trips"]) + "?from=9").status_code == 404
    # "²" passes str.isdigit but not int().
    for query in (
        "?from=x",
        "?to=x",
        "?to=1.5",
        "?to=-1",
        "?to=1&from=1e9",
        "?to=%C2%B2",
        "?to=1&from=%C2%B2",
    ):
        assert client.get(reverse("designer:version-compare", args=["trips"]) + query).status_code == 404
