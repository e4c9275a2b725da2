"""Approval: wait for people; the human task provider creates and completes the tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from orchestration.bpmn.context import Subject, baton_attr
from orchestration.durations import parse_duration
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.engine.blocks.start import read_form_fields
from orchestration.engine.human import PATH_OUTCOMES, outcome_paths, provider
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.models import Step

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import FormField, Node
    from orchestration.engine.context import Run

_ASSIGNEE_RULES = ("user", "group", "manager", "authority_chain", "from_data", "group_from_data")
# Rules whose approver is computed when the step starts: ``assignee_expression`` gives a username or group name.
FROM_DATA_RULES = frozenset({"from_data", "group_from_data"})


class UserTaskConfig(TypedDict):
    """An Approval: who decides, by when, and what the decision is stored as."""

    assignee_rule: str  # "user" | "group" | "manager" | "authority_chain" | "from_data" | "group_from_data"
    assignee: str  # username
    assignee_expression: str  # CEL giving a username (from_data) or a group name (group_from_data)
    groups: list[str]  # group names
    due_in: str  # ISO 8601 duration or ""
    reminder_in: str  # ISO 8601 duration or ""
    escalate_to: str
    quorum: str  # "any" | "all"
    amount_expression: str  # CEL giving the amount compared with approval limits
    result_variable: str
    fields: list[FormField]  # what the approver fills in: each a variable later blocks read
    outcomes: dict[str, str]  # decision -> the path it takes; empty: every decision goes on every path


def read(el: etree._Element, ctx: ReadContext) -> UserTaskConfig | None:
    """A userTask with Baton's assignee, due date, escalation and quorum settings."""
    subject = ctx.subject(el)
    assignee = baton_attr(el, "assignee")
    groups = [g.strip() for g in baton_attr(el, "candidateGroups").split(",") if g.strip()]
    rule = baton_attr(el, "assigneeRule")
    expression = baton_attr(el, "assigneeExpression")
    lane = ctx.lane_of(subject.id)
    if rule and rule not in _ASSIGNEE_RULES:
        ctx.error(subject, f'has unknown assignee rule "{rule}"; use one of {", ".join(_ASSIGNEE_RULES)}.')
    if not rule:
        rule = "user" if assignee else "group" if groups or lane else ""
    if rule == "group" and not groups and lane:
        groups = [lane]  # the lane says who does the work
    if not rule:
        ctx.error(
            subject,
            "has no assignee: choose a user, a group, the requester's manager, the authority chain, "
            "or a person or group named in the request's data.",
        )
    elif rule == "user" and not assignee:
        ctx.error(subject, "is assigned to a user but names none.")
    elif rule == "group" and not groups:
        ctx.error(subject, "is assigned to a group but names none.")
    elif rule in FROM_DATA_RULES and not expression:
        who = "person" if rule == "from_data" else "group"
        ctx.error(subject, f"takes its {who} from the request's data but does not say from where.")
    elif rule in FROM_DATA_RULES:
        what = "person who decides" if rule == "from_data" else "group that decides"
        ctx.check_expression(subject, what, expression, expect="text")
    due_in = _duration(el, "dueIn", subject, ctx)
    reminder_in = _duration(el, "reminderIn", subject, ctx)
    escalate_to = baton_attr(el, "escalateTo")
    if escalate_to and not due_in:
        ctx.warn(subject, "escalates on timeout but has no due date, so it never escalates.")
    quorum = baton_attr(el, "quorum") or "any"
    if quorum not in ("any", "all"):
        ctx.error(subject, f'has quorum "{quorum}"; use "any" or "all".')
    result_variable = baton_attr(el, "resultVariable") or "approval"
    if ctx.variable_name_ok(result_variable, subject, "result variable"):
        ctx.declare(result_variable, "map", subject)
    fields = read_form_fields(el, subject, ctx)
    return {
        "assignee_rule": rule,
        "assignee": assignee,
        "assignee_expression": expression if rule in FROM_DATA_RULES else "",
        "groups": groups,
        "due_in": due_in,
        "reminder_in": reminder_in,
        "escalate_to": escalate_to,
        "quorum": quorum,
        "amount_expression": baton_attr(el, "amount"),
        "result_variable": result_variable,
        "fields": fields,
        "outcomes": {},
    }


def connect(node: Node, ctx: ReadContext) -> None:
    """Paths drawn per decision: one for each decision at most, one for "approved" at least.

    An Approval whose paths carry no decision sends every decision on every path (as
    before decisions had paths); once one does, all of them must.
    """
    subject = ctx.subject_of(node)
    taken: dict[str, str] = {}
    unmarked = []
    for flow_id in node["outgoing"]:
        flow = ctx.flows[flow_id]
        outcome = flow.get("outcome")
        if outcome is None:
            unmarked.append(flow_id)
        elif outcome not in PATH_OUTCOMES:
            ctx.error(
                Subject(flow_id, flow["name"], "Flow"),
                f'is taken for "{outcome}", which is not a decision: use {_words()}.',
            )
        elif outcome in taken:
            ctx.error(subject, f"has two paths for {PATH_OUTCOMES[outcome]}: keep one.")
        else:
            taken[outcome] = flow_id
    if not taken:
        return
    if "approved" not in taken:
        ctx.error(subject, "has paths for some decisions but none for Approved: add a path for Approved.")
    for flow_id in unmarked:
        flow = ctx.flows[flow_id]
        ctx.error(
            Subject(flow_id, flow["name"], "Flow"),
            f"leaves {subject.text()} without saying which decision takes it: choose {_words()}.",
        )
    if "loop" in node:
        ctx.error(subject, "runs once per item, so its decisions cannot each take their own path.")
    node["config"]["outcomes"] = taken


def _words() -> str:
    words = list(PATH_OUTCOMES.values())
    return ", ".join(words[:-1]) + f" or {words[-1]}"


def _duration(el: etree._Element, name: str, subject: Subject, ctx: ReadContext) -> str:
    value = baton_attr(el, name)
    if value and parse_duration(value) is None:
        ctx.error(
            subject,
            f'{name} "{value}" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).',
        )
    return value


def check(node: Node, ctx: ReadContext) -> None:
    """The amount compared with approval limits: ``amount`` when the form has a numeric one."""
    config = node["config"]
    subject = ctx.subject_of(node)
    numeric = ctx.variables.get("amount") in ("number", "integer", "dyn")
    if not config["amount_expression"] and numeric:
        config["amount_expression"] = "amount"
    if config["amount_expression"]:
        ctx.check_expression(subject, "amount", config["amount_expression"], expect="number")
    elif config["assignee_rule"] == "authority_chain":
        ctx.error(subject, "follows the authority chain but has no amount to compare with approval limits.")


class UserTaskBlock(Block):
    kind = "user_task"
    waits = True
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        move(step, Step.Status.WAITING)
        write_step(run, step, ["status"])
        provider().create_tasks(run, step, node)
        return None

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        from orchestration.models import Timer

        timer = Timer.objects.get(id=payload["timer_id"])
        provider().on_timer(run, step, timer)

    def cancel(self, run: Run, step: Step) -> None:
        if step.status == Step.Status.WAITING:
            provider().cancel_tasks(run, step)  # the tasks leave the approvers' inboxes

    def skip_flows(self, node: Node) -> list[str]:
        # Skipping an Approval lets the request go on as if approved.
        paths = outcome_paths(node)
        return [paths["approved"]] if "approved" in paths else list(node["outgoing"])

    def may_have_timers(self, node: Node) -> bool:
        # The approvals app sets a step's timers from these settings only (human.schedule_step_timer).
        return bool(node["config"].get("due_in") or node["config"].get("reminder_in"))


KIND = Kind(
    name="user_task",
    label="Approval",
    element="userTask",
    config=UserTaskConfig,
    read=read,
    connect=connect,
    check=check,
    path_outcomes=tuple(PATH_OUTCOMES),
    boundary_events=frozenset({"timer", "message"}),
    loops=True,
    block=UserTaskBlock(),
    palette=PaletteEntry(
        key="approval",
        label="Approval",
        type="bpmn:UserTask",
        icon="bpmn-icon-user-task",
        group="work",
        hint="Someone approves or rejects",
        append=1,
    ),
)
