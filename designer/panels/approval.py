"""Approval (BPMN userTask): who decides, due dates, reminders and escalation."""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from designer.diagram import DecisionPath, Payload, baton_attr, local
from designer.panels.base import (
    BlockForm,
    PanelContext,
    choice_field,
    duration_fields,
    or_none,
    setting,
    variable_name,
    with_current,
)
from designer.panels.rows import FormFieldRows
from designer.scope import NUMERIC, Variable
from orchestration import expressions
from orchestration.durations import duration_to_iso, iso_to_duration
from orchestration.engine.human import PATH_OUTCOMES

ASSIGNEE_RULES: tuple[tuple[str, str], ...] = (
    ("user", "A named person"),
    ("group", "A group's queue (anyone in it can claim)"),
    ("manager", "The requester's manager"),
    ("authority_chain", "Up the management chain until someone's signature limit covers the amount"),
    ("from_data", "The person named in the request's data (for example, each person in a list)"),
    ("group_from_data", "The group named in the request's data (for example, each cost centre's approvers)"),
)
FROM_DATA = ("from_data", "group_from_data")


class ApprovalForm(BlockForm):
    kind = "approval"
    label = "Approval"
    icon = "bi-person-check"
    help = "Someone approves or rejects. The request waits here until they decide."
    partial = "approval"
    live = {"amount": {"expect": "number"}, "assignee_expression": {"expect": "text"}}
    row_sets = {"fields": (FormFieldRows, "formField", {})}

    assignee_rule = forms.ChoiceField(label="Who decides", choices=ASSIGNEE_RULES, widget=forms.RadioSelect)
    assignee = forms.ChoiceField(label="Person", required=False)
    assignee_expression = forms.CharField(
        label="Named in",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="Gives the username or group name: <code>item</code> in a For each over a list of "
        'people, or <code>"Cost centre " + item</code> for each cost centre\'s group.',
    )
    candidate_groups = forms.MultipleChoiceField(
        label="Groups", required=False, widget=forms.CheckboxSelectMultiple
    )
    quorum = forms.ChoiceField(
        label="How many must approve",
        choices=[("any", "Any one of them"), ("all", "All of them")],
        initial="any",
        required=False,
        widget=forms.RadioSelect,
    )
    amount = forms.CharField(
        label="Amount",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="The amount compared with signature limits: a number from the request, or a formula.",
    )
    due_count, due_unit = duration_fields("Due in", "Leave empty for no due date.")
    reminder_count, reminder_unit = duration_fields("Remind after", "Sends a reminder if still undecided.")
    escalate_to = forms.ChoiceField(
        label="When overdue, hand over to",
        required=False,
        help_text="A group that takes over an overdue task.",
    )
    result_variable = forms.CharField(
        label="Save the decision as",
        required=False,
        max_length=100,
        help_text="Later blocks read <code>approval.outcome</code> and <code>approval.comment</code>.",
    )

    # Posted by an "Add a path for …" button (never rendered as a field).
    add_path = forms.ChoiceField(required=False, choices=[("", ""), *PATH_OUTCOMES.items()])

    def __init__(self, *args: Any, ctx: PanelContext, **kwargs: Any) -> None:
        super().__init__(*args, ctx=_with_item(ctx), **kwargs)
        users = get_user_model()._default_manager.filter(is_active=True).order_by("username")
        people = [
            (u.get_username(), f"{u.get_full_name() or u.get_username()} ({u.get_username()})") for u in users
        ]
        groups = list(Group.objects.order_by("name").values_list("name", flat=True))
        if self.is_bound:
            current_groups = self.data.getlist("candidate_groups") if hasattr(self.data, "getlist") else []
        else:
            current_groups = self.initial.get("candidate_groups") or []
        choice_field(self.fields["assignee"]).choices = with_current(
            [("", "Choose a person…"), *people], self._current("assignee")
        )
        choice_field(self.fields["candidate_groups"]).choices = [(g, g) for g in groups] + [
            (g, f"{g} (not found)") for g in current_groups if g and g not in groups
        ]
        choice_field(self.fields["escalate_to"]).choices = with_current(
            [("", "No one (it stays overdue)"), *((g, g) for g in groups)], self._current("escalate_to")
        )
        self.fields["result_variable"].widget.attrs["placeholder"] = "approval"

    def after(self) -> list[dict[str, Any]]:
        """What happens after the decision: each decision with the block its path leads to (or none yet).

        An Approval whose paths name no decision lists them as taken whatever is decided.
        """
        diagram = self.ctx.diagram
        rows: list[dict[str, Any]] = []
        marked: dict[str, dict[str, str]] = {}
        for flow in diagram.outgoing(self.ctx.element_id):
            target = diagram.find(flow.get("targetRef", "").strip())
            where = {
                "target": target.get("id", "") if target is not None else "",
                "target_name": _block_words(target),
            }
            outcome = (baton_attr(flow, "outcome") or "").strip()
            if outcome in PATH_OUTCOMES:
                marked.setdefault(outcome, where)
            else:
                rows.append({"outcome": "", "label": "Whatever is decided", **where})
        if not marked:
            return rows  # none yet, or every decision on the same paths
        listed = [
            {"outcome": key, "label": words, **marked[key]}
            if key in marked
            else {"outcome": key, "label": words}
            for key, words in PATH_OUTCOMES.items()
        ]
        return listed + rows

    def missing_paths(self) -> list[tuple[str, str]]:
        """The decisions with no path of their own yet, as (outcome, words), for the "Add a path" buttons."""
        taken = {
            (baton_attr(flow, "outcome") or "").strip()
            for flow in self.ctx.diagram.outgoing(self.ctx.element_id)
        }
        return [(key, words) for key, words in PATH_OUTCOMES.items() if key not in taken]

    def numeric_variables(self) -> list[tuple[str, list[Variable]]]:
        return self.variables("number", "integer")

    def _current(self, name: str) -> str:
        return str((self.data.get(name) if self.is_bound else self.initial.get(name)) or "")

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        groups = [g.strip() for g in setting(ctx, "candidateGroups").split(",") if g.strip()]
        rule = setting(ctx, "assigneeRule") or (
            "user" if setting(ctx, "assignee") else "group" if groups else _usual_rule(ctx)
        )
        due_count, due_unit = iso_to_duration(setting(ctx, "dueIn"))
        reminder_count, reminder_unit = iso_to_duration(setting(ctx, "reminderIn"))
        return {
            "assignee_rule": rule,
            "assignee": setting(ctx, "assignee"),
            "assignee_expression": setting(ctx, "assigneeExpression"),
            "candidate_groups": groups,
            "quorum": setting(ctx, "quorum") or "any",
            "amount": setting(ctx, "amount"),
            "due_count": due_count,
            "due_unit": due_unit,
            "reminder_count": reminder_count,
            "reminder_unit": reminder_unit,
            "escalate_to": setting(ctx, "escalateTo"),
            "result_variable": setting(ctx, "resultVariable"),
        }

    def clean_result_variable(self) -> str:
        name: str = self.cleaned_data["result_variable"].strip()
        return variable_name(name) if name else ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        rule = data.get("assignee_rule")
        if rule == "user" and not data.get("assignee"):
            self.add_error("assignee", "Choose the person who decides.")
        if rule == "group" and not data.get("candidate_groups"):
            self.add_error("candidate_groups", "Choose at least one group.")
        named_in = data.get("assignee_expression", "").strip()
        if rule in FROM_DATA and not named_in:
            who = "person" if rule == "from_data" else "group"
            self.add_error("assignee_expression", f"Say where in the request's data the {who} is named.")
        elif rule in FROM_DATA:
            self.check("assignee_expression", named_in, "text")
        amount = data.get("amount", "").strip()
        if amount:
            self.check("amount", amount, "number")
        elif rule == "authority_chain" and self.ctx.scope.types().get("amount") not in NUMERIC:
            self.add_error("amount", "Say which amount to compare with signature limits.")
        for key in ("due", "reminder"):
            if data.get(f"{key}_count") and not data.get(f"{key}_unit"):
                self.add_error(f"{key}_unit", "Choose a unit.")
        if data.get("escalate_to") and not data.get("due_count"):
            self.add_error("due_count", "Give a due date: the task is handed over when it is overdue.")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        rule = data["assignee_rule"]
        payload["attrs"] = {
            "baton:assigneeRule": rule,
            "baton:assignee": data["assignee"] if rule == "user" else None,
            "baton:assigneeExpression": data["assignee_expression"].strip() if rule in FROM_DATA else None,
            "baton:candidateGroups": ",".join(data["candidate_groups"]) if rule == "group" else None,
            "baton:quorum": (data["quorum"] or "any") if rule == "group" else None,
            "baton:amount": or_none(data["amount"]),
            "baton:dueIn": duration_to_iso(data["due_count"], data["due_unit"])
            if data["due_count"]
            else None,
            "baton:reminderIn": (
                duration_to_iso(data["reminder_count"], data["reminder_unit"])
                if data["reminder_count"]
                else None
            ),
            "baton:escalateTo": or_none(data["escalate_to"]),
            "baton:resultVariable": or_none(data["result_variable"]),
        }
        payload["extensions"] = self._extensions()
        if data.get("add_path"):
            payload["paths"] = self._new_paths(data["add_path"])
        return payload

    def _new_paths(self, outcome: str) -> list[DecisionPath]:
        """A new path for ``outcome`` to a new End named for it.

        The first decision given a path turns the one plain path already there into the Approved
        path (or, adding Approved, that path is marked instead of drawing a new End).
        """
        diagram = self.ctx.diagram
        here = self.ctx.element_id
        outgoing = diagram.outgoing(here)
        plain = [f for f in outgoing if not (baton_attr(f, "outcome") or "").strip()]
        paths: list[DecisionPath] = []
        if len(plain) == 1 and len(outgoing) == 1:
            existing = plain[0].get("id", "")
            paths.append({"flow": existing, "outcome": "approved", "name": PATH_OUTCOMES["approved"]})
            if outcome == "approved":
                return paths
        words = PATH_OUTCOMES[outcome]
        end_id = diagram.new_id(f"End_{here}_{outcome}")
        paths.append(
            {
                "flow": diagram.new_id(f"Flow_{here}_{outcome}"),
                "outcome": outcome,
                "name": words,
                "end": {"id": end_id, "name": words},
            }
        )
        return paths


def _usual_rule(ctx: PanelContext) -> str:
    """Who decides on a new Approval: up the authority chain when the request has an amount to sign for."""
    return "authority_chain" if ctx.scope.types().get("amount") in NUMERIC else ""


def _block_words(el: Any) -> str:
    """How the panel names the block a path leads to: its name, else its kind ("an End")."""
    if el is None:
        return "nowhere yet"
    name = " ".join(el.get("name", "").split())
    if name:
        return name
    from designer.panels import form_class  # the table of forms imports this module

    return f"an unnamed {form_class(el).label}"


def _with_item(ctx: PanelContext) -> PanelContext:
    """``ctx`` with the item of the block's own For each in scope: its approver may be named by it."""
    children = (c for c in ctx.element if isinstance(c.tag, str))
    loop = next((c for c in children if local(c) == "multiInstanceLoopCharacteristics"), None)
    if loop is None:
        return ctx
    item = baton_attr(loop, "elementVariable") or "item"
    if ctx.scope.get(item) is not None:
        return ctx
    variable = Variable(item, "dyn", "For each", "The item this approval is for")
    # The page lists and posts back the context's scope (live checks), so the item is added there.
    ctx.scope = dataclasses.replace(ctx.scope, variables=(*ctx.scope.variables, variable))
    return ctx
