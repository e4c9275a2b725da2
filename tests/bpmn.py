"""Compact builders of BPMN XML for tests: real BPMN 2.0 with Baton attributes, no diagram."""

from __future__ import annotations

from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BATON = "http://baton.dev/schema/bpmn/1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def definitions(
    *elements: str,
    process_id: str = "flow",
    name: str = "Test flow",
    messages: tuple[str, ...] = (),
    errors: tuple[str, ...] = (),
) -> str:
    """A definitions document with one executable process holding ``elements``."""
    message_xml = "".join(f'<bpmn:message id="msg_{m}" name="{m}"/>' for m in messages)
    message_xml += "".join(f'<bpmn:error id="err_{e}" name="{e}" errorCode="{e}"/>' for e in errors)
    body = "\n    ".join(elements)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:baton="{BATON}" xmlns:xsi="{XSI}" '
        'id="defs" targetNamespace="http://baton.dev/tests">\n'
        f"  {message_xml}\n"
        f'  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">\n    {body}\n  </bpmn:process>\n'
        "</bpmn:definitions>\n"
    )


def _ext(*children: str) -> str:
    return f"<bpmn:extensionElements>{''.join(children)}</bpmn:extensionElements>" if children else ""


def _mappings(tag: str, items: dict[str, str]) -> list[str]:
    return [f"<baton:{tag} name={quoteattr(k)} expression={quoteattr(v)}/>" for k, v in items.items()]


def field(name: str, type: str = "string", required: bool = False, label: str = "", **extra: object) -> str:
    attrs = "".join(f" {k}={quoteattr(str(v))}" for k, v in extra.items())
    return f'<baton:formField name="{name}" label={quoteattr(label or name.title())} type="{type}" required="{str(required).lower()}"{attrs}/>'


def message_field(name: str, type: str = "string", required: bool = False) -> str:
    """What a message carries: one ``baton:messageField`` for a message start or wait."""
    return f'<baton:messageField name="{name}" type="{type}" required="{str(required).lower()}"/>'


def start(
    id: str = "start",
    *fields: str,
    name: str = "Start",
    cron: str = "",
    message: str = "",
    cycle: str = "",
    date: str = "",
) -> str:
    """A Start; ``cron`` or ``cycle`` (any timeCycle) or ``date`` (timeDate) schedules it."""
    definition = ""
    if cron or cycle or date:
        element, text = ("timeDate", date) if date else ("timeCycle", cron or cycle)
        definition = (
            f"<bpmn:timerEventDefinition><bpmn:{element}>{text}</bpmn:{element}></bpmn:timerEventDefinition>"
        )
    elif message:
        definition = f'<bpmn:messageEventDefinition messageRef="msg_{message}"/>'
    return f'<bpmn:startEvent id="{id}" name="{name}">{_ext(*fields)}{definition}</bpmn:startEvent>'


def end(id: str = "end", outcome: str = "", name: str = "End") -> str:
    attr = f' baton:outcome="{outcome}"' if outcome else ""
    return f'<bpmn:endEvent id="{id}" name="{name}"{attr}/>'


def stop(id: str = "stop", outcome: str = "", name: str = "Stop everything") -> str:
    """A terminate end event: "Stop everything"."""
    attr = f' baton:outcome="{outcome}"' if outcome else ""
    return f'<bpmn:endEvent id="{id}" name="{name}"{attr}><bpmn:terminateEventDefinition/></bpmn:endEvent>'


def service(
    id: str,
    connector: str = "http.request",
    *,
    name: str = "",
    properties: dict[str, str] | None = None,
    inputs: dict[str, str] | None = None,
    outputs: dict[str, str] | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    tag: str = "serviceTask",
    preset: str = "",
    output_types: dict[str, str] | None = None,
) -> str:
    attrs = f' baton:connector="{connector}"'
    if preset:
        attrs += f' baton:preset="{preset}"'
    if retries is not None:
        attrs += f' baton:retries="{retries}"'
    if backoff is not None:
        attrs += f' baton:retryBackoff="{backoff}"'
    if connector == "http.request" and properties is None:
        # Publishing refuses an HTTP step that names no system or address; tests answer it themselves.
        properties = {"url": "https://erp.example.invalid/"}
    props = [
        f"<baton:property name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in (properties or {}).items()
    ]
    children = props + _mappings("input", inputs or {}) + _mappings("output", outputs or {})
    for name, kind in (output_types or {}).items():
        children = [
            c.replace(f'output name="{name}" ', f'output type="{kind}" name="{name}" ') for c in children
        ]
    return f'<bpmn:{tag} id="{id}" name="{name or id}"{attrs}>{_ext(*children)}</bpmn:{tag}>'


def user_task(
    id: str,
    *fields: str,
    name: str = "",
    assignee: str = "",
    groups: str = "",
    rule: str = "",
    result: str = "",
) -> str:
    """An Approval; ``fields`` (:func:`field`) are what its approver fills in."""
    attrs = ""
    if assignee:
        attrs += f' baton:assignee="{assignee}"'
    if groups:
        attrs += f' baton:candidateGroups="{groups}"'
    if rule:
        attrs += f' baton:assigneeRule="{rule}"'
    if result:
        attrs += f' baton:resultVariable="{result}"'
    return f'<bpmn:userTask id="{id}" name="{name or id}"{attrs}>{_ext(*fields)}</bpmn:userTask>'


def script(id: str, cel_map: str, name: str = "") -> str:
    return f'<bpmn:scriptTask id="{id}" name="{name or id}" scriptFormat="cel"><bpmn:script>{escape(cel_map)}</bpmn:script></bpmn:scriptTask>'


def gateway(id: str, kind: str = "exclusive", default: str = "", name: str = "") -> str:
    attr = f' default="{default}"' if default else ""
    return f'<bpmn:{kind}Gateway id="{id}" name="{name or id}"{attr}/>'


def ai_gateway(
    id: str,
    default: str,
    *,
    name: str = "",
    properties: dict[str, str] | None = None,
    inputs: dict[str, str] | None = None,
    retries: int | None = None,
    backoff: float | None = None,
) -> str:
    """A Decision the AI decides among its paths' names (the AI connector's settings on the gateway)."""
    attrs = f' default="{default}"' if default else ""
    if retries is not None:
        attrs += f' baton:retries="{retries}"'
    if backoff is not None:
        attrs += f' baton:retryBackoff="{backoff}"'
    props = [
        f"<baton:property name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in (properties or {}).items()
    ]
    children = props + _mappings("input", inputs or {})
    return (
        f'<bpmn:exclusiveGateway id="{id}" name="{name or id}" baton:connector="ai.ask"{attrs}>'
        f"{_ext(*children)}</bpmn:exclusiveGateway>"
    )


def wait_timer(id: str, duration: str, name: str = "") -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{id}" name="{name or id}">'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )


def wait_message(id: str, message: str, key: str, *fields: str, name: str = "") -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{id}" name="{name or id}" baton:correlationKey={quoteattr(key)}>'
        f'{_ext(*fields)}<bpmn:messageEventDefinition messageRef="msg_{message}"/></bpmn:intermediateCatchEvent>'
    )


def call(
    id: str, workflow_key: str, *, inputs: dict[str, str] | None = None, outputs: dict[str, str] | None = None
) -> str:
    children = _mappings("input", inputs or {}) + _mappings("output", outputs or {})
    return f'<bpmn:callActivity id="{id}" name="{id}" calledElement="{workflow_key}">{_ext(*children)}</bpmn:callActivity>'


def flow(
    source: str, target: str, *, id: str = "", condition: str = "", name: str = "", outcome: str = ""
) -> str:
    """A path; ``outcome`` makes it the one an Approval ``source`` takes for that decision."""
    fid = id or f"f_{source}_{target}"
    taken = f' baton:outcome="{outcome}"' if outcome else ""
    if not condition:
        return (
            f'<bpmn:sequenceFlow id="{fid}" name="{name}" sourceRef="{source}" targetRef="{target}"{taken}/>'
        )
    return (
        f'<bpmn:sequenceFlow id="{fid}" name="{name}" sourceRef="{source}" targetRef="{target}"{taken}>'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
    )


def chain(*ids: str) -> list[str]:
    """Flows joining ``ids`` one after another."""
    return [flow(a, b) for a, b in pairwise(ids)]


def linear_inline(blocks: int, *, message: str = "", wait_for: str = "") -> str:
    """Start → ``blocks`` Set data blocks in a row (none waits) → End.

    ``message`` makes the Start a message Start; ``wait_for`` puts a Wait for that message
    (keyed on the business key) right after the Start.
    """
    ids = [f"set{i}" for i in range(blocks)]
    waits = [wait_message("wait", wait_for, "business_key")] if wait_for else []
    return definitions(
        start(message=message),
        *waits,
        *[script(i, '{"done": true}') for i in ids],
        end(outcome="done"),
        *chain("start", *(["wait"] if wait_for else []), *ids, "end"),
        messages=tuple(m for m in (message, wait_for) if m),
    )


def ten_inline_blocks() -> str:
    """Ten inline blocks, none waits: a decision, Set data, a parallel split and join (the engine bench's flow)."""
    return definitions(
        start("start", field("amount", "number", required=True)),
        gateway("big", default="f_small"),
        script("s1", '{"a": amount * 2.0}'),
        script("s2", '{"b": a + 1.0}'),
        gateway("split", "parallel"),
        script("p1", '{"c": b > 10.0}'),
        script("p2", '{"d": "x"}'),
        gateway("join", "parallel"),
        end(),
        flow("start", "big"),
        flow("big", "s2", id="f_big", condition="amount > 1000000.0"),
        flow("big", "s1", id="f_small"),
        flow("s1", "s2"),
        flow("s2", "split"),
        flow("split", "p1"),
        flow("split", "p2"),
        flow("p1", "join"),
        flow("p2", "join"),
        flow("join", "end"),
    )


def group(id: str, *inside: str, name: str = "") -> str:
    """A Group (embedded sub-process) holding ``inside`` (its own Start, End and flows)."""
    return f'<bpmn:subProcess id="{id}" name="{name or id}">{"".join(inside)}</bpmn:subProcess>'


def for_each(
    element: str,
    collection: str,
    *,
    item: str = "",
    sequential: bool = False,
    output: str = "",
    output_item: str = "",
    completion: str = "",
) -> str:
    """``element`` (a task, call or group) made to run once per item of ``collection``."""
    attrs = f" baton:collection={quoteattr(collection)}"
    for name, value in (
        ("elementVariable", item),
        ("outputCollection", output),
        ("outputElement", output_item),
    ):
        if value:
            attrs += f" baton:{name}={quoteattr(value)}"
    if sequential:
        attrs += ' isSequential="true"'
    inner = (
        f'<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{escape(completion)}</bpmn:completionCondition>'
        if completion
        else ""
    )
    loop = f"<bpmn:multiInstanceLoopCharacteristics{attrs}>{inner}</bpmn:multiInstanceLoopCharacteristics>"
    if element.endswith("/>"):
        tag = element[1 : element.index(" ")]
        return f"{element[:-2]}>{loop}</{tag}>"
    closing = element.rindex("</")
    return element[:closing] + loop + element[closing:]


def boundary_timer(
    id: str,
    attached_to: str,
    *,
    duration: str = "",
    cycle: str = "",
    interrupting: bool = True,
    name: str = "",
) -> str:
    """A deadline (interrupting) or reminder on ``attached_to`` after ``duration`` or every ``cycle``."""
    tag, text = ("timeCycle", cycle) if cycle else ("timeDuration", duration)
    cancel = "" if interrupting else ' cancelActivity="false"'
    return (
        f'<bpmn:boundaryEvent id="{id}" name="{name or id}" attachedToRef="{attached_to}"{cancel}>'
        f"<bpmn:timerEventDefinition><bpmn:{tag}>{text}</bpmn:{tag}></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    )


def boundary_error(id: str, attached_to: str, *, code: str = "", variable: str = "", name: str = "") -> str:
    """An "If it fails" path on ``attached_to`` for the error ``code`` (any error without one)."""
    ref = f' errorRef="err_{code}"' if code else ""
    attr = f' baton:errorVariable="{variable}"' if variable else ""
    return (
        f'<bpmn:boundaryEvent id="{id}" name="{name or id}" attachedToRef="{attached_to}"{attr}>'
        f"<bpmn:errorEventDefinition{ref}/></bpmn:boundaryEvent>"
    )


def boundary_message(
    id: str, attached_to: str, message: str, key: str, *, interrupting: bool = True, name: str = ""
) -> str:
    """A message while ``attached_to`` waits."""
    cancel = "" if interrupting else ' cancelActivity="false"'
    return (
        f'<bpmn:boundaryEvent id="{id}" name="{name or id}" attachedToRef="{attached_to}"{cancel} '
        f"baton:correlationKey={quoteattr(key)}>"
        f'<bpmn:messageEventDefinition messageRef="msg_{message}"/></bpmn:boundaryEvent>'
    )


def error_end(id: str, code: str, name: str = "") -> str:
    """An End with error ``code``."""
    return (
        f'<bpmn:endEvent id="{id}" name="{name or id}">'
        f'<bpmn:errorEventDefinition errorRef="err_{code}"/></bpmn:endEvent>'
    )
