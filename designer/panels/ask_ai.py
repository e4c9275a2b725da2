"""Ask AI (a BPMN serviceTask running the AI connector): the model server, the instruction, the answer's fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from lxml import etree

from designer.cel_builder import check_cel
from designer.diagram import Payload, baton_attr, extension_items
from designer.panels.base import BlockForm, PanelContext, choice_field, setting, with_current
from designer.panels.rows import AnswerFieldRows, ToolRows
from orchestration.connectors import ai
from orchestration.models import Connection

# Settings the panel writes as the connector's properties (the rest are kept as they are).
_PROPERTIES = (
    "connection",
    "instruction",
    "model",
    "max_tokens",
    "token_budget",
    "timeout",
    "max_tool_calls",
)


def is_ask_ai(element: etree._Element) -> bool:
    """Whether ``element`` runs the AI connector (its own panel, not the Automated step's)."""
    return (baton_attr(element, "connector") or "").strip() == ai.NAME


class AIQuestionFields(forms.Form):
    """The fields of one question to an AI, shared by Ask AI and a Decision the AI decides:
    the model server, the instruction with values picked into it, and the details."""

    connection = forms.ChoiceField(
        label="Model server",
        help_text="Administrators keep the servers (address, key, model) under Connections.",
    )
    instruction = forms.CharField(
        label="Instruction",
        max_length=ai.MAX_INSTRUCTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Write it like a message to a colleague. Put values of the request in with “+ Value”: "
        "each shows as {{its name}} and is replaced by the request's value when the AI is asked.",
    )
    instruction_mode = forms.CharField(
        required=False, widget=forms.HiddenInput
    )  # the picker inserts {{name}}
    model = forms.CharField(
        label="Model",
        required=False,
        max_length=200,
        help_text="Leave empty for the model the server's connection names.",
    )
    max_tokens = forms.IntegerField(
        label="Longest answer (tokens)",
        required=False,
        min_value=16,
        max_value=ai.MAX_MAX_TOKENS,
        help_text=f"The step's budget; default {ai.DEFAULT_MAX_TOKENS}.",
    )
    token_budget = forms.IntegerField(
        label="Most tokens for the step",
        required=False,
        min_value=100,
        max_value=ai.MAX_TOKEN_BUDGET,
        help_text=f"All the model reads and writes here, every call; default {ai.DEFAULT_TOKEN_BUDGET}.",
    )
    timeout = forms.FloatField(
        label="Wait for an answer (seconds)",
        required=False,
        min_value=1,
        max_value=ai.MAX_TIMEOUT_SECONDS,
        help_text=f"Default {ai.DEFAULT_TIMEOUT_SECONDS:g}; then it tries again later.",
    )
    retries = forms.IntegerField(
        label="Retries",
        required=False,
        min_value=0,
        max_value=50,
        help_text="When the server is busy or down (default 3).",
    )

    ctx: PanelContext

    def offer_servers(self) -> None:
        """Offer the Connections as model servers (keeping the one the diagram names)."""
        # Connections that name a model come first; the others (an ERP, a chat) are unlikely choices.
        found = list(Connection.objects.order_by("name"))
        models = [(c.name, str(c)) for c in found if (c.settings or {}).get("model")]
        others = [(c.name, f"{c} (names no model)") for c in found if not (c.settings or {}).get("model")]
        servers = [*models, *others]
        current = self._properties().get("connection", "")
        choice_field(self.fields["connection"]).choices = with_current([("", "Choose…"), *servers], current)
        self.fields["instruction"].widget.attrs["placeholder"] = (
            "Read {{invoice_text}}. Extract the vendor and the amount, and say whether it looks unusual."
        )

    def _properties(self) -> dict[str, str]:
        return {p.get("name", ""): p.get("value", "") for p in extension_items(self.ctx.element, "property")}

    @classmethod
    def question_initial(cls, ctx: PanelContext) -> dict[str, Any]:
        """The question's fields as the element stores them."""
        stored = {p.get("name", ""): p.get("value", "") for p in extension_items(ctx.element, "property")}
        return {
            **{name: stored.get(name) or None for name in _PROPERTIES},
            "instruction_mode": "text",
            "retries": setting(ctx, "retries") or None,
        }

    def check_placeholders(self) -> None:
        """Each {{value}} of the instruction must be a value of the request at this block."""
        types = self.ctx.scope.types()
        for name in ai.placeholders(self.cleaned_data.get("instruction", "")):
            try:
                check_cel(name, types)
            except ValidationError:
                self.add_error("instruction", f"{{{{{name}}}}} is not a value of the request at this point.")

    def question_payload(self) -> tuple[dict[str, str | int | float | None], dict[str, list[dict[str, Any]]]]:
        """The attributes and extension elements that store the question (the connector, its settings, its inputs)."""
        data = self.cleaned_data
        written = {
            "connection": data["connection"],
            "instruction": data["instruction"].strip(),
            "model": data["model"].strip(),
            "max_tokens": "" if data["max_tokens"] is None else str(data["max_tokens"]),
            "token_budget": "" if data["token_budget"] is None else str(data["token_budget"]),
            "timeout": "" if data["timeout"] is None else f"{data['timeout']:g}",
        }
        kept = [{"name": k, "value": v} for k, v in self._properties().items() if k not in written]
        names = ai.placeholders(written["instruction"])
        attrs: dict[str, str | int | float | None] = {
            "baton:connector": ai.NAME,
            "baton:retries": data["retries"],
        }
        extensions = {
            "property": [{"name": k, "value": v} for k, v in written.items() if v] + kept,
            # Each value the instruction names is sent as data (never evaluated from the answer).
            "input": [{"name": name, "expression": name} for name in names],
        }
        return attrs, extensions


class AskAIForm(AIQuestionFields, BlockForm):
    kind = "ask_ai"
    label = "Ask AI"
    icon = "bi-stars"
    help = (
        "An AI model reads what you give it and answers with the values you name; later blocks use "
        "them. People still decide: show its advice to an approver with answers named recommendation and reason."
    )
    partial = "ask_ai"
    row_sets = {"answers": (AnswerFieldRows, "answerField", {}), "tools": (ToolRows, "tool", {})}

    answer_to_requester = forms.BooleanField(
        label="Show the AI's answer to the requester",
        required=False,
        help_text="Its answers, on their request's page. Off: only the people who decide and run "
        "this process see them.",
    )
    max_tool_calls = forms.IntegerField(
        label="Most tool calls",
        required=False,
        min_value=1,
        max_value=ai.MAX_MAX_TOOL_CALLS,
        help_text=f"How often the AI may use its tools in one step; default {ai.DEFAULT_MAX_TOOL_CALLS}. "
        "Past it the step stops for an operator.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer_servers()

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {
            **cls.question_initial(ctx),
            "answer_to_requester": setting(ctx, "answerToRequester") == "true",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.check_placeholders()
        if self.rows["answers"].is_valid() and not self.rows["answers"].items():
            self.add_error(None, "Add at least one answer field: the values the AI must give.")
        if self.rows["tools"].is_valid():
            chosen = [(t["action"], t.get("connection", "")) for t in self.rows["tools"].items()]
            if len(set(chosen)) < len(chosen):
                self.add_error(None, "A tool is chosen twice: remove one.")
        return self.cleaned_data

    def payload(self) -> Payload:
        payload = super().payload()
        attrs, extensions = self.question_payload()
        tool_calls = self.cleaned_data["max_tool_calls"]
        properties = [p for p in extensions["property"] if p["name"] != "max_tool_calls"]
        if tool_calls is not None:
            properties.append({"name": "max_tool_calls", "value": str(tool_calls)})
        payload["attrs"] = {
            **attrs,
            "baton:answerToRequester": True if self.cleaned_data["answer_to_requester"] else None,
        }
        payload["extensions"] = {
            **extensions,
            "property": properties,
            "answerField": self.rows["answers"].items(),
            "tool": self.rows["tools"].items(),
            "output": [],
        }
        return payload
