"""The "New workflow" gallery: every template compiles, publishes and runs to people or an end."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from approvals.models import ApprovalTask
from designer.starters import STARTERS, Starter
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.definitions import current_draft, publish_version
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Step, Workflow

pytestmark = pytest.mark.django_db

User = get_user_model()

# A value each kind of start-form field accepts, as a person would type it.
_SAMPLE = {
    "string": "Sample",
    "text": "Sample text",
    "email": "someone@example.com",
    "money": "5000.00",
    "number": 5000,
    "integer": 5,
    "date": "2027-01-15",
    "boolean": True,
}


def _sample_data(graph: dict[str, Any]) -> dict[str, Any]:
    (start,) = [n for n in graph["nodes"].values() if n["kind"] == "start" and not n.get("parent")]
    data: dict[str, Any] = {}
    for field in start["config"]["fields"]:
        data[field["name"]] = field["choices"][0] if field["type"] == "choice" else _SAMPLE[field["type"]]
    return data


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.slug)
def test_every_template_compiles_without_a_problem_and_has_a_start_form(starter: Starter) -> None:
    result = compile_bpmn(starter.diagram())
    assert result.errors == [] and result.warnings == []
    assert _sample_data(result.graph), "a template starts from a form people fill"


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.slug)
def test_every_template_created_from_the_gallery_publishes_and_reaches_its_first_decision(
    starter: Starter,
) -> None:
    call_command("baton_demo", stdout=StringIO())
    admin = User.objects.get(username="admin")
    client = Client()
    client.force_login(admin)
    response = client.post(
        reverse("designer:create"), {"starter": starter.slug, "name": f"My {starter.name}"}
    )
    assert response.status_code == 302
    workflow = Workflow.objects.get(name=f"My {starter.name}")
    assert workflow.description == starter.summary
    draft = current_draft(workflow)
    assert draft is not None and draft.bpmn_xml == starter.diagram()

    version = publish_version(draft, actor=admin)
    instance = start_instance(
        version, _sample_data(version.graph), initiator=User.objects.get(username="employee")
    )
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING and not instance.has_incident
    waiting = ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN)
    queued = Step.objects.filter(instance=instance, status=Step.Status.QUEUED)
    # At 5,000 every template asks a person, or hands its first automated step to a worker.
    assert waiting.exists() or queued.exists()
    assert all(t.candidate_group_id or t.assignee_id for t in waiting)


def test_the_gallery_lists_every_template_and_preselects_one_from_the_address() -> None:
    user = User.objects.create_user("dana")
    user.user_permissions.add(Permission.objects.get(codename="add_workflow"))
    client = Client()
    client.force_login(user)
    page = client.get(reverse("designer:create") + "?starter=leave-request").content.decode()
    for starter in STARTERS:
        assert starter.name in page and escape(starter.summary) in page
    assert 'id="starter-leave-request" value="leave-request" checked' in page
    assert "BPMN" not in page.split("Advanced")[0], "technical words stay under Advanced"


def test_a_template_without_a_name_takes_the_templates_name_and_a_blank_one_needs_a_name() -> None:
    user = User.objects.create_user("dana")
    user.user_permissions.add(Permission.objects.get(codename="add_workflow"))
    client = Client()
    client.force_login(user)
    assert client.post(reverse("designer:create"), {"starter": "travel-request"}).status_code == 302
    assert Workflow.objects.filter(name="Travel request", key="travel-request").exists()
    blank = client.post(reverse("designer:create"), {"starter": ""})
    assert blank.status_code == 200 and "Give the workflow a name." in blank.content.decode()
    upload = SimpleUploadedFile("x.bpmn", STARTERS[0].diagram().encode())
    both = client.post(reverse("designer:create"), {"starter": "leave-request", "bpmn_file": upload})
    assert "Start from a template or from a file, not both." in both.content.decode()
    unknown = client.post(reverse("designer:create"), {"starter": "no-such", "name": "X"})
    assert unknown.status_code == 200 and "Choose one of the templates shown" in unknown.content.decode()
