"""A path (BPMN sequenceFlow): leaving a Decision or Any of these paths, its condition, from the builder or in CEL."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from designer.cel_builder import (
    BUILDER_TYPES,
    OPERATORS,
    Operator,
    build_condition,
    operand_kind,
    parse_condition,
)
from designer.diagram import Payload, baton_attr, condition, local
from designer.panels.base import BlockForm, PanelContext, choice_field
from designer.scope import Variable
from orchestration import expressions
from orchestration.connectors import ai
from orchestration.engine.human import PATH_OUTCOMES


class PathForm(BlockForm):
    """A path between blocks; leaving a block that chooses paths it carries a condition or is the default path."""

    kind = "path"
    label = "Path"
    icon = "bi-arrow-right"
    help = "A path from one block to the next. Its name is shown on the diagram."
    partial = "path"
    live = {"condition": {}}

    outcome = forms.ChoiceField(
        label="When",
        required=False,
        choices=[("", "Whatever is decided"), *PATH_OUTCOMES.items()],
        help_text="Which decision takes this path. Its name on the diagram follows.",
    )
    is_default = forms.BooleanField(
        label="Default path", required=False, help_text="Taken when no other path's condition holds."
    )
    condition_mode = forms.ChoiceField(
        choices=[("builder", "Builder"), ("cel", "CEL")],
        initial="builder",
        required=False,
        widget=forms.HiddenInput,
    )
    field = forms.ChoiceField(label="When", required=False)
    operator = forms.ChoiceField(label="is", required=False, choices=[(op.key, op.label) for op in OPERATORS])
    value = forms.CharField(label="Value", required=False, max_length=1000)
    condition = forms.CharField(
        label="Condition (CEL)",
        required=False,
        max_length=expressions.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.ai_chooses:
            self.fields["is_default"].help_text = "Taken when the AI cannot choose."
        choice_field(self.fields["field"]).choices = [
            ("", "Choose a value…"),
            *((v.name, v.shown) for v in self.builder_variables()),
        ]

    def builder_variables(self) -> list[Variable]:
        return [v for v in self.ctx.scope.variables if v.type in BUILDER_TYPES]

    def builder_groups(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The builder's values, grouped, with what the browser needs to offer fitting operators."""
        return [
            (origin, [{**vars(v), "kind": operand_kind(v), "shown": v.shown} for v in group])
            for origin, group in self.ctx.scope.groups(self.builder_variables())
        ]

    @property
    def leaves_approval(self) -> bool:
        """Whether the path leaves an Approval: it is then taken for one decision."""
        source = self.ctx.diagram.source(self.ctx.element)
        return source is not None and local(source) == "userTask"

    @property
    def decision(self) -> bool:
        """Whether the path leaves a gateway choosing among several paths (a Decision, Any of these paths)."""
        from designer.panels import form_class  # the table of forms imports this module

        source = self.ctx.diagram.source(self.ctx.element)
        return (
            source is not None
            and form_class(source).chooses_paths
            and len(self.ctx.diagram.outgoing(source.get("id", ""))) > 1
        )

    @property
    def ai_chooses(self) -> bool:
        """Whether the path leaves a Decision the AI decides: chosen by its name, it has no condition."""
        source = self.ctx.diagram.source(self.ctx.element)
        return (
            source is not None
            and local(source) == "exclusiveGateway"
            and (baton_attr(source, "connector") or "").strip() == ai.NAME
        )

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        source = ctx.diagram.source(ctx.element)
        is_default = source is not None and source.get("default") == ctx.element_id
        text = condition(ctx.element) or ""
        initial: dict[str, Any] = {
            "is_default": is_default,
            "condition": text,
            "outcome": (baton_attr(ctx.element, "outcome") or "").strip(),
        }
        parsed = parse_condition(text, ctx.scope) if text else None
        if parsed is not None:
            initial.update(field=parsed[0], operator=parsed[1], value=parsed[2], condition_mode="builder")
        else:
            initial["condition_mode"] = "cel" if text else "builder"
        return initial

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        self.cel = ""
        if not self.decision or data.get("is_default") or self.ai_chooses:
            return data
        if data.get("condition_mode") == "cel":
            source = data.get("condition", "").strip()
            if not source:
                self.add_error("condition", "Write the condition, or make this the default path.")
                return data
            self.cel = self.check("condition", source, "bool")
            return data
        variable = self.ctx.scope.get(data.get("field", ""))
        if variable is None:
            self.add_error("field", "Choose what the condition looks at, or make this the default path.")
            return data
        try:
            self.cel = build_condition(variable, data.get("operator", ""), data.get("value", ""))
        except ValidationError as exc:
            self.add_error("value", exc)
            return data
        self.check("value", self.cel, "bool")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        if self.leaves_approval:
            outcome = self.cleaned_data.get("outcome") or ""
            payload["attrs"] = {"baton:outcome": outcome or None}
            # The label follows the decision unless someone named the path themselves.
            if outcome and payload["name"] in ("", *PATH_OUTCOMES.values()):
                payload["name"] = PATH_OUTCOMES[outcome]
        if self.decision:
            payload["isDefault"] = bool(self.cleaned_data["is_default"])
            payload["condition"] = self.cel
            other = self._the_other_path() if self.cel else None
            if other is not None:
                payload["otherDefault"] = other
        return payload

    def _the_other_path(self) -> str | None:
        """Of a Decision's two paths, the other one, when it has neither a condition nor a default yet:
        a condition on one path makes it the path taken otherwise."""
        source = self.ctx.diagram.source(self.ctx.element)
        if source is None or source.get("default"):
            return None
        others = [
            f for f in self.ctx.diagram.outgoing(source.get("id", "")) if f.get("id") != self.ctx.element_id
        ]
        if len(others) != 1 or condition(others[0]):
            return None
        return others[0].get("id") or None

    def operators(self) -> list[Operator]:
        return list(OPERATORS)
