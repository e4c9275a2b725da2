"""Compile BPMN 2.0 XML into Baton's graph (see :mod:`orchestration.bpmn.graph`).

The compiler reads the Baton subset of BPMN plus the ``baton:`` extension
(declared in ``baton.json``), types every variable, checks every CEL expression
against those types, and validates the shape of the process. It reports every
problem it finds, naming the element, instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from lxml import etree

from orchestration import expressions, values
from orchestration.bpmn.graph import GRAPH_FORMAT, Flow, FormField, Graph, Node, NodeKind, VariableType
from orchestration.bpmn.parse import BATON_NS, BATON_PREFIX, BPMN_NS, XML_NS, XSI_NS, bpmn, descriptor, load
from orchestration.bpmn.problems import ELEMENT_LABELS, Problem, kind_label
from orchestration.bpmn.validate import check_structure
from orchestration.connectors import registry
from orchestration.durations import parse_duration

__all__ = ["BATON_NS", "CompileResult", "Problem", "compile_bpmn"]


@dataclass(frozen=True)
class CompileResult:
    """The compiled graph (None when there are errors), with every error and warning."""

    graph: Graph | None
    errors: list[Problem]
    warnings: list[Problem]
    # element id -> the variables it sets, typed; known even when there are errors (the designer's pickers).
    declared: dict[str, dict[str, VariableType]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not stop a version being published)."""
        return not self.errors


def compile_bpmn(xml: str | bytes) -> CompileResult:
    """Compile and validate a BPMN 2.0 document; never raises on bad input."""
    root, problem = load(xml)
    if root is None:
        assert problem is not None
        return CompileResult(None, [problem], [])
    return _Compiler(root).run()


# Elements that carry no behaviour: skipped without comment.
_IGNORED = frozenset(
    {
        "textAnnotation",
        "association",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "group",
        "laneSet",
        "extensionElements",
        "documentation",
    }
)

# What to use instead of an element Baton does not run.
_INSTEAD = {
    "task": "use an Automated step",
    "manualTask": "use an Approval",
    "receiveTask": "use a Wait for a message",
    "businessRuleTask": "use a Decision",
    "subProcess": "use a Sub-process call",
    "adHocSubProcess": "use a Sub-process call",
    "transaction": "use a Sub-process call",
    "inclusiveGateway": "use a Decision, or a Parallel split",
    "eventBasedGateway": "use a Decision",
    "complexGateway": "use a Decision, or a Parallel split",
    "boundaryEvent": "use due dates and escalation on an Approval, or retries on an Automated step",
    "intermediateThrowEvent": "use a Notify",
}

_FIELD_TYPES: dict[str, VariableType] = {
    "string": "string",
    "text": "string",
    "email": "string",
    "choice": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
}
_VARIABLE_TYPES: dict[str, VariableType] = {t: t for t in expressions.VARIABLE_TYPES}
_ASSIGNEE_RULES = ("user", "group", "manager", "authority_chain")
_RESERVED = {"result": "the output of a step", "payload": "the body of a webhook"}

Scope = Literal["variables", "output", "payload"]
Expect = Literal["bool", "number", "moment", "key"]


class _Subject(NamedTuple):
    """The element a problem is about."""

    id: str
    name: str
    label: str

    def text(self) -> str:
        name = f' "{self.name}"' if self.name else ""
        return f"{self.label}{name} ({self.id})"


@dataclass
class _Expr:
    """An expression to check once every variable's type is known."""

    subject: _Subject
    what: str
    source: str
    scope: Scope
    expect: Expect | None = None
    declared: VariableType | None = None  # an output's declared type, to compare with the expression's
    line: int = 1  # where the expression starts inside the text the user edits (Set data maps)
    column: int = 1


@dataclass
class _Declaration:
    name: str
    type: VariableType
    subject: _Subject
    inferred: _Expr | None = None  # typed by this expression (Set data, webhook inputs)


@dataclass
class _Compiler:
    root: etree._Element
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    declarations: list[_Declaration] = field(default_factory=list)
    exprs: list[_Expr] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)
    used_messages: list[str] = field(default_factory=list)
    lanes: dict[str, str] = field(default_factory=dict)
    elements: dict[str, etree._Element] = field(default_factory=dict)
    variables: dict[str, VariableType] = field(default_factory=dict)

    # --- reporting

    def error(
        self, subject: _Subject | None, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.errors.append(self._problem(subject, message, line, column))

    def warn(self, subject: _Subject | None, message: str) -> None:
        self.warnings.append(self._problem(subject, message, None, None))

    @staticmethod
    def _problem(subject: _Subject | None, message: str, line: int | None, column: int | None) -> Problem:
        if subject is None:
            return Problem(None, "", message, line, column)
        return Problem(subject.id, subject.name, message, line, column, subject.label)

    # --- the pass

    def run(self) -> CompileResult:
        process = self._select_process()
        if process is None:
            return CompileResult(None, self.errors, self.warnings)
        process_subject = _Subject(process.get("id", ""), self._process_name(process), "Process")
        if not process_subject.id:
            self.error(process_subject, "has no id.")
        self.messages = {
            m.get("id", ""): _clean(m.get("name", "")) or m.get("id", "")
            for m in self.root.iter(bpmn("message"))
        }
        self._read_lanes(process)
        self._scan_settings(process)
        flow_elements = self._read_elements(process)
        self._read_flows(flow_elements)
        self._assign_roles()
        self._resolve_variables()
        self._finish_user_tasks()
        self._check_expressions()
        if not any(n["kind"] == "start" for n in self.nodes.values()):
            self.error(process_subject, "has no Start: add a start event.")
        errors, warnings = check_structure(self.nodes, self.flows, self.placeholders)
        self.errors.extend(errors)
        self.warnings.extend(warnings)
        if self.errors:
            return CompileResult(None, self.errors, self.warnings, self._declared())
        graph: Graph = {
            "format": GRAPH_FORMAT,
            "process_id": process_subject.id,
            "name": process_subject.name or process_subject.id,
            "nodes": self.nodes,
            "flows": self.flows,
            "start_nodes": [n for n, node in self.nodes.items() if node["kind"] == "start"],
            "variables": dict(sorted(self.variables.items())),
            "messages": sorted(set(self.used_messages)),
            "warnings": [str(w) for w in self.warnings],
        }
        return CompileResult(graph, self.errors, self.warnings, self._declared())

    def _declared(self) -> dict[str, dict[str, VariableType]]:
        declared: dict[str, dict[str, VariableType]] = {}
        for declaration in self.declarations:
            typed = self.variables.get(declaration.name, declaration.type)
            declared.setdefault(declaration.subject.id, {})[declaration.name] = typed
        return declared

    def _select_process(self) -> etree._Element | None:
        processes = self.root.findall(bpmn("process"))
        if not processes:
            self.error(None, "The file has no process.")
            return None
        if len(processes) == 1:
            # bpmn.io writes isExecutable="false" by default: a lone process runs regardless.
            return processes[0]
        executable = [p for p in processes if p.get("isExecutable", "").strip().lower() == "true"]
        if len(executable) == 1:
            return executable[0]
        ids = ", ".join(p.get("id", "?") for p in (executable or processes))
        if executable:
            self.error(None, f"The file has several executable processes ({ids}); mark only one executable.")
        else:
            self.error(
                None, f"The file has several processes ({ids}) and none is executable; mark one executable."
            )
        return None

    def _process_name(self, process: etree._Element) -> str:
        name = _clean(process.get("name", ""))
        if name:
            return name
        for participant in self.root.iter(bpmn("participant")):
            if participant.get("processRef") == process.get("id"):
                return _clean(participant.get("name", ""))
        return ""

    def _read_lanes(self, process: etree._Element) -> None:
        # Nested lanes are visited after their parents, so the innermost lane wins.
        for lane in process.iter(bpmn("lane")):
            name = _clean(lane.get("name", ""))
            for ref in lane.findall(bpmn("flowNodeRef")):
                if name and ref.text:
                    self.lanes[ref.text.strip()] = name

    # --- settings Baton does not read

    def _scan_settings(self, process: etree._Element) -> None:
        vendor: dict[str, list[str]] = {}
        unknown: dict[str, list[str]] = {}
        attrs_for, elements = _baton_vocabulary()

        def visit(el: etree._Element, owner: str) -> None:
            local, ns = _local(el), etree.QName(el).namespace
            element_id = el.get("id") or owner
            for attr in el.attrib:
                qname = etree.QName(attr)
                if qname.namespace in (None, XSI_NS, XML_NS, BPMN_NS):
                    continue
                shown = f"{_prefix(el, qname.namespace)}:{qname.localname}"
                if qname.namespace != BATON_NS:
                    vendor.setdefault(shown, []).append(element_id)
                elif ns == BPMN_NS and qname.localname not in attrs_for.get(local, ()):
                    unknown.setdefault(shown, []).append(element_id)
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                child_ns = etree.QName(child).namespace
                if child_ns == BATON_NS:
                    allowed = elements.get(_local(child))
                    where = _local(el.getparent()) if el.getparent() is not None else ""
                    if allowed is None or where not in allowed[0] or _local(el) != "extensionElements":
                        unknown.setdefault(f"{BATON_PREFIX}:{_local(child)}", []).append(element_id)
                    else:
                        for attr in child.attrib:
                            if etree.QName(attr).localname not in allowed[1]:
                                shown = f"{BATON_PREFIX}:{_local(child)} {etree.QName(attr).localname}"
                                unknown.setdefault(shown, []).append(element_id)
                elif child_ns != BPMN_NS:
                    # Report the outermost foreign element only, not its insides.
                    vendor.setdefault(f"{child.prefix or child_ns}:{_local(child)}", []).append(element_id)
                else:
                    visit(child, element_id)

        visit(process, process.get("id", ""))
        if vendor:
            self.warn(None, "Settings for other engines are ignored: " + _listing(vendor) + ".")
        if unknown:
            self.warn(None, "Baton settings that do not apply here are ignored: " + _listing(unknown) + ".")

    # --- elements

    def _read_elements(self, process: etree._Element) -> list[etree._Element]:
        flows: list[etree._Element] = []
        for el in process:
            if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
                continue  # foreign elements were reported by _scan_settings
            local = _local(el)
            if local in _IGNORED:
                continue
            element_id = el.get("id", "")
            subject = _Subject(element_id, _clean(el.get("name", "")), ELEMENT_LABELS.get(local, "Element"))
            if not element_id:
                self.error(subject, f"has no id; every bpmn:{local} needs one.")
                continue
            if element_id in self.elements:
                self.error(subject, f'the id "{element_id}" is used by more than one element.')
                continue
            self.elements[element_id] = el
            if local == "sequenceFlow":
                flows.append(el)
                continue
            reader = _READERS.get(local)
            if reader is None:
                self._refuse(el, subject, f"bpmn:{local}", _INSTEAD.get(local))
                continue
            if el.find(bpmn("multiInstanceLoopCharacteristics")) is not None or (
                el.find(bpmn("standardLoopCharacteristics")) is not None
            ):
                self.error(subject, "is set to repeat (loop or multi-instance), which Baton does not run.")
            result = reader(self, el, subject)
            if result is None:
                continue
            kind, config = result
            self.nodes[element_id] = {
                "id": element_id,
                "name": subject.name,
                "kind": kind,
                "incoming": [],
                "outgoing": [],
                "config": config,
            }
        return flows

    def _refuse(self, el: etree._Element, subject: _Subject, what: str, instead: str | None) -> None:
        subject = subject._replace(label="Element")
        self.error(subject, f"is a {what}, which Baton does not run" + (f"; {instead}." if instead else "."))
        self.placeholders[subject.id] = el.get("attachedToRef", "")

    def _event_definitions(self, el: etree._Element, subject: _Subject) -> list[etree._Element]:
        defs = [c for c in el if isinstance(c.tag, str) and _local(c).endswith("EventDefinition")]
        if len(defs) > 1:
            self.error(subject, "has several event definitions; Baton runs one per event.")
        return defs

    def _read_start(self, el: etree._Element, subject: _Subject) -> tuple[NodeKind, dict[str, Any]] | None:
        defs = self._event_definitions(el, subject)
        trigger, cron, message = "none", "", ""
        if defs:
            definition, local = defs[0], _local(defs[0])
            if local == "timerEventDefinition":
                trigger = "timer"
                cron = _text(definition.find(bpmn("timeCycle")))
                if not cron:
                    self.error(subject, 'a scheduled Start needs a cron expression such as "0 9 * * 1-5".')
                elif not values.is_cron(cron):
                    self.error(
                        subject,
                        f'"{cron}" is not a cron expression with 5 fields (minute hour day month weekday).',
                    )
            elif local == "messageEventDefinition":
                trigger = "message"
                message = self._message_name(definition, subject)
            else:
                kind = local.removesuffix("EventDefinition")
                self._refuse(el, subject, f"{kind} start event", "use a plain, timer or message Start")
                return None
        config = {
            "trigger": trigger,
            "cron": cron,
            "message": message,
            "fields": self._form_fields(el, subject),
            "inputs": self._mapping(el, subject, "input", scope="payload", declares="inferred"),
        }
        return "start", config

    def _message_name(self, definition: etree._Element, subject: _Subject) -> str:
        ref = definition.get("messageRef", "").strip()
        if not ref:
            self.error(subject, "does not name its message.")
            return ""
        name = self.messages.get(ref)
        if name is None:
            self.error(subject, f'refers to message "{ref}", which the file does not define.')
            return ""
        self.used_messages.append(name)
        return name

    def _form_fields(self, el: etree._Element, subject: _Subject) -> list[FormField]:
        fields: list[FormField] = []
        for f in _baton_children(el, "formField"):
            name = f.get("name", "").strip()
            if not expressions.is_identifier(name):
                self.error(
                    subject,
                    f'form field "{name}" needs a name of letters, digits and _, not starting with a digit.',
                )
                continue
            if any(existing["name"] == name for existing in fields):
                self.error(subject, f'has two form fields named "{name}".')
                continue
            field_type = f.get("type", "string").strip() or "string"
            if field_type not in _FIELD_TYPES:
                self.error(subject, f'form field "{name}" has unknown type "{field_type}".')
                continue
            choices = [c.strip() for c in f.get("choices", "").split(",") if c.strip()]
            if field_type == "choice" and not choices:
                self.error(subject, f'form field "{name}" is a choice but lists no choices.')
            required = self._flag(f.get("required"), subject, f'form field "{name}" required')
            low = self._number(f.get("min"), subject, f'form field "{name}" min')
            high = self._number(f.get("max"), subject, f'form field "{name}" max')
            if low is not None and high is not None and low > high:
                self.error(subject, f'form field "{name}" has min {low:g} above max {high:g}.')
            form_field: FormField = {
                "name": name,
                "label": _clean(f.get("label", "")) or name,
                "type": field_type,
                "required": required,
                "choices": choices,
                "min": low,
                "max": high,
            }
            raw_default = f.get("default")
            if raw_default is not None and raw_default.strip():
                default = values.field_default(raw_default, field_type, choices)
                if default is None:
                    self.error(
                        subject,
                        f'form field "{name}" has default "{raw_default}", not a valid {field_type}.',
                    )
                else:
                    form_field["default"] = default
            fields.append(form_field)
            self.declare(name, _FIELD_TYPES[field_type], subject)
        return fields

    def _flag(self, raw: str | None, subject: _Subject, what: str) -> bool:
        if raw is None or not raw.strip():
            return False
        flag = values.parse_flag(raw)
        if flag is None:
            self.error(subject, f'{what} is "{raw}"; use true or false.')
        return bool(flag)

    def _number(
        self, raw: str | None, subject: _Subject, what: str, default: float | None = None
    ) -> float | None:
        if raw is None or not raw.strip():
            return default
        value = values.parse_number(raw.strip())
        if value is None:
            self.error(subject, f'{what} "{raw}" is not a number.')
        return value

    def _read_end(self, el: etree._Element, subject: _Subject) -> tuple[NodeKind, dict[str, Any]] | None:
        defs = self._event_definitions(el, subject)
        if defs:
            kind = _local(defs[0]).removesuffix("EventDefinition")
            self._refuse(
                el,
                subject,
                f"{kind} end event",
                "use a plain End (with a Notify before it to send a message)",
            )
            return None
        return "end", {"outcome": _clean(el.get(_b("outcome"), ""))}

    def _read_user_task(
        self, el: etree._Element, subject: _Subject
    ) -> tuple[NodeKind, dict[str, Any]] | None:
        assignee = _attr(el, "assignee")
        groups = [g.strip() for g in _attr(el, "candidateGroups").split(",") if g.strip()]
        rule = _attr(el, "assigneeRule")
        lane = self.lanes.get(subject.id, "")
        if rule and rule not in _ASSIGNEE_RULES:
            self.error(
                subject, f'has unknown assignee rule "{rule}"; use one of {", ".join(_ASSIGNEE_RULES)}.'
            )
        if not rule:
            rule = "user" if assignee else "group" if groups or lane else ""
        if rule == "group" and not groups and lane:
            groups = [lane]  # the lane says who does the work
        if not rule:
            self.error(
                subject,
                "has no assignee: choose a user, a group, the requester's manager or the authority chain.",
            )
        elif rule == "user" and not assignee:
            self.error(subject, "is assigned to a user but names none.")
        elif rule == "group" and not groups:
            self.error(subject, "is assigned to a group but names none.")
        due_in = self._duration(el, "dueIn", subject)
        reminder_in = self._duration(el, "reminderIn", subject)
        escalate_to = _attr(el, "escalateTo")
        if escalate_to and not due_in:
            self.warn(subject, "escalates on timeout but has no due date, so it never escalates.")
        quorum = _attr(el, "quorum") or "any"
        if quorum not in ("any", "all"):
            self.error(subject, f'has quorum "{quorum}"; use "any" or "all".')
        result_variable = _attr(el, "resultVariable") or "approval"
        if self._variable_name_ok(result_variable, subject, "result variable"):
            self.declare(result_variable, "map", subject)
        config = {
            "assignee_rule": rule,
            "assignee": assignee,
            "groups": groups,
            "due_in": due_in,
            "reminder_in": reminder_in,
            "escalate_to": escalate_to,
            "quorum": quorum,
            "amount_expression": _attr(el, "amount"),
            "result_variable": result_variable,
        }
        return "user_task", config

    def _duration(self, el: etree._Element, name: str, subject: _Subject) -> str:
        value = _attr(el, name)
        if value and parse_duration(value) is None:
            self.error(
                subject,
                f'{name} "{value}" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).',
            )
        return value

    def _read_connector_task(
        self, el: etree._Element, subject: _Subject
    ) -> tuple[NodeKind, dict[str, Any]] | None:
        send = _local(el) == "sendTask"
        connector = _attr(el, "connector") or ("email" if send else "")
        if not connector:
            self.error(subject, "has no connector: choose what this step runs.")
        elif not registry.is_registered(connector):
            self.error(subject, f"unknown connector '{connector}'.")
        retries = self._number(el.get(_b("retries")), subject, "retries", default=3.0)
        if retries is not None and (retries < 0 or retries != int(retries)):
            self.error(subject, "retries must be a whole number, 0 or more.")
        backoff = self._number(el.get(_b("retryBackoff")), subject, "retryBackoff", default=2.0)
        if backoff is not None and backoff < 0:
            self.error(subject, "retryBackoff must be a number of seconds, 0 or more.")
        properties: dict[str, str] = {}
        for prop in _baton_children(el, "property"):
            name = prop.get("name", "").strip()
            if not name or name in properties:
                self.error(
                    subject,
                    f"has a property with {'no name' if not name else f'the repeated name {name!r}'}.",
                )
                continue
            properties[name] = prop.get("value", "")
        config = {
            "connector": connector,
            "properties": properties,
            "inputs": self._mapping(el, subject, "input", scope="variables"),
            "outputs": self._mapping(el, subject, "output", scope="output", declares="typed"),
            "retries": int(retries or 0),
            "retry_backoff": float(backoff or 0.0),
        }
        return ("send_task" if send else "service_task"), config

    def _mapping(
        self,
        el: etree._Element,
        subject: _Subject,
        tag: Literal["input", "output"],
        *,
        scope: Scope,
        declares: Literal["typed", "inferred"] | None = None,
    ) -> dict[str, str]:
        """``baton:input``/``baton:output`` children as name -> CEL, queued for checking."""
        mapping: dict[str, str] = {}
        for item in _baton_children(el, tag):
            name = item.get("name", "").strip()
            source = item.get("expression", "").strip()
            what = f'{tag} "{name}"'
            if not name:
                self.error(subject, f"has an {tag} with no name.")
                continue
            if name in mapping:
                self.error(subject, f'has two {tag}s named "{name}".')
                continue
            if not source:
                self.error(subject, f"{what} has no expression.")
                continue
            mapping[name] = source
            expr = _Expr(subject, what, source, scope)
            if declares is None:
                self.exprs.append(expr)
            elif self._variable_name_ok(name, subject, tag):
                if declares == "inferred":
                    self.declarations.append(_Declaration(name, "dyn", subject, inferred=expr))
                else:
                    written = item.get("type", "").strip() or "dyn"
                    declared = _VARIABLE_TYPES.get(written)
                    if declared is None:
                        self.error(subject, f'{what} has unknown type "{written}".')
                    expr.declared = declared or "dyn"
                    self.declare(name, expr.declared, subject)
                self.exprs.append(expr)
        return mapping

    def _read_exclusive(
        self, el: etree._Element, subject: _Subject
    ) -> tuple[NodeKind, dict[str, Any]] | None:
        return "exclusive", {"default": el.get("default") or None, "role": "decision"}

    def _read_parallel(self, el: etree._Element, subject: _Subject) -> tuple[NodeKind, dict[str, Any]] | None:
        return "parallel", {"role": "pass"}

    def _read_script(self, el: etree._Element, subject: _Subject) -> tuple[NodeKind, dict[str, Any]] | None:
        script_format = el.get("scriptFormat", "").strip()
        if script_format.lower() != "cel":
            shown = f'script format "{script_format}"' if script_format else "no script format"
            self.error(
                subject,
                f'has {shown}; Set data runs CEL maps such as {{"total": amount * 1.2}} (format "cel").',
            )
            return "script", {"assignments": {}}
        source = _text(el.find(bpmn("script")))
        try:
            entries = expressions.map_literal_entries(source)
        except expressions.ExpressionError as exc:
            self.error(subject, f"script: {exc}.", exc.line, exc.column)
            return "script", {"assignments": {}}
        if not entries:
            self.error(subject, "sets no data.")
        for entry in entries:
            if not self._variable_name_ok(entry.key, subject, "variable"):
                continue
            expr = _Expr(
                subject,
                f'value of "{entry.key}"',
                entry.value,
                "variables",
                line=entry.line,
                column=entry.column,
            )
            self.declarations.append(_Declaration(entry.key, "dyn", subject, inferred=expr))
            self.exprs.append(expr)
        return "script", {"assignments": {e.key: e.value for e in entries}}

    def _read_catch(self, el: etree._Element, subject: _Subject) -> tuple[NodeKind, dict[str, Any]] | None:
        defs = self._event_definitions(el, subject)
        if not defs:
            self.error(subject, "waits for nothing: give it a timer or a message.")
            return "timer_catch", {"duration": ""}
        definition, local = defs[0], _local(defs[0])
        if local == "timerEventDefinition":
            duration = _text(definition.find(bpmn("timeDuration")))
            date = _text(definition.find(bpmn("timeDate")))
            if definition.find(bpmn("timeCycle")) is not None:
                self.error(subject, "repeats on a cycle; a Wait takes a duration or a date.")
            if duration:
                if parse_duration(duration) is None:
                    self.error(
                        subject,
                        f'"{duration}" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).',
                    )
                return "timer_catch", {"duration": duration}
            if date:
                if values.is_timestamp(date):
                    return "timer_catch", {"date": date}
                self.exprs.append(_Expr(subject, "date", date, "variables", expect="moment"))
                return "timer_catch", {"date_expression": date}
            self.error(subject, "needs a duration (such as P2D) or a date to wait for.")
            return "timer_catch", {"duration": ""}
        if local == "messageEventDefinition":
            message = self._message_name(definition, subject)
            key = _attr(el, "correlationKey")
            if not key:
                self.error(
                    subject,
                    "needs a correlation key: an expression that picks the instance a message is for.",
                )
            else:
                self.exprs.append(_Expr(subject, "correlation key", key, "variables", expect="key"))
            return "message_catch", {"message": message, "correlation_key": key}
        kind = local.removesuffix("EventDefinition")
        self._refuse(el, subject, f"{kind} catch event", "wait for a timer or a message")
        return None

    def _read_call(self, el: etree._Element, subject: _Subject) -> tuple[NodeKind, dict[str, Any]] | None:
        called = el.get("calledElement", "").strip()
        if not called:
            self.error(subject, "does not name the workflow it calls.")
        config = {
            "called_element": called,
            "inputs": self._mapping(el, subject, "input", scope="variables"),
            "outputs": self._mapping(el, subject, "output", scope="output", declares="typed"),
        }
        return "call_activity", config

    # --- flows and gateways

    def _read_flows(self, elements: list[etree._Element]) -> None:
        for el in elements:
            flow_id = el.get("id", "")
            subject = _Subject(flow_id, _clean(el.get("name", "")), "Flow")
            source, target = el.get("sourceRef", "").strip(), el.get("targetRef", "").strip()
            ends_ok = True
            for end, role in ((source, "source"), (target, "target")):
                if end in self.nodes or end in self.placeholders:
                    continue
                ends_ok = False
                if not end:
                    self.error(subject, f"has no {role}.")
                elif end in self.elements:
                    self.error(subject, f'has {role} "{end}", which is not a step of the process.')
                else:
                    self.error(subject, f'has {role} "{end}", which does not exist.')
            condition = self._condition(el, subject)
            if not ends_ok:
                continue
            self.flows[flow_id] = {
                "id": flow_id,
                "name": subject.name,
                "source": source,
                "target": target,
                "condition": condition,
            }
            if source in self.nodes:
                self.nodes[source]["outgoing"].append(flow_id)
            if target in self.nodes:
                self.nodes[target]["incoming"].append(flow_id)

    def _condition(self, el: etree._Element, subject: _Subject) -> str | None:
        expression = el.find(bpmn("conditionExpression"))
        if expression is None:
            return None
        language = expression.get("language", "").strip()
        if language and language.lower() != "cel":
            self.error(subject, f'has a condition in "{language}"; Baton conditions are written in CEL.')
        return _text(expression) or None

    def _assign_roles(self) -> None:
        for node in self.nodes.values():
            incoming, outgoing = node["incoming"], node["outgoing"]
            if node["kind"] == "parallel":
                if len(incoming) > 1:
                    node["config"]["role"] = "both" if len(outgoing) > 1 else "join"
                elif len(outgoing) > 1:
                    node["config"]["role"] = "split"
            elif node["kind"] == "exclusive":
                single = len(outgoing) == 1 and self.flows[outgoing[0]]["condition"] is None
                # One unconditioned way out chooses nothing: a merge (or a pass-through), not a decision.
                node["config"]["role"] = "merge" if single else "decision"
                if single:
                    node["config"]["default"] = None
                else:
                    self._check_decision(node)
        for flow in self.flows.values():
            source = self.nodes.get(flow["source"])
            if flow["condition"] is None or source is None:
                continue
            subject = _Subject(flow["id"], flow["name"], "Flow")
            if source["kind"] != "exclusive":
                self.error(
                    subject,
                    "has a condition, but only flows leaving a Decision can have one "
                    f"(it leaves {_node_text(source)}).",
                )
            elif source["config"]["default"] == flow["id"]:
                self.warn(subject, "is the default flow, so its condition is ignored.")
                flow["condition"] = None
            else:
                what = f"condition leaving {_node_text(source)}"
                self.exprs.append(_Expr(subject, what, flow["condition"], "variables", expect="bool"))

    def _check_decision(self, node: Node) -> None:
        subject = _Subject(node["id"], node["name"], "Decision")
        default = node["config"]["default"]
        if default is None:
            self.error(
                subject, "has no default flow: mark the outgoing flow to take when no condition holds."
            )
        elif default not in node["outgoing"]:
            self.error(subject, f'has default flow "{default}", which does not leave it.')
        for flow_id in node["outgoing"]:
            flow = self.flows[flow_id]
            if flow_id != default and flow["condition"] is None:
                self.error(
                    _Subject(flow_id, flow["name"], "Flow"),
                    f"leaves {subject.text()} without a condition: give it one, or make it the default flow.",
                )

    # --- variables and expressions

    def declare(self, name: str, variable_type: VariableType, subject: _Subject) -> None:
        self.declarations.append(_Declaration(name, variable_type, subject))

    def _variable_name_ok(self, name: str, subject: _Subject, what: str) -> bool:
        if not expressions.is_identifier(name):
            self.error(subject, f'{what} "{name}" is not a valid variable name (letters, digits and _).')
            return False
        if name in expressions.BUILTIN_VARIABLES:
            self.error(subject, f'{what} "{name}" would overwrite a built-in variable.')
            return False
        if name in _RESERVED:
            self.error(subject, f'{what} "{name}" is reserved for {_RESERVED[name]}.')
            return False
        return True

    def _resolve_variables(self) -> None:
        """Type every variable; Set data and webhook values are typed by their expressions.

        Those expressions may read each other's results, so types are refined until
        they stop changing (a few rounds at most in practice).
        """
        inferred = [d for d in self.declarations if d.inferred is not None]
        for _ in range(5):
            variables, _ = _merge(self.declarations)
            changed = False
            for declaration in inferred:
                assert declaration.inferred is not None
                try:
                    found = expressions.type_of(
                        declaration.inferred.source, self._scope(declaration.inferred.scope, variables)
                    )
                except expressions.ExpressionError:
                    continue  # reported by _check_expressions
                if found != declaration.type:
                    declaration.type = found
                    changed = True
            if not changed:
                break
        self.variables, conflicts = _merge(self.declarations)
        for name, first, second in conflicts:
            hint = (
                " (write 1.0 rather than 1 for a number)"
                if {first.type, second.type} == {"number", "integer"}
                else ""
            )
            self.error(
                second.subject,
                f'sets "{name}" to {_a(second.type)}, '
                f"but {first.subject.text()} sets it to {_a(first.type)}{hint}.",
            )

    def _scope(self, scope: Scope, variables: dict[str, VariableType]) -> dict[str, VariableType]:
        if scope == "payload":
            return {**expressions.BUILTIN_VARIABLES, "payload": "map"}
        if scope == "output":
            return {**variables, "result": "map"}
        return variables

    def _finish_user_tasks(self) -> None:
        for node in self.nodes.values():
            if node["kind"] != "user_task":
                continue
            config = node["config"]
            subject = _Subject(node["id"], node["name"], "Approval")
            numeric = self.variables.get("amount") in ("number", "integer", "dyn")
            if not config["amount_expression"] and numeric:
                config["amount_expression"] = "amount"
            if config["amount_expression"]:
                self.exprs.append(
                    _Expr(subject, "amount", config["amount_expression"], "variables", expect="number")
                )
            elif config["assignee_rule"] == "authority_chain":
                self.error(
                    subject, "follows the authority chain but has no amount to compare with approval limits."
                )

    def _check_expressions(self) -> None:
        for expr in self.exprs:
            variables = self._scope(expr.scope, self.variables)
            try:
                if expr.expect == "bool":
                    expressions.check(expr.source, variables, expect="bool")
                    continue
                found = expressions.type_of(expr.source, variables)
            except expressions.ExpressionError as exc:
                line, column = _offset(expr, exc.line, exc.column)
                where = f" (line {line}, column {column})" if line is not None else ""
                self.error(expr.subject, f"{expr.what}: {exc.message}{where}.", line, column)
                continue
            wanted = {
                "number": ("number", "integer", "dyn"),
                "moment": ("string", "date", "dyn"),
                "key": ("string", "integer", "number", "date", "dyn"),
            }.get(expr.expect or "")
            if wanted is not None and found not in wanted:
                self.error(
                    expr.subject, f"{expr.what} gives {_a(found)}; it must give {_wanted(expr.expect)}."
                )
            if expr.declared and not _compatible(expr.declared, found):
                self.error(
                    expr.subject,
                    f"{expr.what} is declared {_a(expr.declared)} but its expression gives {_a(found)}.",
                )


_READERS: dict[
    str, Callable[[_Compiler, etree._Element, _Subject], tuple[NodeKind, dict[str, Any]] | None]
] = {
    "startEvent": _Compiler._read_start,
    "endEvent": _Compiler._read_end,
    "userTask": _Compiler._read_user_task,
    "serviceTask": _Compiler._read_connector_task,
    "sendTask": _Compiler._read_connector_task,
    "exclusiveGateway": _Compiler._read_exclusive,
    "parallelGateway": _Compiler._read_parallel,
    "scriptTask": _Compiler._read_script,
    "intermediateCatchEvent": _Compiler._read_catch,
    "callActivity": _Compiler._read_call,
}


# --- helpers


def _merge(
    declarations: Iterable[_Declaration],
) -> tuple[dict[str, VariableType], list[tuple[str, _Declaration, _Declaration]]]:
    """Variables with their types, and the conflicts (name, first declaration, clashing one)."""
    variables: dict[str, VariableType] = dict(expressions.BUILTIN_VARIABLES)
    origin: dict[str, _Declaration] = {}
    conflicts: list[tuple[str, _Declaration, _Declaration]] = []
    for declaration in declarations:
        name, new = declaration.name, declaration.type
        old = variables.get(name)
        if old is None or old == "dyn":
            variables[name] = new
            if new != "dyn" or name not in origin:
                origin[name] = declaration
        elif new == "dyn" or new == old:
            continue
        elif {old, new} == {"date", "string"}:
            variables[name] = "date"  # a date is carried as an ISO string
        else:
            conflicts.append((name, origin[name], declaration))
    return variables, conflicts


def _compatible(declared: VariableType, found: VariableType) -> bool:
    if "dyn" in (declared, found) or declared == found:
        return True
    # An integer result fits a number variable (widened at run time); dates are strings.
    return (declared, found) in {("number", "integer"), ("date", "string")}


def _offset(expr: _Expr, line: int | None, column: int | None) -> tuple[int | None, int | None]:
    """Move a position inside a Set data value to its position inside the whole map."""
    if line is None or column is None:
        return line, column
    if line == 1:
        return expr.line, expr.column + column - 1
    return expr.line + line - 1, column


def _a(t: str) -> str:
    return {"integer": "an integer", "map": "a map", "list": "a list", "dyn": "a value of any type"}.get(
        t, f"a {t}"
    )


def _wanted(expect: Expect | None) -> str:
    return {
        "number": "a number",
        "moment": "a date: an ISO 8601 string or a timestamp",
        "key": "a string or a number",
    }.get(expect or "", "a value")


def _node_text(node: Node) -> str:
    name = f' "{node["name"]}"' if node["name"] else ""
    return f"{kind_label(node['kind'], node['config'].get('role'))}{name} ({node['id']})"


def _local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def _b(name: str) -> str:
    return f"{{{BATON_NS}}}{name}"


def _attr(el: etree._Element, name: str) -> str:
    return (el.get(_b(name)) or "").strip()


def _text(el: etree._Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _clean(text: str) -> str:
    """Names may hold line breaks from the diagram's label editor."""
    return " ".join(text.split())


def _baton_children(el: etree._Element, local: str) -> Iterator[etree._Element]:
    ext = el.find(bpmn("extensionElements"))
    if ext is not None:
        yield from ext.iterchildren(_b(local))


def _prefix(el: etree._Element, namespace: str | None) -> str:
    for prefix, uri in el.nsmap.items():
        if uri == namespace and prefix:
            return str(prefix)
    return f"{{{namespace}}}"


def _listing(found: dict[str, list[str]]) -> str:
    parts = []
    for name in sorted(found):
        ids = list(dict.fromkeys(found[name]))
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        parts.append(f"{name} (on {shown})")
    return "; ".join(parts)


def _baton_vocabulary() -> tuple[dict[str, set[str]], dict[str, tuple[set[str], set[str]]]]:
    """From baton.json: attributes per BPMN element, and each baton element's parents and attributes."""
    attrs_for: dict[str, set[str]] = {}
    elements: dict[str, tuple[set[str], set[str]]] = {}
    for moddle_type in descriptor()["types"]:
        names = {p["name"] for p in moddle_type.get("properties", [])}
        for extended in moddle_type.get("extends", []):
            attrs_for.setdefault(_lower_first(extended.removeprefix("bpmn:")), set()).update(names)
        if "Element" in moddle_type.get("superClass", []):
            parents = {
                _lower_first(p.removeprefix("bpmn:"))
                for p in moddle_type.get("meta", {}).get("allowedIn", [])
            }
            elements[_lower_first(moddle_type["name"])] = (parents, names)
    return attrs_for, elements


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]
