"""The admin looks at runtime records and acts only through engine actions, with the right permission."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from orchestration.engine import start_instance
from orchestration.models import ProcessInstance
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _staff(*codenames: str) -> Client:
    user = get_user_model().objects.create_user("clerk", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def _waiting() -> ProcessInstance:
    xml = bpmn.definitions(
        bpmn.start(), bpmn.wait_timer("wait", "P1D"), bpmn.end(), *bpmn.chain("start", "wait", "end")
    )
    return start_instance(publish(xml, key="waits"), {})


def test_cancelling_instances_from_the_admin_needs_the_change_permission() -> None:
    instance = _waiting()
    data: dict[str, Any] = {"action": "cancel_selected", "_selected_action": [str(instance.id)]}

    _staff("view_processinstance").post("/admin/orchestration/processinstance/", data)
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING

    get_user_model().objects.filter(username="clerk").delete()
    _staff("view_processinstance", "change_processinstance").post(
        "/admin/orchestration/processinstance/", data
    )
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.CANCELLED


def test_a_draft_cannot_be_edited_in_the_admin_even_by_a_superuser() -> None:
    draft = publish(bpmn.definitions(bpmn.start(), bpmn.end(), *bpmn.chain("start", "end")), key="ro")
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)

    client.post(f"/admin/orchestration/workflowversion/{draft.id}/change/", {"bpmn_xml": "<tampered/>"})

    draft.refresh_from_db()
    assert "tampered" not in draft.bpmn_xml
    assert (
        client.get(f"/admin/orchestration/workflowversion/{draft.id}/change/").status_code == 200
    )  # still viewable


def test_events_instances_and_incidents_cannot_be_added_by_hand() -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)

    for model in ("event", "processinstance", "incident"):
        assert client.get(f"/admin/orchestration/{model}/add/").status_code == 403, model


def test_other_apps_sections_read_in_plain_words_on_the_admin_index() -> None:
    admin_user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client = Client()
    client.force_login(admin_user)

    html = client.get("/admin/").content.decode()

    for name in ("API tokens", "Sign-in lockouts", "Sign-in attempts", "Failed sign-ins", "Sign-in history"):
        assert f">{name}<" in html, name
    for old in ("Auth Token", "Axes", "Access attempts", "Access failures", "Access logs", ">Tokens<"):
        assert old not in html, old
    # The sections keep their addresses: only their names changed.
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 200
