"""Decision (BPMN exclusiveGateway): its paths, chosen by conditions or by the AI; with one way out, a merge."""

from __future__ import annotations

from typing import Any

from django import forms

from designer.diagram import Payload, baton_attr, condition
from designer.panels.ask_ai import AIQuestionFields
from designer.panels.base import BlockForm, PanelContext, display_name
from orchestration.connectors import ai

CHOOSERS = [("conditions", "Conditions"), ("ai", "The AI")]
# The question's fields: required only when the AI chooses.
_AI_FIELDS = ("connection", "instruction")


class DecisionForm(AIQuestionFields, BlockForm):
    kind = "decision"
    label = "Decision"
    icon = "bi-signpost-split"
    help = (
        "The request takes the first path whose condition holds (or the path the AI chooses), "
        "else the default path. Click a path to set its condition or its name."
    )
    partial = "decision"
    chooses_paths = True
    merge = False

    chooser = forms.ChoiceField(
        label="Who chooses the path",
        choices=CHOOSERS,
        initial="conditions",
        required=False,  # a post without it (an older page) keeps the conditions
        widget=forms.RadioSelect,
        help_text="The AI reads your instruction and picks one of the paths by its name, saying why.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer_servers()
        self.fields["instruction"].widget.attrs["placeholder"] = (
            "Which path fits {{description}}? Unusual amounts for the category need a review."
        )
        if self.is_bound and self.data.get(self.add_prefix("chooser")) != "ai":
            for name in _AI_FIELDS:
                self.fields[name].required = False
        outgoing = self.ctx.diagram.outgoing(self.ctx.element_id)
        if len(outgoing) == 1 and len(self.ctx.diagram.incoming(self.ctx.element_id)) > 1:
            # One way out and several in: the compiler runs it as a merge.
            self.label, self.icon = "Merge", "bi-sign-merge-left"
            self.merge = True
            self.help = (
                "Paths that were split by a Decision join here; the request goes on as soon as one arrives."
            )

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        by_ai = (baton_attr(ctx.element, "connector") or "").strip() == ai.NAME
        return {"chooser": "ai" if by_ai else "conditions", **(cls.question_initial(ctx) if by_ai else {})}

    def clean(self) -> dict[str, Any]:
        super().clean()
        if self.cleaned_data.get("chooser") == "ai":
            self.check_placeholders()
        return self.cleaned_data

    def payload(self) -> Payload:
        payload = super().payload()
        if self.merge:
            return payload
        if self.cleaned_data.get("chooser") == "ai":
            attrs, extensions = self.question_payload()
            payload["attrs"] = attrs
            payload["extensions"] = extensions
        else:
            payload["attrs"] = {"baton:connector": None, "baton:retries": None}
            payload["extensions"] = {"property": [], "input": []}
        return payload

    def paths(self) -> list[dict[str, Any]]:
        return outgoing_paths(self.ctx)


def outgoing_paths(ctx: PanelContext) -> list[dict[str, Any]]:
    """The paths leaving the selected gateway: a name to show, whether it has one of its own, the
    condition, and whether it is the default."""
    diagram, gateway_id = ctx.diagram, ctx.element_id
    default = ctx.element.get("default")
    paths = []
    for flow in diagram.outgoing(gateway_id):
        target = diagram.find(flow.get("targetRef", "").strip())
        paths.append(
            {
                "id": flow.get("id", ""),
                "name": display_name(flow)
                or (display_name(target) and f"to {display_name(target)}")
                or flow.get("id", ""),
                "named": bool(display_name(flow)),
                "condition": condition(flow) or "",
                "default": flow.get("id") == default,
            }
        )
    return paths
