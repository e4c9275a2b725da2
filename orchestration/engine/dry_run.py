"""Dry runs: a draft tried with sample data (test run) or with recent requests (replay).

The same engine and block code runs as for a real request, inside a transaction that is
always rolled back: nothing it writes survives, and ``transaction.on_commit`` callbacks
(Celery messages, emails, the outbox's publishing) never fire. Where a real run would
wait for the outside world, the dry run answers in the same transaction, through the
engine's own entry points:

- an Automated step or Notify is queued as usual, then completed (or failed) with a
  sample answer or a recorded one, as a worker would after running the connector;
- an Approval creates its tasks as usual (in a savepoint, through a stand-in provider that
  notes who would decide and lets a test run go on when nobody is found), then its step
  is resumed with the decision given or recorded; "Request changes" sends it back, and the
  tester resubmits it as the requester would (the start form's values, changed or not),
  after which it is routed again;
- a Wait's timer is fired as the ticker would ("Skip the wait").

HTTP requests are stateless, so a test run is driven again from the start on each call
from the start data and the answers given so far, keyed by block id and visit number
(``"Approve_1#1"``). Each dry run is one short transaction (on SQLite, one IMMEDIATE
write transaction), so a replay of many requests never holds the write lock for long.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from django.db import transaction
from django.utils import timezone

from orchestration.bpmn.compiler import CompileResult, compile_bpmn
from orchestration.connectors import ai, registry
from orchestration.definitions import current_draft
from orchestration.engine import human, runtime, timers
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.blocks.exclusive import PATH, REASON, chosen_words, decided_by_ai
from orchestration.engine.context import trying
from orchestration.engine.worker import claim_step, complete_step, fail_step
from orchestration.models import Event, ProcessInstance, Step, Timer, Workflow, WorkflowVersion
from orchestration.step_names import step_label, step_titles

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from orchestration.bpmn.graph import Graph, Node
    from orchestration.engine.context import Run

__all__ = [
    "ANSWER_KINDS",
    "DECISIONS",
    "DEFAULT_REPLAY",
    "MAX_REPLAY",
    "Answer",
    "BadAnswer",
    "BadResubmission",
    "DryRun",
    "Question",
    "ReplayGroup",
    "ReplayReport",
    "Trail",
    "answer_json",
    "diagram_to_try",
    "parse_answers",
    "recent_requests",
    "replay",
    "trail",
    "try_draft",
]

DECISIONS = ("approved", "rejected", "changes_requested")
AnswerKind = Literal["decision", "output", "fail", "skip", "resubmit"]
ANSWER_KINDS: tuple[AnswerKind, ...] = ("decision", "output", "fail", "skip", "resubmit")
DEFAULT_REPLAY = 50
MAX_REPLAY = 200
# A test run answers at most this many waits: a draft that loops forever stops here.
_MAX_ANSWERS = 500
# Nor does it answer for longer than this: its transaction holds locks (on SQLite, the one write
# lock, which others wait for 30 s at most). Measured ~0.1 s per answer on a busy 2-core machine.
_TIME_BUDGET_SECONDS = 10.0
_CUT_SHORT = "the test run stopped here: it took too long (try it with fewer rounds)"
_CONNECTOR_KINDS = ("service_task", "send_task")
_TESTER = "you (test)"
_AT = re.compile(r"^[A-Za-z_][\w.-]{0,200}#[1-9][0-9]{0,4}$")
_MAX_OUTPUT_CHARS = 20_000
_RESULT_KEY = re.compile(r"\bresult\.([A-Za-z_]\w*)")


class BadAnswer(ValueError):
    """An answer given to a test run is malformed; ``field`` names what (``answers[2].outcome``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class BadResubmission(BadAnswer):
    """A test run's resubmitted request does not fit the start form; ``errors`` maps field name to messages."""

    def __init__(self, index: int, errors: dict[str, list[str]]) -> None:
        words = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        super().__init__(f"answers[{index}].data", words)
        self.index = index
        self.errors = errors


def parse_answers(raw: Any) -> list[Answer]:
    """The answers of a test run from JSON (a list of objects); :class:`BadAnswer` names a bad field."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > _MAX_ANSWERS:
        raise BadAnswer("answers", f"Give a list of at most {_MAX_ANSWERS} answers.")
    answers = []
    for index, item in enumerate(raw):
        where = f"answers[{index}]"
        if not isinstance(item, dict):
            raise BadAnswer(where, "Each answer is an object with at least at and kind.")
        at, kind = item.get("at"), item.get("kind")
        if not isinstance(at, str) or not _AT.match(at):
            raise BadAnswer(
                f"{where}.at", "Say which step it answers, as its block id and visit: Approve_1#1."
            )
        if kind not in ANSWER_KINDS:
            raise BadAnswer(f"{where}.kind", f"Choose one of: {', '.join(ANSWER_KINDS)}.")
        outcome = item.get("outcome", "")
        if kind == "decision" and outcome not in DECISIONS:
            raise BadAnswer(f"{where}.outcome", f"Choose one of: {', '.join(DECISIONS)}.")
        output = item.get("output", {})
        if not isinstance(output, dict) or len(str(output)) > _MAX_OUTPUT_CHARS:
            raise BadAnswer(
                f"{where}.output", "Give the answer as an object of named values (not too large)."
            )
        data = item.get("data", {})
        if not isinstance(data, dict) or len(str(data)) > _MAX_OUTPUT_CHARS:
            raise BadAnswer(
                f"{where}.data", "Give the request's values as an object of named values (not too large)."
            )
        texts = {}
        for name in ("comment", "code"):
            value = item.get(name, "")
            if not isinstance(value, str) or len(value) > 2000:
                raise BadAnswer(f"{where}.{name}", "Give a text of at most 2000 characters.")
            texts[name] = value
        answers.append(
            Answer(
                at,
                kind,
                outcome=outcome if kind == "decision" else "",
                output=output,
                comment=texts["comment"],
                code=texts["code"],
                data=data if kind == "resubmit" else {},
            )
        )
    return answers


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as the test run's JSON takes it back."""
    item: dict[str, Any] = {"at": answer.at, "kind": answer.kind}
    for name in ("outcome", "comment", "code"):
        if getattr(answer, name):
            item[name] = getattr(answer, name)
    if answer.output:
        item["output"] = answer.output
    if answer.kind == "resubmit":
        item["data"] = answer.data
    return item


class Trail(TypedDict):
    """The blocks and paths a run went through, and where it is now (what the canvas marks)."""

    visited: list[str]
    flows: list[str]
    current: list[str]
    incidents: list[str]


def trail(steps: Iterable[Step]) -> Trail:
    """The blocks ``steps`` (in order) visited, the paths their tokens took, and the open ones."""
    marks: Trail = {"visited": [], "flows": [], "current": [], "incidents": []}
    for step in steps:
        if step.incoming_flow and step.incoming_flow not in marks["flows"]:
            marks["flows"].append(step.incoming_flow)
        if step.is_open:
            marks["current"].append(step.node_id)
            if step.status == Step.Status.INCIDENT:
                marks["incidents"].append(step.node_id)
        elif step.node_id not in marks["visited"]:
            marks["visited"].append(step.node_id)
    return marks


@dataclass(frozen=True)
class Answer:
    """What stands in for people or a system at one visit of a block (``at`` = ``"<block id>#<visit>"``).

    ``decision``: an Approval decided ``outcome`` with ``comment``; ``output``: an Automated step
    answered ``output``; ``fail``: it failed (with a business error ``code``, or none);
    ``skip``: a Wait (or a deadline) let pass at once; ``resubmit``: the requester sends an
    Approval's request back after changes were requested, with the start form's ``data``
    (the fields left out keep their values).
    """

    at: str
    kind: AnswerKind
    outcome: str = ""
    comment: str = ""
    output: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # Recorded answers (replay): the variables the original step set, used as they were.
    recorded: dict[str, Any] | None = None


@dataclass
class Question:
    """A wait the dry run reached without an answer: what it asks, in words."""

    at: str
    node_id: str
    name: str
    ask: Literal["decision", "output", "path", "wait", "resubmit"]
    text: str
    example: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error_codes: dict[str, str] = field(default_factory=dict)
    can_fail: bool = False
    paths: list[str] = field(default_factory=list)  # a Decision the AI decides: the names it chooses among
    by_ai: bool = False  # an Ask AI step's answer: the tester answers for the AI, not for a system


@dataclass
class DryRun:
    """Where a dry run went: the steps in order (detached rows), lines in words, and what it waits for."""

    steps: list[Step]
    lines: list[dict[str, str]]
    questions: list[Question]
    status: str
    outcome: str
    stopped_at: list[str]  # blocks with a problem (incident)

    def as_json(self, data: dict[str, Any], answers: list[Answer]) -> dict[str, Any]:
        """What the designer and the API show: the lines, the questions, the canvas marks, the state to send back."""
        return {
            "status": self.status,
            "outcome": self.outcome,
            "finished": self.status != ProcessInstance.Status.RUNNING,
            "lines": self.lines,
            "questions": [asdict(q) for q in self.questions],
            "trail": trail(self.steps),
            "data": data,
            "answers": [answer_json(a) for a in answers],
        }


class _StandInTasks:
    """The human task provider during a dry run: the real one, noting who would decide.

    A test run goes on when the real rules find nobody (the tester decides anyway): what they
    said is kept as the step's note.
    """

    def __init__(self, real: human.HumanTaskProvider, *, route: bool = True) -> None:
        self.real = real
        self.route = route
        self.notes: dict[int, str] = {}

    def create_tasks(self, run: Run, step: Step, node: Node) -> None:
        if not self.route:
            return  # a replay: the recorded decision stands in for whoever decided
        try:
            with transaction.atomic():
                self.real.create_tasks(run, step, node)
        except BlockError as exc:
            self.notes[step.pk] = f"nobody found to decide: {exc}"
            return
        holders = [t["holder"] for t in self.real.describe(step)["tasks"] if t.get("holder")]
        if holders:
            self.notes[step.pk] = "would go to " + ", ".join(holders)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


# --- one dry run ---------------------------------------------------------------------------


def _stand_in_version(workflow: Workflow, xml: str, graph: Graph) -> WorkflowVersion:
    """A draft row holding the diagram tried (the instance points at it); rolled back with the rest."""
    return WorkflowVersion.objects.create(
        workflow=workflow,
        status=WorkflowVersion.Status.DRAFT,
        bpmn_xml=xml,
        graph=graph,
        checksum=hashlib.sha256(xml.encode()).hexdigest(),
    )


def _dry(
    workflow: Workflow,
    xml: str,
    graph: Graph,
    data: dict[str, Any],
    answer_for: Callable[[Step, str], Answer | None],
    *,
    initiator: AbstractBaseUser | None,
    tester: str,
) -> DryRun:
    """Start an instance of ``graph`` with ``data``, answer its waits with ``answer_for``, roll everything back."""
    # A test run routes each approval as people would (to say who decides); a replay has their decisions.
    tasks = _StandInTasks(human.configured_provider(), route=tester == _TESTER)
    # Its requests get stand-in numbers: a rolled-back nextval would leave a gap in the real ones.
    with transaction.atomic(), human.stand_in(tasks), trying():
        try:
            version = _stand_in_version(workflow, xml, graph)
            instance = runtime._create_and_drive(
                version,
                data,
                initiator=initiator,
                business_key="",
                trigger="manual",
                start_node=None,
                actor_label="test run",
                parent_step=None,
            )
            notes = _answer(instance, graph, answer_for, initiator=initiator, tester=tester)
            return _describe(instance.pk, graph, {**tasks.notes, **notes})
        finally:
            transaction.set_rollback(True)


def _visits(steps: Iterable[Step]) -> dict[int, str]:
    """Each step's key: its block id and which visit of that block it is (``"Task_1#2"``)."""
    seen: Counter[str] = Counter()
    keys = {}
    for step in steps:
        seen[step.node_id] += 1
        keys[step.pk] = f"{step.node_id}#{seen[step.node_id]}"
    return keys


def _answer(
    instance: ProcessInstance,
    graph: Graph,
    answer_for: Callable[[Step, str], Answer | None],
    *,
    initiator: AbstractBaseUser | None,
    tester: str,
) -> dict[int, str]:
    """Answer the instance's waits one at a time until none has an answer; notes by step id."""
    notes: dict[int, str] = {}
    deadline = time.monotonic() + _TIME_BUDGET_SECONDS
    for _ in range(_MAX_ANSWERS):
        steps = list(Step.objects.filter(instance=instance).order_by("id"))
        keys = _visits(steps)
        open_steps = [s for s in steps if s.status in Step.OPEN_STATUSES and s.status != Step.Status.INCIDENT]
        if open_steps and time.monotonic() > deadline:
            notes.update(dict.fromkeys((s.pk for s in open_steps), _CUT_SHORT))
            break
        if not open_steps or not _answer_one(instance, graph, open_steps, keys, answer_for, notes, tester):
            break
    return notes


def _answer_one(
    instance: ProcessInstance,
    graph: Graph,
    open_steps: list[Step],
    keys: dict[int, str],
    answer_for: Callable[[Step, str], Answer | None],
    notes: dict[int, str],
    tester: str,
) -> bool:
    """Answer the first open step that can be answered now; whether one was."""
    now = timezone.now()
    for step in open_steps:
        # Timers already due fire as the ticker would (a finished sub-process wakes its caller).
        due = Timer.objects.filter(
            step=step, fired_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now
        )
        timer = due.order_by("due_at").first()
        if timer is not None:
            timers._fire(timer.id, instance.pk, now)
            return True
        answer = answer_for(step, keys[step.pk])
        if answer is None or not _fits(step, answer):
            continue
        _apply(instance, graph, step, answer, notes, tester)
        return True
    return False


def _fits(step: Step, answer: Answer) -> bool:
    """Whether ``answer`` can answer ``step`` (a draft may have changed what waits at a block)."""
    if step.kind in _CONNECTOR_KINDS or (step.kind == "exclusive" and step.status == Step.Status.QUEUED):
        # An Automated step, or a Decision waiting for the AI: answered as a worker would report.
        return answer.kind in ("output", "fail") and step.status == Step.Status.QUEUED
    if answer.kind == "skip":
        return step.status == Step.Status.WAITING
    if step.kind != "user_task" or step.status != Step.Status.WAITING:
        return False
    # Sent back, it waits for the requester's resubmission; otherwise for a decision.
    if answer.kind == "resubmit":
        return _sent_back(step)
    return answer.kind == "decision" and not _sent_back(step)


# The events a real send-back and resubmission write (approvals' actions); the dry run writes the same.
_SENT_BACK = "task.changes_requested"
_RESUBMITTED = "request.resubmitted"


def _sent_back(step: Step) -> bool:
    """Whether the Approval ``step`` was sent back to its requester and not resubmitted since."""
    last = (
        Event.objects.filter(step=step, kind__in=(_SENT_BACK, _RESUBMITTED))
        .order_by("-id")
        .values_list("kind", flat=True)
        .first()
    )
    return last == _SENT_BACK


class _Refused(Exception):
    """A resubmitted request's data does not fit the start form (the caller names the answer)."""

    def __init__(self, answer: Answer, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.answer = answer
        self.errors = errors


def _start_fields(graph: Graph) -> list[dict[str, Any]]:
    """The fields of the start form a requester fills in (none when the draft has no form start)."""
    try:
        node = graph["nodes"][runtime.start_node_for(graph, "manual")]
    except runtime.StartDataError:
        return []
    return list(node["config"].get("fields", []))


def _send_back(
    instance: ProcessInstance, step: Step, answer: Answer, notes: dict[int, str], tester: str
) -> None:
    """As an approver's "Request changes": the step's tasks close and its timers stop; it waits for the requester."""
    with runtime.locked_run(instance.pk, actor_label="test run") as run:
        waiting = human.lock_waiting_step(run, step.pk)
        human.provider().cancel_tasks(run, waiting)
        human.cancel_step_timers(run, waiting)
        words = (
            "changes requested"
            + (f" by {tester}" if tester else "")
            + (f" — {answer.comment}" if answer.comment else "")
        )
        run.event(_SENT_BACK, words, step=waiting)
    notes[step.pk] = words


def _resubmit(
    instance: ProcessInstance, graph: Graph, step: Step, answer: Answer, notes: dict[int, str]
) -> None:
    """As the requester's resubmission: the start form's values checked and set, then the Approval routes again."""
    with runtime.locked_run(instance.pk, actor_label="test run") as run:
        waiting = human.lock_waiting_step(run, step.pk)
        fields = {f["name"] for f in _start_fields(graph)}
        current = {k: v for k, v in run.variables.items() if k in fields}
        given = {k: v for k, v in answer.data.items() if k in fields}
        try:
            node = graph["nodes"][runtime.start_node_for(graph, "manual")]
            values = human.check_start_data(node, {**current, **given}) if fields else {}
        except runtime.StartDataError as exc:
            raise _Refused(answer, exc.errors) from None
        run.set_variables(values, waiting)
        run.event(_RESUBMITTED, "Request updated and resubmitted (test)", step=waiting)
        # The stand-in notes again who would decide now (the amount may have changed).
        notes.pop(step.pk, None)
        human.provider().create_tasks(run, waiting, graph["nodes"][step.node_id])


def _apply(
    instance: ProcessInstance, graph: Graph, step: Step, answer: Answer, notes: dict[int, str], tester: str
) -> None:
    node = graph["nodes"][step.node_id]
    if answer.kind == "skip":
        timer = Timer.objects.filter(step=step, fired_at__isnull=True, cancelled_at__isnull=True)
        first = timer.order_by("due_at").first()
        notes[step.pk] = "wait skipped (test)" if tester == _TESTER else "waited as before"
        if first is not None:
            timers._fire(first.id, instance.pk, timezone.now())
        else:
            runtime.resume_step(instance.pk, step.pk, answer.recorded or {}, message="Skipped in a test run")
        return
    if answer.kind == "decision":
        if answer.recorded is not None:
            variables = answer.recorded
        elif answer.outcome == "changes_requested" and "changes_requested" not in human.outcome_paths(node):
            # As in approvals: sent back to the requester, unless the Approval has a path for it.
            _send_back(instance, step, answer, notes, tester)
            return
        else:
            variables = human.configured_provider().decision_variables(
                node, answer.outcome, answer.comment, "test"
            )
        # As people deciding: an Approval with a path per decision takes only the decided one.
        decision = variables.get(node["config"].get("result_variable") or "approval")
        outcome = decision.get("outcome") if isinstance(decision, dict) else None
        paths = human.outcome_paths(node)
        flows = [paths[outcome]] if outcome in paths else None
        runtime.resume_step(instance.pk, step.pk, variables, message="Decided in a test run", flows=flows)
        notes[step.pk] = _decided_words(variables, tester)
        return
    if answer.kind == "resubmit":
        _resubmit(instance, graph, step, answer, notes)
        return
    if claim_step(step.pk, step.attempt) is None:
        return
    if answer.kind == "fail":
        fail_step(
            step.pk,
            step.attempt,
            answer.comment or "It failed (test)",
            retryable=False,
            instance_id=instance.pk,
            code=answer.code or None,
        )
        notes[step.pk] = "failed (test)" + (f": {answer.code}" if answer.code else "")
        if step.kind == "exclusive":
            notes[step.pk] = _chosen(step.pk)
    else:
        output = dict(answer.output)
        fields = _ai_fields(node)
        if fields is not None and not _is_ai_result(output, fields):
            try:
                output = _ai_result(output, fields)
            except ai.InvalidAnswer as exc:
                # As the connector would after asking twice: the sample does not fit the answer fields.
                fail_step(
                    step.pk,
                    step.attempt,
                    f"The AI's answer was invalid: {exc}",
                    retryable=False,
                    instance_id=instance.pk,
                )
                notes[step.pk] = _chosen(step.pk) if step.kind == "exclusive" else str(exc)
                return
        complete_step(step.pk, step.attempt, output, instance_id=instance.pk)
        if step.kind == "exclusive":
            asked = "test run: the AI was not asked" if tester == _TESTER else "as the AI answered then"
            notes[step.pk] = f"{_chosen(step.pk)} ({asked})"
        elif tester == _TESTER and step.kind == "send_task":
            notes[step.pk] = "the message was not sent (test run)"
        elif tester == _TESTER and fields is not None:
            notes[step.pk] = "answered with the sample answer; the AI was not asked"
        elif tester == _TESTER:
            notes[step.pk] = "answered with the sample answer; the real system was not called"
        else:
            notes[step.pk] = "answered as it was answered then"


def _ai_fields(node: Node) -> list[ai.AnswerField] | None:
    """The answer fields of a block that asks the AI (Ask AI, a Decision the AI decides); None for others."""
    config = node["config"]
    if config.get("connector") != ai.NAME:
        return None
    try:
        return ai.answer_fields(config.get("properties", {}).get("answer_fields") or [])
    except ValueError:
        return []


def _is_ai_result(output: dict[str, Any], fields: list[ai.AnswerField]) -> bool:
    """Whether ``output`` is the connector's whole result (a replay's record), not just the answer's values."""
    return isinstance(output.get("answer"), dict) and all(f.name != "answer" for f in fields)


def _ai_result(values: dict[str, Any], fields: list[ai.AnswerField]) -> dict[str, Any]:
    """The AI connector's result for a test run's answer (one value per answer field), typed as the
    connector types a model's answer; :class:`ai.InvalidAnswer` when a value does not fit."""
    given = {}
    for f in fields:
        value = values.get(f.name)
        if f.type == "string" and isinstance(value, int | float | bool):
            value = str(value)  # typed in a box: "12" is text here
        elif f.type in ("list", "map") and isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # RecursionError: nested past the stack
                pass  # reported as not a list (or record) below
        given[f.name] = value
    answer = ai.check_answer(json.dumps(given, default=str), fields)
    usage = {"prompt": 0, "answer": 0, "total": 0}
    return {"answer": answer, "model": "test run", "usage": usage, "duration_ms": 0, "calls": 0}


def _chosen(step_id: int) -> str:
    """What a Decision the AI decides chose in this dry run, in words."""
    output = Step.objects.values_list("output", flat=True).get(pk=step_id)
    return chosen_words(output or {}) or "decided"


def _decided_words(variables: dict[str, Any], tester: str) -> str:
    decision = next((v for v in variables.values() if isinstance(v, dict) and "outcome" in v), {})
    outcome = str(decision.get("outcome", "decided")).replace("_", " ")
    by = tester if tester == _TESTER else str(decision.get("by") or "the approver")
    comment = decision.get("comment") or ""
    return f"{outcome} by {by}" + (f" — {comment}" if comment else "")


# --- what it did, in words -------------------------------------------------------------------


def _describe(instance_id: Any, graph: Graph, notes: dict[int, str]) -> DryRun:
    instance = ProcessInstance.objects.get(pk=instance_id)
    steps = list(Step.objects.filter(instance_id=instance_id).order_by("id"))
    keys = _visits(steps)
    titles = step_titles(steps, graph)
    flow_names = {fid: (flow.get("name") or "") for fid, flow in graph["flows"].items()}
    lines = []
    questions = []
    for index, step in enumerate(steps):
        label = step_label(step, graph)
        # An unnamed block is called by its kind ("Merge"), never by its id.
        name = titles.get(step.pk, step.node_name) if step.node_name else label
        node = graph["nodes"][step.node_id]
        text = notes.get(step.pk, "")
        state = "done"
        if step.status == Step.Status.INCIDENT:
            state, text = "problem", f"stopped here: {step.error}"
        elif step.status in Step.OPEN_STATUSES:
            state = "waiting"
            question = _question(step, graph, keys[step.pk], name, text, instance.variables)
            if text == _CUT_SHORT:
                question.text = text
            questions.append(question)
            text = question.text
        elif step.status == Step.Status.CANCELLED:
            state, text = "cancelled", text or "cancelled"
        elif not text:
            text = _done_words(step, node, steps[index + 1 :], flow_names)
        lines.append(
            {
                "at": keys[step.pk],
                "node_id": step.node_id,
                "name": name,
                "kind": label,
                "state": state,
                "text": text,
            }
        )
    return DryRun(
        steps=steps,
        lines=lines,
        questions=questions,
        status=instance.status,
        outcome=instance.outcome,
        stopped_at=[s.node_id for s in steps if s.status == Step.Status.INCIDENT],
    )


def _done_words(step: Step, node: Node, later: list[Step], flow_names: dict[str, str]) -> str:
    if step.kind == "start":
        return "started with the sample data"
    if step.kind in ("end", "error_end", "terminate_end"):
        outcome = node["config"].get("outcome") or ""
        return f"finished: {outcome}" if outcome else "finished"
    if node["outgoing"] and len(node["outgoing"]) > 1:
        taken = [flow_names[s.incoming_flow] for s in later if s.incoming_flow in node["outgoing"]]
        named = [n for n in taken if n]
        if named:
            return "went on along “" + "”, “".join(dict.fromkeys(named)) + "”"
    return "done"


def _question(step: Step, graph: Graph, at: str, name: str, note: str, variables: dict[str, Any]) -> Question:
    node = graph["nodes"][step.node_id]
    if step.kind == "user_task" and step.status == Step.Status.WAITING and _sent_back(step):
        # As the requester's page: the start form, filled with the request's values, to change and send again.
        form_fields = _start_fields(graph)
        return Question(
            at,
            step.node_id,
            name,
            "resubmit",
            f"{note}: sent back to the requester",
            example={f["name"]: variables.get(f["name"]) for f in form_fields if f["name"] in variables},
            outputs=[
                {
                    "name": f["name"],
                    "label": f.get("label") or f["name"],
                    "type": f["type"],
                    "choices": list(f.get("choices", [])),
                }
                for f in form_fields
            ],
        )
    if step.kind == "user_task":
        who = f" ({note})" if note else ""
        return Question(at, step.node_id, name, "decision", f"waiting for a decision{who}")
    if step.kind == "exclusive" and decided_by_ai(node):
        paths = list(node["config"].get("paths", {}))
        default = node["config"].get("default") or ""
        default_name = next((n for n, f in node["config"].get("paths", {}).items() if f == default), "")
        return Question(
            at,
            step.node_id,
            name,
            "path",
            "waiting for the AI to choose a path",
            example={PATH: default_name, REASON: ""},
            outputs=[
                {"name": PATH, "label": "The path the AI chooses", "type": "string", "choices": paths},
                {"name": REASON, "label": "Its reason", "type": "string", "choices": []},
            ],
            paths=paths,
        )
    if step.kind in _CONNECTOR_KINDS:
        fields = _ai_fields(node)
        if fields is not None:
            # Ask AI: the sample is the block's own answer, one value per answer field.
            return Question(
                at,
                step.node_id,
                name,
                "output",
                "waiting for the AI's answer (it is not asked in a test run)",
                example=ai.sample_answer(fields, timezone.localdate()),
                outputs=[
                    {
                        "name": f.name,
                        "label": f.description or f.name.replace("_", " ").capitalize(),
                        "type": f.type,
                        "choices": list(f.choices),
                    }
                    for f in fields
                ],
                by_ai=True,
            )
        connector = registry.get(node["config"].get("connector", "")) if _known(node) else None
        outputs = [
            {"name": f.name, "label": f.label, "type": f.type} for f in getattr(connector, "outputs", ())
        ]
        if not outputs:  # undeclared: the values the step keeps from the answer (``result.order_id``)
            used = node["config"].get("outputs", {}).values()
            names = dict.fromkeys(name for source in used for name in _RESULT_KEY.findall(source))
            outputs = [{"name": n, "label": n.replace("_", " ").capitalize(), "type": ""} for n in names]
        # An "If it fails" path on its edge: the tester may choose that it fails.
        can_fail = any(
            graph["nodes"][b]["config"].get("trigger") == "error" for b in node.get("boundaries", [])
        )
        return Question(
            at,
            step.node_id,
            name,
            "output",
            "waiting for the answer of the system it calls",
            example=dict(getattr(connector, "example_output", {}) or {}),
            outputs=outputs,
            error_codes=dict(getattr(connector, "error_codes", {}) or {}),
            can_fail=can_fail,
        )
    return Question(at, step.node_id, name, "wait", note or "waiting")


def _known(node: Node) -> bool:
    return registry.is_registered(node["config"].get("connector", ""))


# --- test run --------------------------------------------------------------------------------


def try_draft(
    workflow: Workflow,
    xml: str,
    graph: Graph,
    data: dict[str, Any],
    answers: list[Answer],
    *,
    user: AbstractBaseUser,
) -> DryRun:
    """Run ``graph`` (the draft, compiled) with start ``data`` and the ``answers`` given so far.

    Raises :class:`~orchestration.engine.StartDataError` (by field) when the data does not fit the
    start form, :class:`BadResubmission` when a resubmitted request's data does not. Answers are used in order per visit of a block; a wait without one is a question.
    Nothing is kept and nothing is sent.
    """
    try:
        return _dry(workflow, xml, graph, data, _in_order(answers), initiator=user, tester=_TESTER)
    except _Refused as exc:
        index = next(i for i, a in enumerate(answers) if a is exc.answer)
        raise BadResubmission(index, exc.errors) from None


# --- replay ----------------------------------------------------------------------------------


@dataclass
class ReplayGroup:
    """Requests that would now behave alike, in words, with the block where they part from before."""

    text: str
    node_id: str
    requests: list[dict[str, str]] = field(default_factory=list)
    same: bool = False


@dataclass
class ReplayReport:
    total: int
    same: int
    groups: list[ReplayGroup]
    version: int | None

    def request_ids(self) -> list[str]:
        """The ids of the requests replayed."""
        return [r["id"] for group in self.groups for r in group.requests]

    def as_json(self, visible: Collection[str] | None = None) -> dict[str, Any]:
        """The report; requests whose id is not in ``visible`` (when given) are counted but not named."""
        groups = [asdict(g) for g in self.groups]
        if visible is not None:
            for group in groups:
                shown = [r for r in group["requests"] if r["id"] in visible]
                unseen = len(group["requests"]) - len(shown)
                if unseen:
                    title = f"{unseen} {'request' if unseen == 1 else 'requests'} you cannot open"
                    shown.append({"id": "", "title": title, "reference": ""})
                group["requests"] = shown
        return {"total": self.total, "same": self.same, "version": self.version, "groups": groups}


def diagram_to_try(workflow: Workflow, xml: str | None) -> tuple[str, CompileResult]:
    """The diagram a dry run tries (``xml`` from the canvas, else the draft, else the published one), compiled."""
    if xml is None:
        version = current_draft(workflow) or workflow.published_version
        xml = version.bpmn_xml if version is not None else ""
    return xml, compile_bpmn(xml)


def recent_requests(workflow: Workflow, limit: int = DEFAULT_REPLAY) -> list[ProcessInstance]:
    """The newest ``limit`` requests (not sub-processes) of the workflow's published version."""
    version = workflow.published_version
    if version is None:
        return []
    limit = max(1, min(limit, MAX_REPLAY))
    return list(
        ProcessInstance.objects.filter(version=version, parent_step__isnull=True)
        .select_related("workflow", "initiator")
        .order_by("-started_at")[:limit]
    )


def _in_order(answers: Iterable[Answer]) -> Callable[[Step, str], Answer | None]:
    """Answers used in order per visit of a block: the next one, when it fits what waits there now."""
    by_visit: dict[str, deque[Answer]] = defaultdict(deque)
    for answer in answers:
        by_visit[answer.at].append(answer)

    def answer_for(step: Step, at: str) -> Answer | None:
        queue = by_visit.get(at)
        if not queue:
            return None
        return queue.popleft() if _fits(step, queue[0]) else None

    return answer_for


def _sent_back_rounds(
    instance: ProcessInstance, steps: list[Step], keys: dict[int, str]
) -> dict[int, list[Answer]]:
    """The Approval steps sent back to the requester, by step: each round's request for changes and
    resubmission (with the start form's values it changed), as answers in order."""
    approvals = [s.pk for s in steps if s.kind == "user_task"]
    if not approvals:
        return {}
    rounds: dict[int, list[Answer]] = defaultdict(list)
    changed: dict[int, dict[str, Any]] = defaultdict(dict)
    history = (
        Event.objects.filter(
            instance=instance, step_id__in=approvals, kind__in=(_SENT_BACK, _RESUBMITTED, "variables.set")
        )
        .order_by("id")
        .values_list("step_id", "kind", "data")
    )
    for step_id, kind, data in history:
        at = keys[step_id]
        if kind == _SENT_BACK:
            rounds[step_id].append(Answer(at, "decision", outcome="changes_requested"))
            changed[step_id] = {}
        elif kind == "variables.set":
            for name, change in ((data or {}).get("changes") or {}).items():
                if isinstance(change, dict):
                    changed[step_id][name] = change.get("new")
        elif rounds[step_id]:  # resubmitted
            rounds[step_id].append(Answer(at, "resubmit", data=changed.pop(step_id, {})))
    return rounds


def _recorded(instance: ProcessInstance) -> tuple[dict[str, Any], list[Step], list[Answer]]:
    """The request's start data, its steps in order, and the answers people and systems gave, in order
    per visit (an Approval sent back: its requests for changes and resubmissions, then its decision)."""
    started = (
        Event.objects.filter(instance=instance, kind="instance.started")
        .values_list("data", flat=True)
        .first()
    )
    data = dict((started or {}).get("variables") or {})
    steps = list(Step.objects.filter(instance=instance).order_by("id"))
    keys = _visits(steps)
    caught = Event.objects.filter(instance=instance, data__has_key="error_code", step__isnull=False)
    failures = {
        step_id: str(data.get("error_code") or "") for step_id, data in caught.values_list("step_id", "data")
    }
    rounds = _sent_back_rounds(instance, steps, keys)
    answers: list[Answer] = []
    for step in steps:
        answers += rounds.get(step.pk, [])
        if step.status in Step.OPEN_STATUSES:
            continue
        at = keys[step.pk]
        if step.kind == "user_task" and step.status == Step.Status.COMPLETED:
            answers.append(Answer(at, "decision", recorded=dict(step.output or {})))
        elif step.kind == "exclusive" and isinstance((step.output or {}).get("chosen"), dict):
            # A Decision the AI decided: its answer again, or (it could not choose) its failure.
            recorded = dict(step.output or {})
            if isinstance(recorded.get("answer"), dict):
                answers.append(Answer(at, "output", output=recorded))
            else:
                answers.append(Answer(at, "fail", comment=str(recorded["chosen"].get("reason") or "")[:2000]))
        elif step.kind in _CONNECTOR_KINDS and step.status == Step.Status.COMPLETED:
            answers.append(Answer(at, "output", output=dict(step.output or {})))
        elif step.kind in _CONNECTOR_KINDS and step.error and step.pk in failures:
            # It failed and an "If it fails" path took it: it fails again, with the same code.
            answers.append(Answer(at, "fail", comment=step.error[:2000], code=failures[step.pk]))
        elif step.status == Step.Status.COMPLETED:
            answers.append(Answer(at, "skip", recorded=dict(step.output or {})))
    return data, steps, answers


def replay(workflow: Workflow, xml: str, graph: Graph, *, limit: int = DEFAULT_REPLAY) -> ReplayReport:
    """Run the newest ``limit`` requests of the published version through ``graph`` and group the differences.

    Each request starts with its own start data; its recorded decisions and connector answers
    stand in for people and systems, matched by block and visit. One short transaction per
    request, each rolled back.
    """
    requests = recent_requests(workflow, limit)
    published = workflow.published_version
    old_nodes = (published.graph or {}).get("nodes", {}) if published else {}
    groups: dict[tuple[str, ...], ReplayGroup] = {}
    same = ReplayGroup(text="", node_id="", same=True)
    form = _start_form_names(graph)
    for instance in requests:
        data, before, answers = _recorded(instance)
        # What the draft's start form asks for (the event may also hold what the first run set).
        if form is not None:
            data = {name: value for name, value in data.items() if name in form}
        who = {"id": str(instance.pk), "title": instance.title, "reference": instance.reference}
        try:
            after = _dry(
                workflow,
                xml,
                graph,
                data,
                _in_order(answers),
                initiator=instance.initiator,
                tester="",
            )
        except runtime.StartDataError as exc:
            key: tuple[str, ...] = ("refused",)
            fields = ", ".join(sorted(exc.errors)) if hasattr(exc, "errors") else ""
            group = groups.setdefault(
                key,
                ReplayGroup(text="could no longer start: their start data does not fit the form", node_id=""),
            )
            if fields:
                group.text = f"could no longer start: their start data does not fit the form ({fields})"
            group.requests.append(who)
            continue
        key, text, node_id = _difference(before, after, graph, old_nodes, instance.outcome)
        if not key:
            same.requests.append(who)
            continue
        groups.setdefault(key, ReplayGroup(text=text, node_id=node_id)).requests.append(who)
    total = len(requests)
    ordered = sorted(groups.values(), key=lambda g: -len(g.requests))
    for group in ordered:
        group.text = f"{_count(len(group.requests), total)} {group.text}"
    if same.requests:
        same.text = f"{_count(len(same.requests), total)} take the same path"
        ordered.append(same)
    return ReplayReport(
        total=total, same=len(same.requests), groups=ordered, version=published.number if published else None
    )


def _start_form_names(graph: Graph) -> set[str] | None:
    """The fields of the start form a request starts with (None: the draft has no form start)."""
    try:
        node = graph["nodes"][runtime.start_node_for(graph, "manual")]
    except runtime.StartDataError:
        return None
    return {f["name"] for f in node["config"].get("fields", [])}


def _count(n: int, total: int) -> str:
    return f"{n} of {total} requests" if n != 1 else f"1 of {total} requests"


def _difference(
    before: list[Step], after: DryRun, graph: Graph, old_nodes: dict[str, Any], outcome: str
) -> tuple[tuple[str, ...], str, str]:
    """How the draft's path differs from the request's own: a group key, its words, the block to show."""
    old_keys = _visits(before)
    new_keys = _visits(after.steps)
    was = {old_keys[s.pk]: s for s in before}
    now = {new_keys[s.pk]: s for s in after.steps}
    added = [new_keys[s.pk] for s in after.steps if new_keys[s.pk] not in was]
    missing = [old_keys[s.pk] for s in before if old_keys[s.pk] not in now]
    nodes = graph["nodes"]

    def name(node_id: str) -> str:
        node = nodes.get(node_id) or old_nodes.get(node_id) or {}
        return str(node.get("name") or "an unnamed step")

    if after.stopped_at and not any(
        s.status == Step.Status.INCIDENT and s.node_id in after.stopped_at for s in before
    ):
        node_id = after.stopped_at[0]
        return ("problem", node_id), f"would now stop with a problem at {name(node_id)}", node_id
    if added:
        step = now[added[0]]
        node_id = step.node_id
        if node_id not in old_nodes:
            where = "wait at" if step.status in Step.OPEN_STATUSES else "go through"
            text = f"would now {where} a new step {name(node_id)}, which they never reached"
            return ("new", where, node_id), text, node_id
        instead = f" instead of {name(was[missing[0]].node_id)}" if missing else ""
        key = ("go", node_id, was[missing[0]].node_id if missing else "")
        return key, f"would now go to {name(node_id)}{instead}", node_id
    if missing:
        node_id = was[missing[0]].node_id
        return ("short", node_id), f"would now no longer reach {name(node_id)}", node_id
    if after.status == ProcessInstance.Status.COMPLETED and after.outcome != outcome:
        return ("outcome", after.outcome), f"would now finish as “{after.outcome or 'no outcome'}”", ""
    return (), "", ""
