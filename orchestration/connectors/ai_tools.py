"""Tools of an Ask AI step: connectors its model may call while it answers.

A block names the tools it allows (``tools``: a JSON list of ``{"action": <preset or connector>,
"connection": <optional Connection>}``, written from ``baton:tool`` elements) and how many calls
it allows in all (``max_tool_calls``). Each is offered to the model as a function whose
parameters are the action's declared inputs. When the model calls one, the arguments are checked
against those inputs (a wrong one goes back to the model as an error it can correct), the
connector runs with the key ``<step key>-tool-<n>`` (n: the call's place in the conversation),
and its result, or its error, goes back as the tool's message.

Every call is kept in the step's output (``tool_calls``) and, the moment it finishes, as an
Event of the running step (``orchestration.engine.tool_calls``): a retried step reuses the
result of a call already made at the same place with the same arguments instead of calling the
system again (unless it found the system down: that call is made again, with its key). More calls
than the block allows stop the step for good (an incident).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Final

from orchestration import connections
from orchestration.connectors import presets, registry
from orchestration.connectors.ai import NAME, AnswerField, InvalidAnswer, _typed, answer_schema
from orchestration.connectors.base import BusinessError, ConnectorError, ConnectorField
from orchestration.connectors.http import redacted

DEFAULT_MAX_TOOL_CALLS: Final = 5
MAX_MAX_TOOL_CALLS: Final = 20
# What the protocol allows as a function name.
_FUNCTION_NAME: Final = re.compile(r"[^A-Za-z0-9_-]")
# The most characters of a tool's result or error sent back to the model and kept.
MAX_RESULT_CHARS: Final = 4000
# The most characters of one call's arguments (as the model writes them) and how deep they may nest:
# a model server's answer is not trusted to be small, flat or even JSON.
MAX_ARGUMENTS_CHARS: Final = 20000
MAX_ARGUMENTS_DEPTH: Final = 10
# Beyond what the protocol's call id and function name need; what the conversation keeps of them.
_MAX_NAME_CHARS: Final = 100


@dataclass(frozen=True)
class ToolChoice:
    """One tool a block allows: an action (a preset's ``preset:<name>`` or a connector's name) and its system."""

    action: str
    connection: str = ""

    def as_json(self) -> dict[str, str]:
        return (
            {"action": self.action, "connection": self.connection}
            if self.connection
            else {"action": self.action}
        )


def tool_choices(raw: Any) -> list[ToolChoice]:
    """The tools from their JSON form (a list of objects, or its text); raises ValueError saying what is wrong."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except RecursionError:  # a hand-written property nested past the stack
            raise ValueError("The tools must be a list.") from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("The tools must be a list.")
    choices: list[ToolChoice] = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("action") or "").strip():
            raise ValueError("Each tool must name what it does.")
        choice = ToolChoice(str(item["action"]).strip(), str(item.get("connection") or "").strip())
        if choice in choices:
            raise ValueError(f"The tool {choice.action!r} is chosen twice.")
        choices.append(choice)
    return choices


def usable_actions() -> list[presets.Action]:
    """What a model may be given as a tool: presets and connectors declaring inputs, except asking an
    AI and those whose inputs choose where the data goes (``Connector.ai_tool``)."""
    return [a for a in presets.actions() if _usable(a)]


def _action(key: str) -> presets.Action | None:
    found = presets.action_by_key(key)
    return found if found is not None and _usable(found) else None


def _usable(action: presets.Action) -> bool:
    return bool(action.inputs) and action.connector != NAME and registry.get(action.connector).ai_tool


@dataclass(frozen=True)
class Tool:
    """A tool as offered to the model: its function name, the action it runs and that action's settings."""

    name: str
    action: presets.Action
    config: dict[str, str]

    def spec(self) -> dict[str, Any]:
        """The chat-completions ``tools`` entry: the action's inputs as the function's parameters."""
        fields = [_as_answer_field(f) for f in self.action.inputs]
        schema = answer_schema(fields)
        schema["required"] = [f.name for f in self.action.inputs if f.required]
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": f"{self.action.label}: {self.action.description}".strip(": "),
                "parameters": schema,
            },
        }


def _as_answer_field(field: ConnectorField) -> AnswerField:
    words = ". ".join(w for w in (field.label, field.help) if w)
    return AnswerField(field.name, field.type, words)


def resolve(choices: list[ToolChoice]) -> list[Tool]:
    """The tools ``choices`` name, ready to offer; raises ValueError naming one that does not exist."""
    tools: list[Tool] = []
    taken: set[str] = set()
    for choice in choices:
        action = _action(choice.action)
        if action is None:
            raise ValueError(f"There is no tool {choice.action!r} an AI may use.")
        name = _FUNCTION_NAME.sub("_", choice.action.removeprefix(presets.PRESET_PREFIX))[:60]
        while name in taken:  # two choices of one action with different systems
            name += "_2"
        taken.add(name)
        config = dict(action.config)
        if choice.connection:
            config["connection"] = choice.connection
        tools.append(Tool(name, action, config))
    return tools


def check_tools(raw: Any) -> list[str]:
    """A block's problems with its tools, said when its workflow is published."""
    try:
        choices = tool_choices(raw)
    except ValueError as exc:
        return [f"has tools that cannot be read: {exc}"]
    problems = []
    for choice in choices:
        action = _action(choice.action)
        if action is None:
            known = presets.action_by_key(choice.action)
            if known is not None and not registry.get(known.connector).ai_tool:
                problems.append(
                    f"lets the AI use “{known.label}”, which an AI may not use: "
                    "it would choose where the data goes. Use an Automated step after it."
                )
                continue
            problems.append(f"lets the AI use a tool that does not exist: “{choice.action}”.")
            continue
        config = {**action.config, **({"connection": choice.connection} if choice.connection else {})}
        for field, errors in registry.get(action.connector).validate_config(config).items():
            problems.append(f"tool “{action.label}”: {field}: {' '.join(errors)}")
    return problems


def call_words(call: dict[str, Any]) -> str:
    """A recorded call in plain words: "Look up vendor in the ERP — 120 ms" (or what failed)."""
    took = f"{call.get('duration_ms', 0)} ms"
    if call.get("reused"):
        took += ", from an earlier attempt"
    if call.get("refused"):
        return f"{call.get('label') or call.get('tool')} — not run: {call.get('error')}"
    if call.get("error"):
        return f"{call.get('label') or call.get('tool')} — failed: {call['error']} ({took})"
    return f"{call.get('label') or call.get('tool')} — {took}"


class Toolbox:
    """The tools of one run of an AI step: answers the model's calls and keeps the record."""

    def __init__(self, tools: list[Tool], *, step_key: str, limit: int, secrets: list[str]) -> None:
        from orchestration.engine import tool_calls

        self.tools = {tool.name: tool for tool in tools}
        self.step_key, self.limit = step_key, limit
        self.secrets = list(secrets)
        for tool in tools:  # a tool's own system's secrets stay out of the record too
            if tool.config.get("connection"):
                try:
                    found = connections.secret_headers(connections.find(tool.config["connection"]))
                except connections.ConnectionUnavailable:
                    continue
                self.secrets += [v for v in found.values() if v]
                self.secrets += [v.split(" ", 1)[1] for v in found.values() if " " in v and len(v) > 16]
        self.calls: list[dict[str, Any]] = []
        self._step = tool_calls.running_step(step_key)
        self._earlier = tool_calls.recorded_calls(self._step) if self._step is not None else {}

    def specs(self) -> list[dict[str, Any]]:
        return [tool.spec() for tool in self.tools.values()]

    def answer(self, calls: Any) -> list[dict[str, Any]]:
        """The ``role: tool`` messages answering the model's ``tool_calls``, in order.

        Raises a non-retryable ConnectorError when the calls go past the block's limit.
        """
        return [
            {"role": "tool", "tool_call_id": _call_id(call), "content": self._one(call)} for call in calls
        ]

    def kept(self, calls: Any) -> list[Any]:
        """The model's ``tool_calls`` as the conversation keeps (and sends back) them: at most one past
        the limit (that one stops the step), ids, names and arguments clipped.

        Raises a non-retryable ConnectorError when they are not a list: nothing would count them, and
        asking again could go on without end.
        """
        if not isinstance(calls, list):
            raise ConnectorError(
                "The model server asked for tools in a form Baton cannot read (not a list of calls).",
                retryable=False,
            )
        kept: list[Any] = []
        for call in calls[: self.limit - len(self.calls) + 1]:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                kept.append({"id": _call_id(call), "type": "function", "function": {}})
                continue
            arguments = function.get("arguments")
            if not isinstance(arguments, str):  # none given: no arguments, as before it was kept
                arguments = "{}" if arguments is None else _dumped(arguments)
            kept.append(
                {
                    "id": _call_id(call),
                    "type": "function",
                    "function": {
                        "name": str(function.get("name") or "")[:_MAX_NAME_CHARS],
                        # One character past the most still says "too long" when answered.
                        "arguments": arguments[: MAX_ARGUMENTS_CHARS + 1],
                    },
                }
            )
        return kept

    def _one(self, call: Any) -> str:
        position = len(self.calls) + 1
        if position > self.limit:
            raise ConnectorError(
                f"The AI asked for more tool calls than this step allows ({self.limit}, under "
                "Details → Most tool calls); the calls it made are in the request's history.",
                retryable=False,
            )
        function = call.get("function") if isinstance(call, dict) else None
        name = str(function.get("name") or "") if isinstance(function, dict) else ""
        tool = self.tools.get(name)
        record: dict[str, Any] = {
            "position": position,
            "tool": tool.action.key if tool else name[:100],
            "label": tool.action.label if tool else name[:100],
        }
        raw = function.get("arguments") if isinstance(function, dict) else None
        text = raw if isinstance(raw, str) else _dumped(raw)
        arguments: Any = None
        if len(text) <= MAX_ARGUMENTS_CHARS:
            try:
                arguments = json.loads(raw) if isinstance(raw, str) else raw if raw is not None else {}
            except (ValueError, RecursionError):  # nesting deep enough to exhaust the stack
                arguments = None
        record["arguments"] = arguments if isinstance(arguments, dict) else _clip(text)
        if tool is None:
            offered = ", ".join(self.tools)
            return self._refused(record, f"There is no tool named {name[:100]!r}; the tools are: {offered}.")
        if len(text) > MAX_ARGUMENTS_CHARS:
            return self._refused(record, f"The arguments are longer than {MAX_ARGUMENTS_CHARS} characters.")
        if not isinstance(arguments, dict):
            return self._refused(record, "The arguments must be a JSON object.")
        if _depth(arguments) > MAX_ARGUMENTS_DEPTH:
            record["arguments"] = _clip(text)
            return self._refused(record, f"The arguments nest deeper than {MAX_ARGUMENTS_DEPTH} levels.")
        try:
            data = _checked(arguments, tool.action.inputs, registry.get(tool.action.connector).input_limits)
        except InvalidAnswer as exc:
            return self._refused(record, f"The arguments are not valid: {exc}")
        record["arguments"] = data
        key = f"{self.step_key}-tool-{position}"
        made = self._earlier.get(position, [])
        earlier = next(
            (c for c in reversed(made) if c.get("tool") == tool.action.key and c.get("arguments") == data),
            None,
        )
        if earlier is not None and not earlier.get("retryable"):
            # Made by an earlier attempt of this step: the system is not asked twice (unless it
            # failed in a way worth trying again, which the same key makes safe).
            reused: dict[str, Any] = {
                k: earlier[k]
                for k in ("result", "clipped", "error", "code", "key", "duration_ms")
                if k in earlier
            }
            record.update(reused, reused=True)
            self.calls.append(record)
            return self._content(record)
        if made and earlier is None:
            # A different call at this place (the step's data changed): a key of its own.
            digest = hashlib.sha256(json.dumps([tool.action.key, data], sort_keys=True).encode()).hexdigest()
            key += "-" + digest[:8]
        record["key"] = key
        started = time.monotonic()
        try:
            result = registry.get(tool.action.connector).run(dict(tool.config), data, key)
        except ConnectorError as exc:
            # The model may recover (another vendor name, or answering without it): tell it.
            record["error"] = _clip(redacted(str(exc), self.secrets))  # redacted before a clip halves a key
            if isinstance(exc, BusinessError):
                record["code"] = exc.code
            elif exc.retryable:  # a system down for now: a retried step asks it again
                record["retryable"] = True
        else:
            # Kept as the model reads it: a long answer (a whole web page) is kept clipped, as text.
            result = redacted(result, self.secrets)
            text = _dumped(result)
            if len(text) > MAX_RESULT_CHARS:
                record.update(result=_clip(text), clipped=True)
            else:
                record["result"] = result
        record["duration_ms"] = round((time.monotonic() - started) * 1000)
        record = redacted(record, self.secrets)
        self.calls.append(record)
        if self._step is not None:
            from orchestration.engine import tool_calls

            tool_calls.record_call(self._step, record, call_words(record))
        return self._content(record)

    def _refused(self, record: dict[str, Any], problem: str) -> str:
        # Nothing ran: the model is told what was wrong and may call again.
        record.update(error=problem, duration_ms=0, refused=True)
        self.calls.append(redacted(record, self.secrets))
        return f"Error: {problem}"

    def _content(self, record: dict[str, Any]) -> str:
        if record.get("error"):
            return f"Error: {record['error']}"
        if record.get("clipped"):
            return str(record.get("result"))
        return _clip(json.dumps(record.get("result"), ensure_ascii=False, default=str))


def _checked(
    arguments: dict[str, Any], inputs: tuple[ConnectorField, ...], limits: dict[str, int]
) -> dict[str, Any]:
    """``arguments`` typed by the declared inputs, texts within the connector's ``input_limits`` (what
    the system takes, as for a start-form field passed to it); raises InvalidAnswer saying every problem."""
    declared = {f.name: f for f in inputs}
    problems = [f'"{name}" is not one of its inputs' for name in arguments if name not in declared]
    data: dict[str, Any] = {}
    for field in inputs:
        value = arguments.get(field.name)
        if value is None or value == "":
            if field.required:
                problems.append(f'"{field.name}" is missing')
            continue
        try:
            data[field.name] = _typed(value, AnswerField(field.name, field.type))
        except InvalidAnswer as exc:
            problems.append(f'"{field.name}" {exc}')
            continue
        limit = limits.get(field.name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            problems.append(f'"{field.name}" must be at most {limit} characters')
    if problems:
        raise InvalidAnswer("; ".join(problems) + ".")
    return data


def _call_id(call: Any) -> str:
    return str(call.get("id") or "")[:_MAX_NAME_CHARS] if isinstance(call, dict) else ""


def _dumped(value: Any) -> str:
    """``value`` as JSON text ("" for none); what could not be written is said as not JSON."""
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return "(not JSON)"


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a text: 0, a flat object: 1), counting no further than needed."""
    depth, level = 0, [value]
    while level and depth <= MAX_ARGUMENTS_DEPTH:
        level = [
            item
            for v in level
            if isinstance(v, dict | list)
            for item in (v.values() if isinstance(v, dict) else v)
        ]
        depth += 1
    return depth - 1 if not level else depth


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RESULT_CHARS else text[: MAX_RESULT_CHARS - 1] + "…"
