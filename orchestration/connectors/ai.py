"""AI connector ("Ask AI"): one question to a model over the OpenAI-compatible chat-completions protocol.

The block's instruction is data: ``{{name}}`` placeholders are replaced by the step's input
values (never evaluated), and the model's answer is asked for as a JSON object with the
block's declared answer fields, checked against their types and allowed values. An invalid
answer is asked again once with what was wrong; a second invalid answer fails the step for
good (an incident an operator fixes). Rate limits (429), server errors and timeouts are
retried by the engine with backoff (``send_json`` says which failures are retryable).

The Connection gives the base URL (``https://api.openai.com/v1``, a vLLM or llama.cpp
server, Ollama's ``/v1``), the key as a secret header (``Authorization: Bearer …``) and the
model in its settings (``{"model": "…"}``). The key never enters the conversation, the
step's record or an error message.

A block may let the model call connectors as tools while it answers (``tools``,
``max_tool_calls``): ``orchestration.connectors.ai_tools`` offers, checks, runs and records them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from django import forms

from orchestration import connections, expressions, values
from orchestration.connectors.base import Connector, ConnectorError, ConnectorField
from orchestration.connectors.http import HttpReply, HttpStatusError, redacted, send_json
from orchestration.connectors.registry import register
from orchestration.expressions import VariableType

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Graph, Node
    from orchestration.connectors.ai_tools import Tool, Toolbox
    from orchestration.models import ProcessInstance

NAME: Final = "ai.ask"
DEFAULT_MAX_TOKENS: Final = 1000
MAX_MAX_TOKENS: Final = 32000
# The whole step's budget (every call of its conversation: what the model read and wrote).
DEFAULT_TOKEN_BUDGET: Final = 20000
MAX_TOKEN_BUDGET: Final = 1000000
DEFAULT_TIMEOUT_SECONDS: Final = 60.0
MAX_TIMEOUT_SECONDS: Final = 300.0
MAX_INSTRUCTION_CHARS: Final = 8000
# Tool calls one step may make in all (``orchestration.connectors.ai_tools``).
DEFAULT_MAX_TOOL_CALLS: Final = 5
MAX_MAX_TOOL_CALLS: Final = 20
# What a placeholder may name: a variable or a member of one (``{{approval.comment}}``).
PLACEHOLDER: Final = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# Answer fields an Approval shows its approver as the AI's advice (approvals' task page).
RECOMMENDATION: Final = "recommendation"
REASON: Final = "reason"

_SYSTEM = (
    "You help with one step of a business process. Follow the instruction, using only the "
    "information it gives. Answer with one JSON object and nothing else, with exactly these fields:"
)
_JSON_TYPES: Final[dict[str, dict[str, Any]]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "description": "A date as YYYY-MM-DD."},
    "list": {"type": "array", "items": {"type": "string"}},
    "map": {"type": "object"},
    "dyn": {},
}
_TYPE_WORDS: Final = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "date": "a date as YYYY-MM-DD",
    "list": "a list of texts",
    "map": "an object",
    "dyn": "any JSON value",
}


@dataclass(frozen=True)
class AnswerField:
    """One value the model must give: a later block reads it as a variable of ``type``."""

    name: str
    type: VariableType = "string"
    description: str = ""
    choices: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "choices": list(self.choices),
        }


class InvalidAnswer(ValueError):
    """The model's answer does not fit the declared fields; the message says what is wrong, for the model too."""


def answer_fields(raw: Any) -> list[AnswerField]:
    """Answer fields from their JSON form (a list of objects); raises ValueError naming what is wrong."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except RecursionError:  # a hand-written property nested past the stack
            raise ValueError("The answer fields must be a list.") from None
    if not isinstance(raw, list):
        raise ValueError("The answer fields must be a list.")
    fields: list[AnswerField] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("Each answer field must be an object.")
        name = str(item.get("name", "")).strip()
        kind = str(item.get("type") or "string").strip()
        if not expressions.is_identifier(name):
            raise ValueError(f"Answer field {name!r} is not a valid name (letters, digits and _).")
        if kind not in expressions.VARIABLE_TYPES:
            raise ValueError(f"Answer field {name!r} has unknown type {kind!r}.")
        if any(f.name == name for f in fields):
            raise ValueError(f"Two answer fields are named {name!r}.")
        choices = item.get("choices") or ()
        if isinstance(choices, str):
            choices = [c for c in choices.split(",")]
        fields.append(
            AnswerField(
                name,
                kind,
                str(item.get("description") or "").strip(),
                tuple(str(c).strip() for c in choices if str(c).strip()),
            )
        )
    return fields


def sample_answer(fields: list[AnswerField], today: date) -> dict[str, Any]:
    """An answer that fits ``fields``, for a test run to start from: each field's first allowed
    value, else a short text, 0, no, ``today``, an empty list or record."""
    samples: dict[str, Any] = {
        "string": "Sample text",
        "number": 0,
        "integer": 0,
        "boolean": False,
        "date": today.isoformat(),
        "list": [],
        "map": {},
        "dyn": "",
    }
    return {f.name: f.choices[0] if f.choices else samples[f.type] for f in fields}


def placeholders(instruction: str) -> list[str]:
    """The names ``{{…}}`` placeholders in ``instruction`` refer to, once each, in order."""
    return list(dict.fromkeys(PLACEHOLDER.findall(instruction)))


def render_instruction(instruction: str, data: dict[str, Any]) -> str:
    """``instruction`` with each placeholder replaced by its value as text; raises ConnectorError for a missing one."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in data:
            raise ConnectorError(
                f"The instruction refers to {{{{{name}}}}}, which the step was not given.", retryable=False
            )
        found = data[name]
        if isinstance(found, str):
            return found
        return json.dumps(found, ensure_ascii=False, default=str)

    return PLACEHOLDER.sub(value, instruction)


def answer_schema(fields: list[AnswerField]) -> dict[str, Any]:
    """The JSON schema of the answer object (every field required, no others)."""
    properties: dict[str, Any] = {}
    for field in fields:
        schema = dict(_JSON_TYPES[field.type])
        if field.choices and field.type == "string":
            schema["enum"] = list(field.choices)
        if field.description:
            schema["description"] = field.description
        properties[field.name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": [f.name for f in fields],
        "additionalProperties": False,
    }


def describe_fields(fields: list[AnswerField]) -> str:
    """The fields in words for the model (servers without JSON schema support read these)."""
    lines = []
    for field in fields:
        line = f'- "{field.name}": {_TYPE_WORDS[field.type]}'
        if field.choices:
            line += ", one of " + ", ".join(json.dumps(c) for c in field.choices)
        if field.description:
            line += f". {field.description}"
        lines.append(line)
    return "\n".join(lines)


def check_answer(content: Any, fields: list[AnswerField]) -> dict[str, Any]:
    """The answer's values by field, typed; raises :class:`InvalidAnswer` saying every problem."""
    if not isinstance(content, str) or not content.strip():
        raise InvalidAnswer("The answer was empty; give the JSON object.")
    text = content.strip()
    if text.startswith("```"):  # some models wrap JSON in a code fence despite being asked not to
        text = text.strip("`").removeprefix("json").strip()
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        raise InvalidAnswer("The answer was not valid JSON; give only the JSON object.") from None
    if not isinstance(parsed, dict):
        raise InvalidAnswer("The answer must be a JSON object.")
    answer: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields:
        if field.name not in parsed or parsed[field.name] is None:
            problems.append(f'"{field.name}" is missing')
            continue
        try:
            answer[field.name] = _typed(parsed[field.name], field)
        except InvalidAnswer as exc:
            problems.append(f'"{field.name}" {exc}')
    if problems:
        raise InvalidAnswer("; ".join(problems) + ".")
    return answer


def _typed(value: Any, field: AnswerField) -> Any:
    kind = field.type
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidAnswer("must be text")
        if field.choices and value not in field.choices:
            raise InvalidAnswer("must be one of " + ", ".join(json.dumps(c) for c in field.choices))
        return value
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        number = values.parse_number(str(value))
        if number is not None:
            return number
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        # Within 64 bits: a 400-digit integer has no float (OverflowError) nor a use as an amount.
        if (isinstance(value, int) or value.is_integer()) and abs(value) < 2**63:
            return int(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str) and values.parse_date(value):
        return values.parse_date(value)
    if kind == "list" and isinstance(value, list):
        return value
    if kind == "map" and isinstance(value, dict):
        return value
    if kind == "dyn":
        return value
    raise InvalidAnswer(f"must be {_TYPE_WORDS[kind]}")


class AskConfigForm(forms.Form):
    connection = forms.SlugField(
        label="Model server",
        max_length=100,
        help_text="A Connection (kept by administrators) to the model server: its address, key and model.",
    )
    instruction = forms.CharField(
        label="Instruction",
        max_length=MAX_INSTRUCTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Write it like a message to a colleague; {{name}} puts in a value of the request.",
    )
    answer_fields = forms.CharField(required=False, widget=forms.HiddenInput)
    model = forms.CharField(
        required=False, max_length=200, help_text="Leave empty to use the model the connection names."
    )
    max_tokens = forms.IntegerField(
        label="Most tokens in the answer",
        required=False,
        min_value=16,
        max_value=MAX_MAX_TOKENS,
        initial=DEFAULT_MAX_TOKENS,
        help_text=f"The answer's budget (default {DEFAULT_MAX_TOKENS}).",
    )
    token_budget = forms.IntegerField(
        label="Most tokens for the step",
        required=False,
        min_value=100,
        max_value=MAX_TOKEN_BUDGET,
        initial=DEFAULT_TOKEN_BUDGET,
        help_text=f"Everything the model reads and writes in this step, every call (default {DEFAULT_TOKEN_BUDGET}).",
    )
    timeout = forms.FloatField(
        label="Wait for an answer (seconds)",
        required=False,
        min_value=1,
        max_value=MAX_TIMEOUT_SECONDS,
        initial=DEFAULT_TIMEOUT_SECONDS,
        help_text=f"Default {DEFAULT_TIMEOUT_SECONDS:g}; a slow answer is tried again later.",
    )
    # The connectors the model may call while answering (JSON, ``ai_tools.tool_choices``).
    tools = forms.CharField(required=False, widget=forms.HiddenInput)
    max_tool_calls = forms.IntegerField(
        label="Most tool calls",
        required=False,
        min_value=1,
        max_value=MAX_MAX_TOOL_CALLS,
        initial=DEFAULT_MAX_TOOL_CALLS,
        help_text=f"How many times the AI may use its tools in one step (default {DEFAULT_MAX_TOOL_CALLS}).",
    )

    def clean_answer_fields(self) -> list[AnswerField]:
        try:
            fields = answer_fields(self.cleaned_data["answer_fields"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not fields:
            raise forms.ValidationError("Name at least one value the answer must give.")
        return fields

    def clean_max_tokens(self) -> int:
        tokens: int | None = self.cleaned_data["max_tokens"]
        return DEFAULT_MAX_TOKENS if tokens is None else tokens

    def clean_token_budget(self) -> int:
        budget: int | None = self.cleaned_data["token_budget"]
        return DEFAULT_TOKEN_BUDGET if budget is None else budget

    def clean_timeout(self) -> float:
        timeout: float | None = self.cleaned_data["timeout"]
        return DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout

    def clean_tools(self) -> list[Tool]:
        from orchestration.connectors import ai_tools

        try:
            return ai_tools.resolve(ai_tools.tool_choices(self.cleaned_data["tools"]))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_max_tool_calls(self) -> int:
        calls: int | None = self.cleaned_data["max_tool_calls"]
        return DEFAULT_MAX_TOOL_CALLS if calls is None else calls


@register
class AskAIConnector(Connector):
    """Ask a model one question and return its checked answer with the conversation, tokens and time."""

    name = NAME
    label = "Ask AI"
    description = (
        "Sends an instruction with values of the request to an AI model and returns its answer "
        "as the values you name. Operators see the whole conversation; the key is never stored."
    )
    config_form = AskConfigForm
    outputs: ClassVar[tuple[ConnectorField, ...]] = (
        ConnectorField("answer", "The answer, one value per answer field", "map"),
        ConnectorField("model", "The model that answered"),
        ConnectorField("usage", "How much text the model read and wrote", "map"),
        ConnectorField("duration_ms", "How long the model took (milliseconds)", "integer"),
    )
    example_output: ClassVar[dict[str, Any]] = {
        "answer": {"recommendation": "approve", "reason": "The amount is typical for the category."},
        "model": "example-model",
        "usage": {"prompt": 120, "answer": 30, "total": 150},
        "duration_ms": 800,
        "calls": 1,
        "conversation": [],
    }

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> list[str]:
        """An Ask AI step needs its model server, its instruction and at least one answer field."""
        problems = []
        if not str(config.get("connection", "")).strip():
            problems.append("has no model server: choose the connection it asks.")
        if not str(config.get("instruction", "")).strip():
            problems.append("has no instruction: say what the AI should do.")
        if not config.get("answer_fields"):
            problems.append("has no answer fields: name the values the AI must give.")
        if config.get("tools"):
            from orchestration.connectors import ai_tools

            problems += ai_tools.check_tools(config["tools"])
        return problems

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Ask; return ``{"answer", "model", "usage", "duration_ms", "calls", "response_format", "conversation"}``."""
        form = self.config_form(data=config)
        if not form.is_valid():
            problems = "; ".join(f"{f}: {' '.join(str(e) for e in errs)}" for f, errs in form.errors.items())
            raise ConnectorError(f"Invalid Ask AI settings ({problems})", retryable=False)
        settings = form.cleaned_data
        try:
            connection = connections.find(settings["connection"])
            headers = connections.secret_headers(connection)
        except connections.ConnectionUnavailable as exc:
            raise ConnectorError(str(exc), retryable=False) from None
        model = settings["model"].strip() or str((connection.settings or {}).get("model") or "")
        if not connection.base_url or not model:
            raise ConnectorError(
                f"Connection {connection.name!r} needs a base URL and a model "
                '(its settings: {"model": "…"}) to ask an AI.',
                retryable=False,
            )
        fields: list[AnswerField] = settings["answer_fields"]
        # A server echoing the request must not put the key into the step's record.
        secrets = [v for v in headers.values() if v]
        secrets += [v.split(" ", 1)[1] for v in secrets if " " in v and len(v.split(" ", 1)[1]) >= 8]
        toolbox = None
        if settings["tools"]:
            from orchestration.connectors.ai_tools import Toolbox

            toolbox = Toolbox(
                settings["tools"],
                step_key=idempotency_key,
                limit=settings["max_tool_calls"],
                secrets=secrets,
            )
        chat = _Chat(
            connection=connection.name,
            url=connection.base_url.rstrip("/") + "/chat/completions",
            model=model,
            headers=headers,
            max_tokens=settings["max_tokens"],
            token_budget=settings["token_budget"],
            timeout=settings["timeout"],
            idempotency_key=idempotency_key,
            fields=fields,
            tools=toolbox.specs() if toolbox is not None else [],
        )
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": f"{_SYSTEM}\n{describe_fields(fields)}"},
            {"role": "user", "content": render_instruction(settings["instruction"], data)},
        ]
        started = time.monotonic()
        content = chat.ask(messages, toolbox)
        try:
            answer = check_answer(content, fields)
        except InvalidAnswer as first:
            messages += [
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That answer is not valid: {first} Answer again with only the JSON object.",
                },
            ]
            content = chat.ask(messages, toolbox)
            try:
                answer = check_answer(content, fields)
            except InvalidAnswer as second:
                raise ConnectorError(
                    f"The AI's answer was invalid twice: {second} Its last answer: {_excerpt(content)}",
                    retryable=False,
                ) from None
        messages.append({"role": "assistant", "content": content})
        return redacted(
            {
                "answer": answer,
                "model": chat.answered_by or model,
                "usage": chat.usage,
                "duration_ms": round((time.monotonic() - started) * 1000),
                "calls": chat.calls,
                "response_format": chat.response_format,
                "conversation": messages,
                **({"tool_calls": toolbox.calls} if toolbox is not None else {}),
            },
            secrets,
        )


class _Chat:
    """One step's conversation with the server: sends, falls back to JSON mode, adds up the tokens."""

    def __init__(
        self,
        *,
        connection: str = "",
        url: str,
        model: str,
        headers: dict[str, str],
        max_tokens: int,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        timeout: float,
        idempotency_key: str,
        fields: list[AnswerField],
        tools: list[dict[str, Any]] | None = None,
    ) -> None:
        self.connection, self.url, self.model, self.headers = connection, url, model, headers
        self.tools = tools or []
        self.max_tokens, self.timeout, self.key = max_tokens, timeout, idempotency_key
        self.token_budget = token_budget
        self.schema = answer_schema(fields)
        self.response_format = "json_schema"
        # Tokens used, over every call; not named "*_tokens" as the protocol does: the operations
        # console hides the values of keys that look like secrets ("token").
        self.usage = {"prompt": 0, "answer": 0, "total": 0}
        self.calls = 0
        self.answered_by = ""

    def ask(self, messages: list[dict[str, Any]], toolbox: Toolbox | None = None) -> str:
        """The model's final text for ``messages``; raises ConnectorError as ``send_json`` classifies.

        The tool calls it asks for on the way are answered by ``toolbox`` and added to ``messages``.
        """
        while True:
            message = self._reply(messages)
            calls = message.get("tool_calls")
            if toolbox is None or not calls:
                content = message.get("content")
                return content if isinstance(content, str) else ""
            calls = toolbox.kept(calls)
            messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls})
            messages += toolbox.answer(calls)

    def _reply(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            reply = self._send(messages)
        except HttpStatusError as exc:
            # A server that does not know JSON schema answers 400 (or 422): ask for plain JSON mode.
            if self.response_format != "json_schema" or exc.http_status not in (400, 422):
                raise
            self.response_format = "json_object"
            reply = self._send(messages)
        body = reply.body
        try:
            choice = body["choices"][0]
            message = choice["message"]
            if not isinstance(message, dict):
                raise TypeError
        except (KeyError, IndexError, TypeError):
            raise ConnectorError(
                f"The model server answered {reply.status} without a chat completion.", retryable=False
            ) from None
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        for name, sent_as in (
            ("prompt", "prompt_tokens"),
            ("answer", "completion_tokens"),
            ("total", "total_tokens"),
        ):
            count = usage.get(sent_as)
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                self.usage[name] += count
        self.answered_by = str(body.get("model") or "")[:200]
        spent = self.usage["total"] or self.usage["prompt"] + self.usage["answer"]
        if spent > self.token_budget:
            # Tool turns re-send the growing conversation: without a cap one step could cost without end.
            raise ConnectorError(
                f"The step used {spent} tokens, more than its budget of {self.token_budget} "
                "(“Most tokens for the step”); raise it or shorten the instruction, then retry.",
                retryable=False,
            )
        if choice.get("finish_reason") == "length":
            raise ConnectorError(
                f"The answer did not fit in the budget of {self.max_tokens} tokens; raise "
                "“Most tokens in the answer” and retry.",
                retryable=False,
            )
        return message

    def _send(self, messages: list[dict[str, Any]]) -> HttpReply:
        self.calls += 1
        if self.response_format == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": self.schema, "strict": _strict(self.schema)},
            }
        else:
            response_format = {"type": "json_object"}
        try:
            reply = self._post(messages, response_format)
        except HttpStatusError:
            raise
        except ConnectorError as exc:
            # Nothing answered (no server, a timeout): say which connection an administrator fixes.
            raise ConnectorError(
                f"The AI could not be asked through the connection {self.connection!r}: {exc} "
                "An administrator changes its address under Connections in the admin.",
                retryable=exc.retryable,
            ) from None
        if not reply.is_json or not isinstance(reply.body, dict):
            raise ConnectorError(f"The model server answered {reply.status} without JSON.", retryable=False)
        return reply

    def _post(self, messages: list[dict[str, Any]], response_format: dict[str, Any]) -> HttpReply:
        return send_json(
            "POST",
            self.url,
            data={
                "model": self.model,
                "messages": messages,
                "max_tokens": self.max_tokens,
                "temperature": 0,
                "response_format": response_format,
                **({"tools": self.tools} if self.tools else {}),
            },
            # Each call of the conversation is its own request: a second key for the repeat question.
            idempotency_key=f"{self.key}-{self.calls}",
            headers=self.headers,
            timeout=self.timeout,
        )


def _strict(schema: dict[str, Any]) -> bool:
    # Strict schemas need every object's properties spelled out: free-form records cannot be strict.
    return all(p.get("type") not in ("object", None) for p in schema["properties"].values())


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def asking_nodes(graph: Graph) -> list[str]:
    """The ids of the Ask AI steps of ``graph``."""
    return [node_id for node_id, node in graph["nodes"].items() if node["config"].get("connector") == NAME]


def answer_choices(node: Node) -> dict[str, tuple[str, ...]]:
    """The allowed values of an Ask AI step's answer fields that have them, by field (else empty)."""
    if node["config"].get("connector") != NAME:
        return {}
    try:
        fields = answer_fields(node["config"].get("properties", {}).get("answer_fields") or [])
    except ValueError:  # compiled graphs hold checked fields; an old one may not
        return {}
    return {field.name: field.choices for field in fields if field.choices}


def answer_names(graph: Graph) -> set[str]:
    """The variables the Ask AI steps of ``graph`` set (their answer fields)."""
    return {
        name
        for node_id in asking_nodes(graph)
        for name in graph["nodes"][node_id]["config"].get("outputs", {})
    }


def private_answer_names(graph: Graph) -> set[str]:
    """The answer variables kept from requesters: all but those of steps whose designer shows the
    answer to the requester (``baton:answerToRequester``). Conversations are never shown to them."""
    shown = {
        name
        for node_id in asking_nodes(graph)
        if graph["nodes"][node_id]["config"].get("answer_to_requester")
        for name in graph["nodes"][node_id]["config"].get("outputs", {})
    }
    return answer_names(graph) - shown


@dataclass(frozen=True)
class Advice:
    """An earlier AI step's recommendation and reason, as an approver is shown them."""

    recommendation: str
    reason: str
    step_name: str
    model: str


def advice_for(instance: ProcessInstance, graph: Graph, before: datetime | None = None) -> Advice | None:
    """The advice of the instance's latest completed Ask AI step (before ``before``) whose answer
    has a ``recommendation`` field (and usually a ``reason``); None when there is none.

    Automatic: an Approval after an AI step declaring those answer fields shows them.
    """
    from orchestration.models import Step

    asking = asking_nodes(graph)
    if not asking:
        return None
    steps = Step.objects.filter(
        instance=instance,
        node_id__in=asking,
        status=Step.Status.COMPLETED,
        output__answer__has_key=RECOMMENDATION,
    )
    if before is not None:
        steps = steps.filter(ended_at__lte=before)
    step = steps.order_by("-ended_at", "-id").only("node_name", "node_id", "output").first()
    if step is None:
        return None
    answer = step.output.get("answer") or {}
    return Advice(
        recommendation=str(answer.get(RECOMMENDATION, "")),
        reason=str(answer.get(REASON, "") or ""),
        step_name=step.node_name or step.node_id,
        model=str(step.output.get("model") or ""),
    )
