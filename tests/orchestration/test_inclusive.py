"""Any of these paths (inclusive gateway): every path whose condition holds, and a join that waits only for those."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import combinations, permutations
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import (
    cancel_instance,
    correlate_message,
    move_token,
    retry_incident,
    start_instance,
)
from orchestration.engine.blocks import inclusive
from orchestration.engine.runtime import continue_handed_off
from orchestration.engine.timers import fire_due_timers
from orchestration.models import Event, Incident, ProcessInstance, Step, Timer
from orchestration.ops.instances import step_rows
from tests import bpmn
from tests.conftest import Engine, wait_until_completed
from tests.orchestration.factories import publish

PATHS = ("a", "b", "c")
TAKEN = [set(c) for n in (1, 2, 3) for c in combinations(PATHS, n)]
FLAGS = tuple(bpmn.field(p, "boolean") for p in PATHS)


def _three_way(*, hold: bool = False, default: bool = True) -> str:
    """Start (a, b, c yes/no) → Any of these paths → one branch per flag (and a default) → join → after."""
    branches = []
    for p in PATHS:
        if hold:
            branches += [
                bpmn.wait_message(f"w_{p}", f"done_{p}", "instance_id"),
                bpmn.flow(f"w_{p}", f"do_{p}"),
            ]
        branches += [
            bpmn.script(f"do_{p}", f'{{"did_{p}": true}}'),
            bpmn.flow("which", f"w_{p}" if hold else f"do_{p}", id=f"f_{p}", condition=p, name=p.upper()),
            bpmn.flow(f"do_{p}", "join", id=f"in_{p}"),
        ]
    if default:
        branches += [
            bpmn.script("nothing", '{"did_nothing": true}'),
            bpmn.flow("which", "nothing", id="f_none"),
            bpmn.flow("nothing", "join", id="in_none"),
        ]
    return bpmn.definitions(
        bpmn.start("start", *FLAGS),
        bpmn.gateway("which", "inclusive", default="f_none" if default else "", name="Which reviews?"),
        *branches,
        bpmn.gateway("join", "inclusive", name="Reviews done"),
        bpmn.script("after", '{"after": true}'),
        bpmn.end(),
        bpmn.flow("start", "which"),
        *bpmn.chain("join", "after", "end"),
        messages=tuple(f"done_{p}" for p in PATHS),
    )


def _fired(instance: ProcessInstance, node: str = "join") -> list[Step]:
    return list(Step.objects.filter(instance=instance, node_id=node, join_key__isnull=False))


def _done(instance: ProcessInstance) -> ProcessInstance:
    instance.refresh_from_db()
    return instance


# --- the split


@pytest.mark.django_db
@pytest.mark.parametrize("taken", TAKEN, ids=lambda t: "+".join(sorted(t)))
def test_every_path_whose_condition_holds_is_taken_and_the_join_fires_once(taken: set[str]) -> None:
    version = publish(_three_way(), key="three-way")

    instance = start_instance(version, {p: p in taken for p in PATHS})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert {k for k in instance.variables if k.startswith("did_")} == {f"did_{p}" for p in taken}
    [fired] = _fired(instance)
    assert fired.output == {"joined": len(taken), "paths": [f"in_{p}" for p in PATHS if p in taken]}
    assert Step.objects.filter(instance=instance, node_id="join").count() == len(taken)
    assert Step.objects.filter(instance=instance, node_id="after").count() == 1
    split = Step.objects.get(instance=instance, node_id="which")
    assert split.output == {"took": [f"f_{p}" for p in PATHS if p in taken]}
    message = Event.objects.get(instance=instance, kind="paths.taken").message
    names = ", ".join(p.upper() for p in PATHS if p in taken)
    assert message == f"Which reviews?: took {len(taken)} of 4 paths ({names})"


@pytest.mark.django_db
def test_the_default_path_alone_is_taken_when_no_condition_holds() -> None:
    instance = start_instance(publish(_three_way(), key="three-way"), {"a": False, "b": False, "c": False})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["did_nothing"] is True
    assert not any(k in instance.variables for k in ("did_a", "did_b", "did_c"))
    [fired] = _fired(instance)
    assert fired.output == {"joined": 1, "paths": ["in_none"]}


@pytest.mark.django_db
def test_nothing_applies_and_no_default_is_an_incident_naming_the_gateway_that_a_fix_retries() -> None:
    instance = start_instance(publish(_three_way(default=False), key="no-default"), {"a": False})

    assert instance.status == ProcessInstance.Status.RUNNING and instance.has_incident
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.step.node_id == "which"
    assert incident.error == 'None of the paths of "Which reviews?" applies and it has no default path.'

    retry_incident(incident.id, variables={"b": True})

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["did_b"] is True
    assert len(_fired(instance)) == 1


@pytest.mark.django_db
def test_a_path_without_a_condition_is_always_taken() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("a", "boolean")),
        bpmn.gateway("which", "inclusive"),
        bpmn.script("always", '{"always": true}'),
        bpmn.script("maybe", '{"maybe": true}'),
        bpmn.gateway("join", "inclusive"),
        bpmn.end(),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "always"),
        bpmn.flow("which", "maybe", condition="a"),
        *bpmn.chain("always", "join", "end"),
        bpmn.flow("maybe", "join"),
    )
    version = publish(xml, key="always")

    assert start_instance(version, {"a": False}).variables == {"a": False, "always": True}
    both = start_instance(version, {"a": True})
    assert both.variables == {"a": True, "always": True, "maybe": True}
    assert _fired(both)[0].output["joined"] == 2


# --- the join waits for the paths taken, and only for them


@pytest.mark.django_db
@pytest.mark.parametrize(
    "order",
    [o for t in TAKEN for o in permutations(sorted(t))],
    ids=lambda o: ">".join(o),
)
def test_the_join_fires_once_only_after_every_taken_path_arrives_in_any_order(order: tuple[str, ...]) -> None:
    instance = start_instance(publish(_three_way(hold=True), key="held"), {p: p in order for p in PATHS})
    waits = set(
        Step.objects.filter(instance=instance, status=Step.Status.WAITING).values_list("node_id", flat=True)
    )
    assert waits == {f"w_{p}" for p in order}

    for i, p in enumerate(order):
        assert not _fired(instance), f"fired before {p} arrived"
        correlate_message(f"done_{p}", str(instance.id))
        arrived = Step.objects.filter(instance=instance, node_id="join")
        assert arrived.count() == i + 1

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED
    [fired] = _fired(instance)
    assert fired.output["joined"] == len(order)
    assert Step.objects.filter(instance=instance, node_id="after").count() == 1
    assert not Step.objects.filter(instance=instance, status__in=Step.OPEN_STATUSES).exists()


def _maybe_back_to_join() -> str:
    """Two paths; the second waits for a timer, then a Decision sends it to the join or to an End."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("rejoin", "boolean")),
        bpmn.gateway("which", "inclusive", name="Which?"),
        bpmn.script("quick", '{"quick": true}'),
        bpmn.wait_timer("later", "PT1H"),
        bpmn.gateway("back", default="f_away"),
        bpmn.gateway("join", "inclusive"),
        bpmn.script("after", '{"after": true}'),
        bpmn.end("end"),
        bpmn.end("gone", outcome="gone"),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "quick", condition="true"),
        bpmn.flow("which", "later", condition="true"),
        bpmn.flow("quick", "join"),
        bpmn.flow("later", "back"),
        bpmn.flow("back", "join", id="f_rejoin", condition="rejoin"),
        bpmn.flow("back", "gone", id="f_away"),
        *bpmn.chain("join", "after", "end"),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("rejoin", [True, False], ids=["comes-back", "ends-elsewhere"])
def test_a_path_that_may_still_reach_the_join_holds_it_until_it_arrives_or_ends_elsewhere(
    rejoin: bool,
) -> None:
    instance = start_instance(publish(_maybe_back_to_join(), key="rejoin"), {"rejoin": rejoin})
    waiting = Step.objects.get(instance=instance, node_id="join")
    assert waiting.status == Step.Status.WAITING and not _fired(instance)

    fire_due_timers(now=Timer.objects.get(instance=instance).due_at)

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED
    [fired] = _fired(instance)
    assert fired.output["joined"] == (2 if rejoin else 1)
    assert Step.objects.filter(instance=instance, node_id="after").count() == 1
    assert Step.objects.filter(instance=instance, node_id="gone").count() == (0 if rejoin else 1)


@pytest.mark.django_db
def test_a_path_that_cannot_reach_the_join_does_not_hold_it() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("which", "inclusive"),
        bpmn.script("quick", '{"quick": true}'),
        bpmn.wait_timer("slow", "PT1H"),
        bpmn.gateway("join", "inclusive"),
        bpmn.end("end"),
        bpmn.end("elsewhere"),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "quick", condition="true"),
        bpmn.flow("which", "slow", condition="true"),
        bpmn.flow("which", "join", id="f_direct", condition="false"),
        *bpmn.chain("quick", "join", "end"),
        bpmn.flow("slow", "elsewhere"),
    )
    instance = start_instance(publish(xml, key="elsewhere"), {})

    assert _fired(instance)[0].output["joined"] == 1
    assert Step.objects.filter(instance=instance, node_id="end").count() == 1
    assert instance.status == ProcessInstance.Status.RUNNING  # the timer's path is still open


@pytest.mark.django_db
def test_cancelling_the_instance_leaves_no_join_to_fire() -> None:
    instance = start_instance(publish(_maybe_back_to_join(), key="rejoin"), {"rejoin": True})

    cancel_instance(instance.id, reason="not needed")

    assert not _fired(instance)
    assert set(Step.objects.filter(instance=instance, node_id="join").values_list("status", flat=True)) == {
        Step.Status.CANCELLED
    }


@pytest.mark.django_db
def test_a_parallel_split_into_this_join_waits_for_every_branch() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.wait_message("paid", "paid", "instance_id"),
        bpmn.script("quick", '{"quick": true}'),
        bpmn.gateway("join", "inclusive"),
        bpmn.end(),
        bpmn.flow("start", "split"),
        *bpmn.chain("split", "paid", "join"),
        *bpmn.chain("split", "quick", "join"),
        bpmn.flow("join", "end"),
        messages=("paid",),
    )
    instance = start_instance(publish(xml, key="par-into-incl"), {})
    assert not _fired(instance)

    correlate_message("paid", str(instance.id))

    assert _done(instance).status == ProcessInstance.Status.COMPLETED
    assert _fired(instance)[0].output["joined"] == 2


@pytest.mark.django_db
def test_more_tokens_on_one_path_wait_for_the_next_firing() -> None:
    # Two tokens reach the join on the same flow (through a merge), one on another flow.
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.script("x", '{"x": true}'),
        bpmn.script("y", '{"y": true}'),
        bpmn.gateway("merge"),
        bpmn.wait_message("z", "z", "instance_id"),
        bpmn.gateway("join", "inclusive"),
        bpmn.script("after", '{"after": true}'),
        bpmn.end(),
        bpmn.flow("start", "split"),
        *bpmn.chain("split", "x", "merge"),
        *bpmn.chain("split", "y", "merge"),
        bpmn.flow("merge", "join", id="f_merged"),
        bpmn.flow("split", "z"),
        bpmn.flow("z", "join", id="f_z"),
        *bpmn.chain("join", "after", "end"),
        messages=("z",),
    )
    instance = start_instance(publish(xml, key="extra"), {})
    assert Step.objects.filter(instance=instance, node_id="join", status=Step.Status.WAITING).count() == 2

    correlate_message("z", str(instance.id))

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED
    fired = _fired(instance)
    assert sorted(s.output["paths"] for s in fired) == [["f_merged"], ["f_merged", "f_z"]]
    assert len({s.join_key for s in fired}) == 2
    assert Step.objects.filter(instance=instance, node_id="after").count() == 2


def _nested() -> str:
    """outer: x (→ inner: p, q → inner join) and y → outer join."""
    return bpmn.definitions(
        bpmn.start("start", *(bpmn.field(f, "boolean") for f in ("x", "y", "p", "q"))),
        bpmn.gateway("outer", "inclusive"),
        bpmn.gateway("inner", "inclusive"),
        bpmn.wait_message("hold_p", "p", "instance_id"),
        bpmn.script("do_q", '{"q_done": true}'),
        bpmn.gateway("inner_join", "inclusive"),
        bpmn.script("do_y", '{"y_done": true}'),
        bpmn.gateway("outer_join", "inclusive"),
        bpmn.end(),
        bpmn.flow("start", "outer"),
        bpmn.flow("outer", "inner", condition="x"),
        bpmn.flow("outer", "do_y", condition="y"),
        bpmn.flow("inner", "hold_p", condition="p"),
        bpmn.flow("inner", "do_q", condition="q"),
        bpmn.flow("hold_p", "inner_join"),
        bpmn.flow("do_q", "inner_join"),
        bpmn.flow("inner_join", "outer_join"),
        bpmn.flow("do_y", "outer_join"),
        bpmn.flow("outer_join", "end"),
        messages=("p",),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("p", "q", "y"), [(True, True, True), (True, False, True), (True, True, False)])
def test_nested_joins_each_wait_for_their_own_paths(p: bool, q: bool, y: bool) -> None:
    instance = start_instance(publish(_nested(), key="nested"), {"x": True, "y": y, "p": p, "q": q})
    assert not _fired(instance, "inner_join") and not _fired(instance, "outer_join")

    correlate_message("p", str(instance.id))

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED
    [inner] = _fired(instance, "inner_join")
    [outer] = _fired(instance, "outer_join")
    assert inner.output["joined"] == 1 + q
    assert outer.output["joined"] == 1 + y
    assert inner.id < outer.id


@pytest.mark.django_db
def test_a_join_on_a_loop_fires_once_per_round() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("n", "integer")),
        bpmn.script("count", '{"n": n + 1}'),
        bpmn.gateway("which", "inclusive"),
        bpmn.script("a", '{"a": n}'),
        bpmn.script("b", '{"b": n}'),
        bpmn.gateway("join", "inclusive"),
        bpmn.gateway("again", default="f_out"),
        bpmn.end(),
        *bpmn.chain("start", "count", "which"),
        bpmn.flow("which", "a", condition="true"),
        bpmn.flow("which", "b", condition="n > 1"),
        *bpmn.chain("a", "join"),
        *bpmn.chain("b", "join"),
        bpmn.flow("join", "again"),
        bpmn.flow("again", "count", id="f_back", condition="n < 3"),
        bpmn.flow("again", "end", id="f_out"),
    )
    instance = start_instance(publish(xml, key="loop"), {"n": 0})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables == {"n": 3, "a": 3, "b": 3}
    fired = sorted(_fired(instance), key=lambda s: s.id)
    assert [s.output["joined"] for s in fired] == [1, 2, 2]


@pytest.mark.django_db
def test_a_failed_step_on_a_taken_path_holds_the_join_until_an_operator_fixes_it() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("divisor", "integer")),
        bpmn.gateway("which", "inclusive"),
        bpmn.script("quick", '{"quick": true}'),
        bpmn.script("divide", '{"share": 100 / divisor}'),
        bpmn.gateway("join", "inclusive"),
        bpmn.end(),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "quick", condition="true"),
        bpmn.flow("which", "divide", condition="true"),
        *bpmn.chain("quick", "join"),
        *bpmn.chain("divide", "join", "end"),
    )
    instance = start_instance(publish(xml, key="fails"), {"divisor": 0})
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.step.node_id == "divide" and not _fired(instance)

    retry_incident(incident.id, variables={"divisor": 4})

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["share"] == 25
    assert _fired(instance)[0].output["joined"] == 2


@pytest.mark.django_db
def test_paths_handed_off_by_a_request_join_once_when_continued() -> None:
    version = publish(_three_way(), key="handed-off")
    instance = start_instance(version, {p: True for p in PATHS}, hand_off_after=4)
    handed_off = Step.objects.filter(instance=instance, status=Step.Status.ACTIVE)
    assert sorted(handed_off.values_list("node_id", flat=True)) == ["do_c", "join", "join"]

    continue_handed_off(instance.id)
    continue_handed_off(instance.id)  # a second delivery finds nothing left

    instance = _done(instance)
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert len(_fired(instance)) == 1
    assert Step.objects.filter(instance=instance, node_id="after").count() == 1


@pytest.mark.django_db
def test_a_token_moved_by_an_operator_onto_the_join_waits_for_the_other_paths_taken() -> None:
    instance = start_instance(publish(_three_way(hold=True), key="moved"), {"a": True, "b": True})
    waiting_a = Step.objects.get(instance=instance, node_id="w_a")

    move_token(instance.id, waiting_a.id, "join", reason="legal answered by phone")

    assert not _fired(instance)
    correlate_message("done_b", str(instance.id))
    assert _done(instance).status == ProcessInstance.Status.COMPLETED
    assert _fired(instance)[0].output["paths"] == ["", "in_b"]


@pytest.mark.django_db
def test_a_loop_through_the_join_that_never_waits_becomes_an_incident(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("orchestration.engine.runtime.MAX_INLINE_STEPS", 200)  # the guard, sooner
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("entry"),
        bpmn.gateway("which", "inclusive"),
        bpmn.script("a", '{"a": true}'),
        bpmn.script("b", '{"b": true}'),
        bpmn.gateway("join", "inclusive"),
        bpmn.gateway("again", default="f_out"),
        bpmn.end(),
        *bpmn.chain("start", "entry", "which"),
        bpmn.flow("which", "a", condition="true"),
        bpmn.flow("which", "b", condition="true"),
        *bpmn.chain("a", "join"),
        *bpmn.chain("b", "join"),
        bpmn.flow("join", "again"),
        bpmn.flow("again", "entry", id="f_back", condition="true"),
        bpmn.flow("again", "end", id="f_out"),
    )
    instance = start_instance(publish(xml, key="forever"), {})

    [incident] = Incident.objects.filter(instance=instance)
    assert incident.step.node_id == "join"
    assert incident.error == "More than 200 blocks ran without waiting: is there a loop?"
    assert instance.status == ProcessInstance.Status.RUNNING and instance.has_incident


# --- what people read


@pytest.mark.django_db
def test_steps_and_history_say_what_happened_in_plain_words() -> None:
    instance = start_instance(publish(_three_way(), key="three-way"), {"a": True, "b": True, "c": False})

    rows = {row.step.node_id: row.kind_label for row in step_rows(instance, lambda step: {})}
    assert rows["which"] == "Any of these paths" and rows["join"] == "Join of the paths taken"
    messages = list(
        Event.objects.filter(instance=instance, kind__startswith="paths.").values_list("message", flat=True)
    )
    assert messages == [
        "Which reviews?: took 2 of 4 paths (A, B)",
        "Reviews done: went on with 2 of 4 paths (no other could still arrive)",
    ]


# --- what it costs


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@pytest.mark.django_db
def test_a_run_that_makes_the_instance_answers_the_join_from_memory() -> None:
    version = publish(_three_way(), key="three-way")
    start_instance(version, {"a": True})  # the compiled graph is cached per process

    with _statements() as seen:
        instance = start_instance(version, {"a": True, "b": True, "c": True})

    assert [sql.split()[2] for sql in seen] == [
        '"orchestration_processinstance"',
        '"orchestration_step"',
        '"orchestration_event"',
    ]
    assert len(_fired(instance)) == 1


def _last_arrival_statements(kind: str) -> int:
    xml = _three_way(hold=True, default=False)
    if kind == "parallel":
        xml = xml.replace("inclusiveGateway", "parallelGateway").replace(' default=""', "")
        for p in PATHS:
            xml = xml.replace(
                f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{p}</bpmn:conditionExpression>',
                "",
            )
    version = publish(xml, key=kind)
    for warm in (True, False):
        instance = start_instance(version, {p: True for p in PATHS})
        correlate_message("done_a", str(instance.id))
        correlate_message("done_b", str(instance.id))
        with _statements() as seen:
            correlate_message("done_c", str(instance.id))
        assert _done(instance).status == ProcessInstance.Status.COMPLETED
        if not warm:
            return len(seen)
    raise AssertionError


@pytest.mark.django_db
def test_the_last_path_arriving_later_costs_no_more_statements_than_at_a_parallel_join() -> None:
    assert _last_arrival_statements("inclusive") <= _last_arrival_statements("parallel")


# --- compiling


def test_a_split_and_its_join_compile_with_roles_and_what_reaches_the_join() -> None:
    result = compile_bpmn(_three_way())
    assert result.ok, [str(e) for e in result.errors]
    assert result.warnings == []
    nodes = result.graph["nodes"]
    assert nodes["which"]["config"] == {"role": "split", "default": "f_none", "upstream": []}
    assert nodes["join"]["config"]["role"] == "join"
    assert nodes["join"]["config"]["upstream"] == sorted(
        ["start", "which", "nothing", *(f"do_{p}" for p in PATHS)]
    )


def test_conditions_are_type_checked_like_a_decisions() -> None:
    xml = _three_way().replace(">b</bpmn:conditionExpression>", ">amount &gt; 1</bpmn:conditionExpression>")
    xml = xml.replace(">c</bpmn:conditionExpression>", '>"yes"</bpmn:conditionExpression>')
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert len(errors) == 2, errors
    assert errors[0].startswith(
        'Flow "B" (f_b): condition leaving Any of these paths "Which reviews?" (which): '
    )
    assert "amount" in errors[0]
    assert errors[1] == (
        'Flow "C" (f_c): condition leaving Any of these paths "Which reviews?" (which): '
        "gives a string, not true or false (line 1, column 1)."
    )


def _split_into(join_kind: str, *, default: str = "", extra: tuple[str, ...] = ()) -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("a", "boolean")),
        bpmn.gateway("which", "inclusive", default=default, name="Which?"),
        bpmn.script("one", '{"one": true}'),
        bpmn.script("two", '{"two": true}'),
        bpmn.gateway("join", join_kind, name="Both"),
        bpmn.end(),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "one", id="f_one", condition="a"),
        bpmn.flow("which", "two", id="f_two", condition="!a"),
        *bpmn.chain("one", "join"),
        *bpmn.chain("two", "join"),
        bpmn.flow("join", "end"),
        *extra,
    )


def test_misuse_is_refused_or_warned_by_name() -> None:
    parallel = [str(e) for e in compile_bpmn(_split_into("parallel")).errors]
    assert parallel == [
        'Parallel join "Both" (join): waits for a token on every incoming flow, but Any of these paths '
        '"Which?" (which) may take only some of its paths, so the join could wait forever. Use an Any of '
        "these paths join: it waits only for the paths taken."
    ]
    merge = [str(w) for w in compile_bpmn(_split_into("exclusive")).warnings]
    assert any(
        "receives several branches of Any of these paths" in w and "Any of these paths join" in w
        for w in merge
    ), merge

    no_default = compile_bpmn(_split_into("inclusive"))
    assert no_default.ok
    assert [str(w) for w in no_default.warnings] == [
        'Any of these paths "Which?" (which): has no default path: when no condition holds, the request stops '
        "with an incident. Mark the path to take then as the default."
    ]
    wrong_default = [str(e) for e in compile_bpmn(_split_into("inclusive", default="f_nowhere")).errors]
    assert wrong_default == [
        'Any of these paths "Which?" (which): has default path "f_nowhere", which does not leave it.'
    ]

    always = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("which", "inclusive", default="f_two", name="Which?"),
        bpmn.gateway("join", "inclusive"),
        bpmn.end(),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "join", id="f_one"),
        bpmn.flow("which", "join", id="f_two"),
        bpmn.flow("join", "end"),
    )
    assert [str(w) for w in compile_bpmn(always).warnings] == [
        'Any of these paths "Which?" (which): its default path is never taken: path (f_one) has no condition, '
        "so it is always taken."
    ]


def test_a_join_on_a_loop_with_a_parallel_join_is_refused() -> None:
    # split → a → J (inclusive) → P (parallel join) ← b ← split; P → decision → back to split or end.
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.script("a", '{"a": true}'),
        bpmn.script("b", '{"b": true}'),
        bpmn.gateway("J", "inclusive", name="Any join"),
        bpmn.script("c", '{"c": true}'),
        bpmn.gateway("P", "parallel", name="All join"),
        bpmn.gateway("again", default="f_out"),
        bpmn.end(),
        bpmn.flow("start", "split"),
        *bpmn.chain("split", "a", "J"),
        bpmn.flow("split", "c"),
        bpmn.flow("c", "J"),
        *bpmn.chain("J", "P"),
        *bpmn.chain("split", "b", "P"),
        bpmn.flow("P", "again"),
        bpmn.flow("again", "split", id="f_back", condition="false"),
        bpmn.flow("again", "end", id="f_out"),
    )
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert (
        'Join of the paths taken "Any join" (J) is on a loop with Parallel join "All join" (P): each comes after '
        "the other, so each could wait forever for a token the other holds. Take one of the two joins off the loop."
    ) in errors


def test_an_any_of_these_paths_gateway_as_a_loops_entry_is_refused_as_a_second_join() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("which", "inclusive", name="Which?"),
        bpmn.script("a", '{"a": true}'),
        bpmn.gateway("join", "inclusive", name="Done"),
        bpmn.gateway("again", default="f_out"),
        bpmn.end(),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "a", condition="true"),
        bpmn.flow("which", "join", condition="true"),
        *bpmn.chain("a", "join", "again"),
        bpmn.flow("again", "which", id="f_back", condition="false"),
        bpmn.flow("again", "end", id="f_out"),
    )
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert (
        'Join of the paths taken "Done" (join) is on a loop with Any of these paths "Which?" (which)'
        in errors[-1]
    )


FILES = Path(__file__).parent / "bpmn_files"


def test_a_camunda_modeler_file_with_an_inclusive_gateway_and_its_diagram_compiles() -> None:
    result = compile_bpmn((FILES / "camunda_inclusive.bpmn").read_bytes())
    assert result.ok, [str(e) for e in result.errors]
    nodes = result.graph["nodes"]
    assert nodes["Gateway_reviews"]["kind"] == "inclusive"
    assert nodes["Gateway_reviews"]["config"]["role"] == "split"
    assert nodes["Gateway_reviews"]["config"]["default"] == "Flow_no_review"
    assert nodes["Gateway_reviews_done"]["config"]["role"] == "join"
    assert "Activity_legal" in nodes["Gateway_reviews_done"]["config"]["upstream"]
    assert result.graph["flows"]["Flow_finance"]["condition"] == "value > 50000.0"
    assert [str(w) for w in result.warnings] == [
        "Settings for other engines are ignored: camunda:asyncBefore (on Gateway_reviews); "
        "camunda:candidateGroups (on Activity_legal, Activity_finance); camunda:historyTimeToLive (on contract_review)."
    ]


# --- the scope filter


def test_a_join_counts_only_steps_of_its_own_scope() -> None:
    outside, inside = Step(node_id="x"), Step(node_id="y", scope_id=7)
    assert inclusive.same_scope([outside, inside], None) == [outside]
    assert inclusive.same_scope([outside, inside], 7) == [inside]


# --- with a real worker


class _Rendezvous:
    """An HTTP service that answers the two branches of one instance together.

    Each request waits (up to a second) for the other branch of its instance, so both
    worker processes report their results at the same moment and race for the join.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[str, threading.Event] = {}
        self.met = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                instance = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instance"]
                with service.lock:
                    other = service.arrived.pop(instance, None)
                    if other is None:
                        mine = service.arrived[instance] = threading.Event()
                if other is not None:
                    other.set()
                elif mine.wait(timeout=1):
                    with service.lock:
                        service.met += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def rendezvous() -> Iterator[_Rendezvous]:
    service = _Rendezvous()
    yield service
    service.httpd.shutdown()
    service.httpd.server_close()


@pytest.mark.integration
def test_two_taken_paths_finishing_together_on_the_worker_join_exactly_once(
    live_engine: Engine, rendezvous: _Rendezvous
) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("which", "inclusive", default="f_never"),
        *(
            bpmn.service(
                side,
                properties={"url": f"{rendezvous.url}/{side}", "method": "POST"},
                inputs={"instance": "instance_id"},
            )
            for side in ("left", "right")
        ),
        bpmn.script("never", '{"never": true}'),
        bpmn.gateway("join", "inclusive"),
        bpmn.script("after", '{"joined": true}'),
        bpmn.end(),
        bpmn.flow("start", "which"),
        bpmn.flow("which", "left", condition="true"),
        bpmn.flow("which", "right", condition='instance_id != ""'),
        bpmn.flow("which", "never", id="f_never"),
        *bpmn.chain("left", "join"),
        *bpmn.chain("right", "join"),
        *bpmn.chain("never", "join"),
        *bpmn.chain("join", "after", "end"),
    )
    version = publish(xml, key="any-on-worker")

    instances = [start_instance(version, {}) for _ in range(20)]
    wait_until_completed(instances, timeout=180)

    fired = Step.objects.filter(instance__in=instances, node_id="join", join_key__isnull=False)
    assert sorted(fired.values_list("instance_id", flat=True)) == sorted(i.id for i in instances)
    assert all(step.output["joined"] == 2 for step in fired)
    assert Step.objects.filter(instance__in=instances, node_id="after").count() == 20
    assert not Step.objects.filter(instance__in=instances, node_id="never").exists()
    assert not Step.objects.filter(instance__in=instances, status__in=Step.OPEN_STATUSES).exists()
    assert rendezvous.met > 0, "no two branches of one instance were answered together"
