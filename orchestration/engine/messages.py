"""Message correlation: an event with a name and key resumes a waiting instance or starts one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from orchestration.engine import boundaries
from orchestration.engine.blocks import block_for
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.runtime import (
    drive_tokens,
    locked_run,
    raise_incident,
    resume_in_run,
    start_instance,
)
from orchestration.engine.start_data import clean_message_data
from orchestration.models import MessageSubscription, ProcessInstance, WorkflowVersion

if TYPE_CHECKING:
    from collections.abc import Callable

    from orchestration.bpmn.graph import Graph
    from orchestration.engine.context import Actor, Run
    from orchestration.models import Workflow


class NoSubscription(LookupError):
    """Nothing waits for this message and no workflow starts on it."""


class MessageRefused(Exception):
    """The caller may not deliver this message to the process it would reach, or its data is refused.

    ``variables`` names the variables the message tried to change, when that is the reason.
    """

    def __init__(self, message: str, variables: list[str] | None = None) -> None:
        super().__init__(message)
        self.variables = variables or []


class _Taken(Exception):
    """The subscription was consumed between finding and locking it."""


def _deliver(
    run: Run, subscription: MessageSubscription, name: str, key: str, variables: dict[str, Any]
) -> None:
    # None when a version move renamed the Wait it was for: delivered below, where that becomes an incident.
    node = run.graph["nodes"].get(subscription.node_id)
    carried = clean_message_data(node["config"].get("message_fields", []) if node else [], variables)
    # A message adds facts; it never rewrites what the process already knows (an approval, an amount).
    taken = sorted(k for k in variables if k in run.variables)
    if taken:
        raise MessageRefused(f"A message cannot change existing variables: {', '.join(taken)}.", taken)
    # A field the message left out is filled ("" for text) only where the process has no value yet.
    carried = {k: v for k, v in carried.items() if k in variables or k not in run.variables}
    step = subscription.step
    assert step is not None  # an instance's subscription always belongs to a waiting step
    suffix = f" for {key!r}" if key else ""
    received = f"Message {name!r} received{suffix}"
    if node is not None and node["kind"] == "boundary":
        # A message while the step waits: a non-interrupting one may come again, so its wait stays.
        if node["config"]["interrupting"]:
            subscription.delete()
        drive_tokens(run, boundaries.fire(run, step, subscription.node_id, why=received, variables=carried))
        return
    subscription.delete()
    if subscription.node_id == step.node_id:
        resume_in_run(run, step, carried, message=received)
    else:
        # The step waits for another block's message (the Waits after a "First event wins").
        try:
            with transaction.atomic():
                block_for(step.kind).on_caught(run, step, subscription.node_id, carried, message=received)
        except BlockError as exc:
            # The message is spent either way (a version move renamed its Wait); an operator decides.
            raise_incident(run, step, str(exc))


def correlate_message(
    name: str,
    correlation_key: str = "",
    variables: dict[str, Any] | None = None,
    *,
    actor: Actor = None,
    authorize: Callable[[Workflow], bool] | None = None,
    hand_off_after: int | None = None,
) -> ProcessInstance:
    """Deliver a message: resume the oldest instance waiting for (name, key), else start one.

    Two deliveries racing for one waiting instance resume it once; the second finds
    the next waiting instance or a message start event, or raises :class:`NoSubscription`.
    ``authorize(workflow)`` is asked about the process actually reached, with its row
    locked; False raises :class:`MessageRefused` and changes nothing. The variables may
    add new names only (:class:`MessageRefused` otherwise), and must fit the fields the
    receiving Wait or Start declares its message carries (:class:`StartDataError` naming
    each field otherwise; none declared: any names). With ``hand_off_after`` (a web request
    passes :data:`REQUEST_INLINE_BLOCKS`) at most that many blocks run here, a worker the rest.
    """
    variables = variables or {}
    for _ in range(5):
        candidate = (
            MessageSubscription.objects.filter(
                message_name=name, correlation_key=correlation_key, instance__isnull=False
            )
            .order_by("id")
            .values_list("id", "instance_id")
            .first()
        )
        if candidate is None:
            break
        subscription_id, instance_id = candidate
        try:
            with locked_run(instance_id, actor=actor, actor_label="message") as run:
                subscription = (
                    MessageSubscription.objects.select_for_update(of=("self",))
                    .select_related("step")
                    .filter(id=subscription_id)
                    .first()
                )
                if subscription is None:
                    raise _Taken  # rolls the run back untouched
                if authorize is not None and not authorize(run.instance.workflow):
                    raise MessageRefused("You may not send this message to the process waiting for it.")
                run.hand_off_after = hand_off_after
                _deliver(run, subscription, name, correlation_key, variables)
                return run.instance
        except _Taken:
            continue  # another delivery took it; look again
    starter = (
        MessageSubscription.objects.filter(
            message_name=name, version__status=WorkflowVersion.Status.PUBLISHED, instance__isnull=True
        )
        .select_related("version")
        .order_by("-version__number")
        .first()
    )
    if starter is None or starter.version is None:
        raise NoSubscription(f"No process waits for message {name!r} with key {correlation_key!r}.")
    if authorize is not None and not authorize(starter.version.workflow):
        raise MessageRefused("You may not start the workflow this message starts.")
    graph: Graph = starter.version.graph  # type: ignore[assignment]  # a published version has its graph
    start_node = graph["nodes"][starter.node_id]
    return start_instance(
        starter.version,
        clean_message_data(start_node["config"].get("message_fields", []), variables),
        initiator=actor,
        business_key=correlation_key,
        trigger="message",
        start_node=starter.node_id,
        actor_label="message",
        hand_off_after=hand_off_after,
    )
