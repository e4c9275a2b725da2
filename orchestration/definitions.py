"""Actions on definitions: create workflows, save drafts, publish and retire versions."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from guardian.shortcuts import assign_perm

from orchestration.bpmn.compiler import CompileResult, Problem, compile_bpmn
from orchestration.engine.timers import schedule_version
from orchestration.models import Event, MessageSubscription, Timer, Workflow, WorkflowVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

WORKFLOW_PERMISSIONS = (
    "view_workflow",
    "change_workflow",
    "design_workflow",
    "publish_workflow",
    "start_workflow",
)


class DefinitionError(Exception):
    """The diagram cannot be published; ``problems`` lists every error by element."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class DraftConflict(Exception):
    """Someone saved the draft since the editor loaded it."""

    def __init__(self, current: WorkflowVersion) -> None:
        who = current.updated_by.get_username() if current.updated_by else "someone else"
        super().__init__(f"The draft was changed by {who} (revision {current.revision}).")
        self.current = current


def _user(actor: AbstractBaseUser | None) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


def workflow_event(
    workflow: Workflow, kind: str, message: str, actor: AbstractBaseUser | None, **data: Any
) -> Event:
    """Write an audit event about ``workflow`` done by ``actor`` (None or anonymous: nobody)."""
    user: Any = actor if actor is not None and actor.is_authenticated else None
    return Event.objects.create(
        workflow=workflow,
        kind=kind,
        actor=user,
        actor_label=user.get_username() if user else "",
        message=message,
        data=data,
    )


def _checksum(xml: str) -> str:
    return hashlib.sha256(xml.encode()).hexdigest()


# What a new workflow holds when created without a diagram: one Start, as bpmn.io begins.
_BLANK_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
id="Definitions_1" targetNamespace="http://baton.dev/workflows">
  <bpmn:process id="Process_{key}" name={name} isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="Start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_{key}">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def blank_diagram(key: str, name: str) -> str:
    """A diagram with one Start, for a new workflow ``key`` called ``name``."""
    process = re.sub(r"[^A-Za-z0-9_]", "_", key)
    return _BLANK_DIAGRAM.format(key=process, name=quoteattr(name))


@transaction.atomic
def create_workflow(
    key: str, name: str, bpmn_xml: str, *, owner: AbstractBaseUser | None = None, description: str = ""
) -> WorkflowVersion:
    """Create a workflow with its first draft; the owner gets every workflow permission."""
    workflow = Workflow.objects.create(key=key, name=name, description=description, owner=_user(owner))
    draft = WorkflowVersion.objects.create(
        workflow=workflow, bpmn_xml=bpmn_xml, checksum=_checksum(bpmn_xml), created_by=_user(owner)
    )
    if _user(owner):
        for perm in WORKFLOW_PERMISSIONS:
            assign_perm(f"orchestration.{perm}", owner, workflow)
    workflow_event(workflow, "workflow.created", f"Workflow {name} created", owner)
    return draft


def current_draft(workflow: Workflow) -> WorkflowVersion | None:
    return workflow.versions.filter(status=WorkflowVersion.Status.DRAFT).order_by("-id").first()


@transaction.atomic
def save_draft(
    workflow: Workflow,
    bpmn_xml: str,
    *,
    actor: AbstractBaseUser | None = None,
    expected_revision: int | None = None,
) -> tuple[WorkflowVersion, CompileResult]:
    """Store ``bpmn_xml`` as the workflow's draft (created from scratch if none) and validate it.

    A draft may hold errors; they come back in the result. ``expected_revision``
    guards against overwriting another editor's save (:class:`DraftConflict`).
    """
    # The workflow row serializes saves: with no draft yet there is no draft row to lock, and two
    # first saves would each start one.
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    draft = (
        WorkflowVersion.objects.select_for_update(of=("self",))
        .select_related("updated_by")
        .filter(workflow=workflow, status=WorkflowVersion.Status.DRAFT)
        .order_by("-id")
        .first()
    )
    if draft is None:
        draft = WorkflowVersion(workflow=workflow, created_by=_user(actor), revision=0)
    elif expected_revision is not None and draft.revision != expected_revision:
        raise DraftConflict(draft)
    result = compile_bpmn(bpmn_xml)
    draft.bpmn_xml = bpmn_xml
    draft.graph = result.graph
    draft.checksum = _checksum(bpmn_xml)
    draft.revision += 1
    draft.updated_by = _user(actor)
    draft.save()
    return draft, result


def _summary(previous: WorkflowVersion | None, graph: dict[str, Any]) -> str:
    if previous is None or not previous.graph:
        return f"First version: {len(graph['nodes'])} blocks."
    old, new = previous.graph["nodes"], graph["nodes"]
    added = [new[n]["name"] or n for n in new if n not in old]
    removed = [old[n]["name"] or n for n in old if n not in new]
    changed = [new[n]["name"] or n for n in new if n in old and new[n] != old[n]]
    old_flows, new_flows = previous.graph["flows"], graph["flows"]
    rewired = set(old_flows) ^ set(new_flows) or any(old_flows[f] != new_flows[f] for f in new_flows)
    parts = []
    for label, names in (("Added", added), ("Removed", removed), ("Changed", changed)):
        if names:
            parts.append(f"{label}: {', '.join(sorted(names))}.")
    if rewired and not parts:
        parts.append("Connections changed.")
    return " ".join(parts) or "No changes to blocks."


@transaction.atomic
def publish_version(
    draft: WorkflowVersion, *, actor: AbstractBaseUser | None = None, expected_revision: int | None = None
) -> WorkflowVersion:
    """Compile, validate and freeze ``draft`` as the next version; retire the one before.

    Raises :class:`DefinitionError` listing every problem. ``expected_revision`` is
    the revision the publisher saw: a draft saved since is refused with
    :class:`DraftConflict`, checked under the workflow and draft row locks (taken in
    :func:`save_draft`'s order), so no save can slip in between the check and the
    publication. Running instances keep their version; new starts use this one.
    Schedules and message starts of the retired version stop; this version's start.
    """
    Workflow.objects.select_for_update().filter(pk=draft.workflow_id).first()
    draft = (
        WorkflowVersion.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=draft.pk)
    )
    if draft.status != WorkflowVersion.Status.DRAFT:
        raise DefinitionError([Problem(None, "", "Only a draft can be published.")])
    if expected_revision is not None and draft.revision != expected_revision:
        raise DraftConflict(draft)
    result = compile_bpmn(draft.bpmn_xml)
    if not result.ok or result.graph is None:
        raise DefinitionError(result.errors)
    workflow = draft.workflow
    previous = workflow.published_version
    now = timezone.now()
    number = (workflow.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    if previous is not None:
        previous.status = WorkflowVersion.Status.RETIRED
        previous.save(update_fields=["status", "updated_at"])
        Timer.objects.filter(version=previous, fired_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=now
        )
        MessageSubscription.objects.filter(version=previous).delete()
    draft.graph = result.graph
    draft.number = number
    draft.status = WorkflowVersion.Status.PUBLISHED
    draft.published_at = now
    draft.published_by = _user(actor)
    draft.checksum = _checksum(draft.bpmn_xml)
    draft.change_summary = _summary(previous, result.graph)  # type: ignore[arg-type]
    draft.save()
    schedule_version(draft, now)
    for node_id in result.graph["start_nodes"]:
        config = result.graph["nodes"][node_id]["config"]
        if config.get("trigger") == "message":
            MessageSubscription.objects.create(message_name=config["message"], version=draft, node_id=node_id)
    workflow_event(workflow, "version.published", f"Version {number} published", actor, version=number)
    return draft


@transaction.atomic
def new_draft(source: WorkflowVersion, *, actor: AbstractBaseUser | None = None) -> WorkflowVersion:
    """Start a new draft from any version (replacing the current draft's content)."""
    draft, _ = save_draft(source.workflow, source.bpmn_xml, actor=actor)
    return draft
