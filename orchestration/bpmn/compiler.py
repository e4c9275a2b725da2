"""Compile BPMN 2.0 XML into Baton's graph (see :mod:`orchestration.bpmn.graph`).

The compiler reads the Baton subset of BPMN plus the ``baton:`` extension
(declared in ``baton.json``), types every variable, checks every CEL expression
against those types, and validates the shape of the process. It reports every
problem it finds, naming the element, instead of stopping at the first.

It is a driver: each block kind (``orchestration.engine.blocks``) reads its own
element and checks its own node through a :class:`~orchestration.bpmn.context.ReadContext`;
the compiler walks the XML, reads flows, types variables and checks expressions
and structure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from orchestration import expressions
from orchestration.bpmn.context import (
    Declaration,
    Expect,
    Expression,
    ReadContext,
    Scope,
    Subject,
    baton_attr,
    clean,
    local_name,
    text_of,
)
from orchestration.bpmn.graph import GRAPH_FORMAT, Graph, LoopConfig, Node, VariableType
from orchestration.bpmn.parse import BATON_NS, BATON_PREFIX, BPMN_NS, XML_NS, XSI_NS, bpmn, descriptor, load
from orchestration.bpmn.problems import Problem
from orchestration.bpmn.validate import check_structure
from orchestration.engine import blocks

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

# How a block is set to repeat: read with the block (For each), not as blocks of their own.
_LOOP_TAGS = frozenset({"multiInstanceLoopCharacteristics", "standardLoopCharacteristics"})

# A Group's own references to its flows (``bpmn:incoming``), met when reading its inside.
_CONNECTION_REFS = frozenset({"incoming", "outgoing"})

# What to use instead of an element Baton does not run.
_INSTEAD = {
    "task": "use an Automated step",
    "manualTask": "use an Approval",
    "receiveTask": "use a Wait for a message",
    "businessRuleTask": "use a Decision",
    "adHocSubProcess": "use a Group",
    "transaction": 'use a Group with an "If it fails" path',
    "complexGateway": "use a Decision, or a Parallel split",
    "intermediateThrowEvent": "use a Notify",
}


@dataclass
class _Compiler:
    root: etree._Element
    ctx: ReadContext = field(default_factory=ReadContext)
    elements: dict[str, etree._Element] = field(default_factory=dict)

    # --- the pass

    def run(self) -> CompileResult:
        process = self._select_process()
        if process is None:
            return CompileResult(None, self.ctx.errors, self.ctx.warnings)
        process_subject = Subject(process.get("id", ""), self._process_name(process), "Process")
        if not process_subject.id:
            self.ctx.error(process_subject, "has no id.")
        self.ctx.messages = {
            m.get("id", ""): clean(m.get("name", "")) or m.get("id", "")
            for m in self.root.iter(bpmn("message"))
        }
        self.ctx.error_codes = {
            e.get("id", ""): (e.get("errorCode") or e.get("name") or e.get("id", "")).strip()
            for e in self.root.iter(bpmn("error"))
        }
        self._read_lanes(process)
        self._scan_settings(process)
        flow_elements = self._read_elements(process)
        self._read_flows(flow_elements)
        self._connect()
        self._resolve_variables()
        self._check_nodes()
        self._check_expressions()
        if not any(n["kind"] == "start" for n in self.ctx.nodes.values()):
            self.ctx.error(process_subject, "has no Start: add a start event.")
        errors, warnings = check_structure(self.ctx.nodes, self.ctx.flows, self.ctx.placeholders)
        self.ctx.errors.extend(errors)
        self.ctx.warnings.extend(warnings)
        if self.ctx.errors:
            return CompileResult(None, self.ctx.errors, self.ctx.warnings, self._declared())
        graph: Graph = {
            "format": GRAPH_FORMAT,
            "process_id": process_subject.id,
            "name": process_subject.name or process_subject.id,
            "nodes": self.ctx.nodes,
            "flows": self.ctx.flows,
            "start_nodes": [
                n for n, node in self.ctx.nodes.items() if node["kind"] == "start" and "parent" not in node
            ],
            "variables": dict(sorted(self.ctx.variables.items())),
            "messages": sorted(set(self.ctx.used_messages)),
            "warnings": [str(w) for w in self.ctx.warnings],
        }
        if any(expressions.reads(e.source, "request_number") for e in self.ctx.expressions):
            graph["reads_request_number"] = True
        return CompileResult(graph, self.ctx.errors, self.ctx.warnings, self._declared())

    def _declared(self) -> dict[str, dict[str, VariableType]]:
        declared: dict[str, dict[str, VariableType]] = {}
        for declaration in self.ctx.declarations:
            typed = self.ctx.variables.get(declaration.name, declaration.type)
            declared.setdefault(declaration.subject.id, {})[declaration.name] = typed
        return declared

    def _select_process(self) -> etree._Element | None:
        processes = self.root.findall(bpmn("process"))
        if not processes:
            self.ctx.error(None, "The file has no process.")
            return None
        if len(processes) == 1:
            # bpmn.io writes isExecutable="false" by default: a lone process runs regardless.
            return processes[0]
        executable = [p for p in processes if p.get("isExecutable", "").strip().lower() == "true"]
        if len(executable) == 1:
            return executable[0]
        ids = ", ".join(p.get("id", "?") for p in (executable or processes))
        if executable:
            self.ctx.error(
                None, f"The file has several executable processes ({ids}); mark only one executable."
            )
        else:
            self.ctx.error(
                None, f"The file has several processes ({ids}) and none is executable; mark one executable."
            )
        return None

    def _process_name(self, process: etree._Element) -> str:
        name = clean(process.get("name", ""))
        if name:
            return name
        for participant in self.root.iter(bpmn("participant")):
            if participant.get("processRef") == process.get("id"):
                return clean(participant.get("name", ""))
        return ""

    def _read_lanes(self, process: etree._Element) -> None:
        # Nested lanes are visited after their parents, so the innermost lane wins.
        for lane in process.iter(bpmn("lane")):
            name = clean(lane.get("name", ""))
            for ref in lane.findall(bpmn("flowNodeRef")):
                if name and ref.text:
                    self.ctx.lanes[ref.text.strip()] = name

    # --- settings Baton does not read

    def _scan_settings(self, process: etree._Element) -> None:
        vendor: dict[str, list[str]] = {}
        unknown: dict[str, list[str]] = {}
        attrs_for, elements = _baton_vocabulary()

        def visit(el: etree._Element, owner: str) -> None:
            local, ns = local_name(el), etree.QName(el).namespace
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
                    allowed = elements.get(local_name(child))
                    where = local_name(el.getparent()) if el.getparent() is not None else ""
                    if allowed is None or where not in allowed[0] or local_name(el) != "extensionElements":
                        unknown.setdefault(f"{BATON_PREFIX}:{local_name(child)}", []).append(element_id)
                    else:
                        for attr in child.attrib:
                            if etree.QName(attr).localname not in allowed[1]:
                                shown = f"{BATON_PREFIX}:{local_name(child)} {etree.QName(attr).localname}"
                                unknown.setdefault(shown, []).append(element_id)
                elif child_ns != BPMN_NS:
                    # Report the outermost foreign element only, not its insides.
                    vendor.setdefault(f"{child.prefix or child_ns}:{local_name(child)}", []).append(
                        element_id
                    )
                else:
                    visit(child, element_id)

        visit(process, process.get("id", ""))
        if vendor:
            self.ctx.warn(None, "Settings for other engines are ignored: " + _listing(vendor) + ".")
        if unknown:
            self.ctx.warn(
                None, "Baton settings that do not apply here are ignored: " + _listing(unknown) + "."
            )

    # --- elements

    def _read_elements(self, container: etree._Element, parent: str | None = None) -> list[etree._Element]:
        """Read the blocks in ``container`` (the process, or a Group inside it); returns its flows."""
        flows: list[etree._Element] = []
        for el in container:
            if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
                continue  # foreign elements were reported by _scan_settings
            local = local_name(el)
            if local in _IGNORED or local in _LOOP_TAGS or local in _CONNECTION_REFS:
                continue
            element_id = el.get("id", "")
            subject = self.ctx.subject(el)
            if not element_id:
                self.ctx.error(subject, f"has no id; every bpmn:{local} needs one.")
                continue
            if element_id in self.elements:
                self.ctx.error(subject, f'the id "{element_id}" is used by more than one element.')
                continue
            self.elements[element_id] = el
            if local == "sequenceFlow":
                flows.append(el)
                continue
            kind = blocks.reading(el)
            if kind is None:
                self.ctx.refuse(el, subject, f"bpmn:{local}", _INSTEAD.get(local))
                continue
            loop = self._loop(el, kind, subject)
            config = kind.read(el, self.ctx)
            if config is None:
                continue
            node: Node = {
                "id": element_id,
                "name": subject.name,
                "kind": kind.name,
                "incoming": [],
                "outgoing": [],
                "config": dict(config),
            }
            if parent is not None:
                node["parent"] = parent
            if loop is not None:
                node["loop"] = loop
            self.ctx.nodes[element_id] = node
            if kind.holds_steps:
                flows.extend(self._read_elements(el, parent=element_id))
        return flows

    def _loop(self, el: etree._Element, kind: blocks.Kind[Any], subject: Subject) -> LoopConfig | None:
        """A For each (multiInstanceLoopCharacteristics) on ``el``, checked; None when it has none."""
        if el.find(bpmn("standardLoopCharacteristics")) is not None:
            self.ctx.error(
                subject,
                "repeats while a condition holds (a loop), which Baton does not run: "
                "use a For each over a list, or a Decision that goes back.",
            )
        mi = el.find(bpmn("multiInstanceLoopCharacteristics"))
        if mi is None:
            return None
        if not kind.loops:
            self.ctx.error(
                subject,
                f"is set to run once per item (For each), which {_a(kind.label)} cannot do; "
                "a For each goes on an Approval, an Automated step, a Notify, a Workflow call or a Group.",
            )
            return None
        collection = baton_attr(mi, "collection")
        if not collection:
            self.ctx.error(
                subject,
                "runs For each item, but of which list? Choose the list it goes through"
                + _other_engines_list(mi)
                + ".",
            )
        else:
            self.ctx.check_expression(subject, "list it goes through", collection, expect="list")
        item = baton_attr(mi, "elementVariable") or "item"
        if self.ctx.variable_name_ok(item, subject, "item name"):
            self.ctx.declare(item, "dyn", subject)
        completion = text_of(mi.find(bpmn("completionCondition")))
        if completion.startswith(("${", "#{")):
            self.ctx.error(
                subject,
                f'has a condition to stop early written for another engine ("{completion}"): write it in CEL '
                "over progress (completed, total, outputs), such as progress.completed >= 2.",
            )
        elif completion:
            self.ctx.check_expression(
                subject, "condition to stop early", completion, "progress", expect="bool"
            )
        output = baton_attr(mi, "outputCollection")
        if output and self.ctx.variable_name_ok(output, subject, "list of results"):
            self.ctx.declare(output, "list", subject)
        output_item = baton_attr(mi, "outputElement")
        if output_item:
            self.ctx.check_expression(subject, "result of one item", output_item, "output")
        return {
            "collection": collection,
            "item": item,
            "parallel": mi.get("isSequential", "false").strip().lower() != "true",
            "completion": completion,
            "output": output,
            "output_item": output_item,
        }

    # --- flows

    def _read_flows(self, elements: list[etree._Element]) -> None:
        for el in elements:
            flow_id = el.get("id", "")
            subject = Subject(flow_id, clean(el.get("name", "")), "Flow")
            source, target = el.get("sourceRef", "").strip(), el.get("targetRef", "").strip()
            ends_ok = True
            for end, role in ((source, "source"), (target, "target")):
                if end in self.ctx.nodes or end in self.ctx.placeholders:
                    continue
                ends_ok = False
                if not end:
                    self.ctx.error(subject, f"has no {role}.")
                elif end in self.elements:
                    self.ctx.error(subject, f'has {role} "{end}", which is not a step of the process.')
                else:
                    self.ctx.error(subject, f'has {role} "{end}", which does not exist.')
            condition = self._condition(el, subject)
            if not ends_ok:
                continue
            inside = {self._parent_of(end) for end in (source, target)}
            if len(inside) > 1:
                self.ctx.error(
                    subject,
                    "crosses the edge of a Group: a path into a Group starts at the Start inside it, "
                    "and a path out of it leaves from the Group itself.",
                )
                continue
            self.ctx.flows[flow_id] = {
                "id": flow_id,
                "name": subject.name,
                "source": source,
                "target": target,
                "condition": condition,
            }
            outcome = baton_attr(el, "outcome").strip()
            if outcome:
                self.ctx.flows[flow_id]["outcome"] = outcome
            if source in self.ctx.nodes:
                self.ctx.nodes[source]["outgoing"].append(flow_id)
            if target in self.ctx.nodes:
                self.ctx.nodes[target]["incoming"].append(flow_id)

    def _parent_of(self, element_id: str) -> str | None:
        node = self.ctx.nodes.get(element_id)
        if node is not None:
            return node.get("parent")
        el = self.elements.get(element_id)
        parent = el.getparent() if el is not None else None
        return parent.get("id") if parent is not None and local_name(parent) == "subProcess" else None

    def _condition(self, el: etree._Element, subject: Subject) -> str | None:
        expression = el.find(bpmn("conditionExpression"))
        if expression is None:
            return None
        language = expression.get("language", "").strip()
        if language and language.lower() != "cel":
            self.ctx.error(subject, f'has a condition in "{language}"; Baton conditions are written in CEL.')
        return text_of(expression) or None

    def _connect(self) -> None:
        """Kinds check their node against its flows (gateway roles); conditions leave only kinds that choose paths."""
        for node in self.ctx.nodes.values():
            kind = blocks.registered(node["kind"])
            if kind is not None and kind.connect is not None:
                kind.connect(node, self.ctx)
        for flow in self.ctx.flows.values():
            source = self.ctx.nodes.get(flow["source"])
            source_kind = blocks.registered(source["kind"]) if source is not None else None
            if "outcome" in flow and source is not None and not (source_kind and source_kind.path_outcomes):
                self.ctx.error(
                    Subject(flow["id"], flow["name"], "Flow"),
                    f"is taken for a decision, but {self.ctx.node_text(source)} is not an Approval.",
                )
            if flow["condition"] is None or source is None:
                continue
            subject = Subject(flow["id"], flow["name"], "Flow")
            source_kind = blocks.registered(source["kind"])
            if source_kind is None or not source_kind.conditional_flows:
                self.ctx.error(
                    subject,
                    "has a condition, but only flows leaving a Decision or Any of these paths can have one "
                    f"(it leaves {self.ctx.node_text(source)}).",
                )
            elif source["config"].get("default") == flow["id"]:
                self.ctx.warn(subject, "is the default flow, so its condition is ignored.")
                flow["condition"] = None
            else:
                what = f"condition leaving {self.ctx.node_text(source)}"
                self.ctx.check_expression(subject, what, flow["condition"], expect="bool")

    def _check_nodes(self) -> None:
        """Kinds check their node once every variable is typed (an Approval's amount)."""
        for node in self.ctx.nodes.values():
            kind = blocks.registered(node["kind"])
            if kind is not None and kind.check is not None:
                kind.check(node, self.ctx)

    # --- variables and expressions

    def _resolve_variables(self) -> None:
        """Type every variable; Set data and webhook values are typed by their expressions.

        Those expressions may read each other's results, so types are refined until
        they stop changing (a few rounds at most in practice).
        """
        inferred = [d for d in self.ctx.declarations if d.inferred is not None]
        for _ in range(5):
            variables, _ = _merge(self.ctx.declarations)
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
        self.ctx.variables, conflicts = _merge(self.ctx.declarations)
        for name, first, second in conflicts:
            hint = (
                " (write 1.0 rather than 1 for a number)"
                if {first.type, second.type} == {"number", "integer"}
                else ""
            )
            self.ctx.error(
                second.subject,
                f'sets "{name}" to {_a(second.type)}, '
                f"but {first.subject.text()} sets it to {_a(first.type)}{hint}.",
            )

    def _scope(self, scope: Scope, variables: dict[str, VariableType]) -> dict[str, VariableType]:
        if scope == "payload":
            return {**expressions.BUILTIN_VARIABLES, "payload": "map"}
        if scope == "output":
            return {**variables, "result": "map"}
        if scope == "progress":
            return {**variables, "progress": "map"}
        return variables

    def _check_expressions(self) -> None:
        for expr in self.ctx.expressions:
            variables = self._scope(expr.scope, self.ctx.variables)
            try:
                if expr.expect == "bool":
                    expressions.check(expr.source, variables, expect="bool")
                    continue
                found = expressions.type_of(expr.source, variables)
            except expressions.ExpressionError as exc:
                line, column = _offset(expr, exc.line, exc.column)
                where = f" (line {line}, column {column})" if line is not None else ""
                self.ctx.error(expr.subject, f"{expr.what}: {exc.message}{where}.", line, column)
                continue
            wanted = {
                "number": ("number", "integer", "dyn"),
                "moment": ("string", "date", "dyn"),
                "key": ("string", "integer", "number", "date", "dyn"),
                "list": ("list", "dyn"),
                "text": ("string", "dyn"),
            }.get(expr.expect or "")
            if wanted is not None and found not in wanted:
                self.ctx.error(
                    expr.subject, f"{expr.what} gives {_a(found)}; it must give {_wanted(expr.expect)}."
                )
            if expr.declared and not _compatible(expr.declared, found):
                self.ctx.error(
                    expr.subject,
                    f"{expr.what} is declared {_a(expr.declared)} but its expression gives {_a(found)}.",
                )


# --- helpers


def _merge(
    declarations: Iterable[Declaration],
) -> tuple[dict[str, VariableType], list[tuple[str, Declaration, Declaration]]]:
    """Variables with their types, and the conflicts (name, first declaration, clashing one)."""
    variables: dict[str, VariableType] = dict(expressions.BUILTIN_VARIABLES)
    origin: dict[str, Declaration] = {}
    conflicts: list[tuple[str, Declaration, Declaration]] = []
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


def _offset(expr: Expression, line: int | None, column: int | None) -> tuple[int | None, int | None]:
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
        "list": "a list",
        "text": "a text",
    }.get(expect or "", "a value")


def _other_engines_list(mi: etree._Element) -> str:
    """What another engine's list setting on ``mi`` says, for an error about a For each without Baton's own."""
    for attr, value in mi.attrib.items():
        qname = etree.QName(attr)
        if qname.localname == "collection" and qname.namespace not in (None, BATON_NS, BPMN_NS):
            name = _juel_name(value) or "reviewers"
            return (
                f' ({_prefix(mi, qname.namespace)}:collection "{value}" is another engine\'s setting, '
                f"which Baton does not read: set baton:collection to a list in CEL, such as {name})"
            )
    return ""


def _juel_name(source: str) -> str | None:
    """The variable a Camunda (JUEL) expression such as ``${reviewers}`` names; None when it is not just one."""
    text = source.strip()
    if not (text[:2] in ("${", "#{") and text.endswith("}")):
        return None
    name = text[2:-1].strip()
    return name if expressions.is_identifier(name) else None


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
