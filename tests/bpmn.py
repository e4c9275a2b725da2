"""Compact builders of BPMN XML for tests: real BPMN 2.0 with Baton attributes, no diagram."""

from __future__ import annotations

from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BATON = "http://baton.dev/schema/bpmn/1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def definitions(
    *elements: str, process_id: str = "flow", name: str = "Test flow", messages: tuple[str, ...] = ()
) -> str:
    """A definitions document with one executable process holding ``elements``."""
    message_xml = "".join(f'<bpmn:message id="msg_{m}" name="{m}"/>' for m in messages)
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


def field(name: str, type: str = "string", required: bool = False, **extra: object) -> str:
    attrs = "".join(f" {k}={quoteattr(str(v))}" for k, v in extra.items())
    return f'<baton:formField name="{name}" label="{name.title()}" type="{type}" required="{str(required).lower()}"{attrs}/>'


def start(id: str = "start", *fields: str, name: str = "Start", cron: str = "", message: str = "") -> str:
    definition = ""
    if cron:
        definition = (
            f"<bpmn:timerEventDefinition><bpmn:timeCycle>{cron}</bpmn:timeCycle></bpmn:timerEventDefinition>"
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
) -> str:
    attrs = f' baton:connector="{connector}"'
    if retries is not None:
        attrs += f' baton:retries="{retries}"'
    if backoff is not None:
        attrs += f' baton:retryBackoff="{backoff}"'
    props = [
        f"<baton:property name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in (properties or {}).items()
    ]
    children = props + _mappings("input", inputs or {}) + _mappings("output", outputs or {})
    return f'<bpmn:{tag} id="{id}" name="{name or id}"{attrs}>{_ext(*children)}</bpmn:{tag}>'


def user_task(
    id: str, *, name: str = "", assignee: str = "", groups: str = "", rule: str = "", result: str = ""
) -> str:
    attrs = ""
    if assignee:
        attrs += f' baton:assignee="{assignee}"'
    if groups:
        attrs += f' baton:candidateGroups="{groups}"'
    if rule:
        attrs += f' baton:assigneeRule="{rule}"'
    if result:
        attrs += f' baton:resultVariable="{result}"'
    return f'<bpmn:userTask id="{id}" name="{name or id}"{attrs}/>'


def script(id: str, cel_map: str, name: str = "") -> str:
    return f'<bpmn:scriptTask id="{id}" name="{name or id}" scriptFormat="cel"><bpmn:script>{escape(cel_map)}</bpmn:script></bpmn:scriptTask>'


def gateway(id: str, kind: str = "exclusive", default: str = "", name: str = "") -> str:
    attr = f' default="{default}"' if default else ""
    return f'<bpmn:{kind}Gateway id="{id}" name="{name or id}"{attr}/>'


def wait_timer(id: str, duration: str, name: str = "") -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{id}" name="{name or id}">'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )


def wait_message(id: str, message: str, key: str, name: str = "") -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{id}" name="{name or id}" baton:correlationKey={quoteattr(key)}>'
        f'<bpmn:messageEventDefinition messageRef="msg_{message}"/></bpmn:intermediateCatchEvent>'
    )


def call(
    id: str, workflow_key: str, *, inputs: dict[str, str] | None = None, outputs: dict[str, str] | None = None
) -> str:
    children = _mappings("input", inputs or {}) + _mappings("output", outputs or {})
    return f'<bpmn:callActivity id="{id}" name="{id}" calledElement="{workflow_key}">{_ext(*children)}</bpmn:callActivity>'


def flow(source: str, target: str, *, id: str = "", condition: str = "", name: str = "") -> str:
    fid = id or f"f_{source}_{target}"
    if not condition:
        return f'<bpmn:sequenceFlow id="{fid}" name="{name}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{fid}" name="{name}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
    )


def chain(*ids: str) -> list[str]:
    """Flows joining ``ids`` one after another."""
    return [flow(a, b) for a, b in pairwise(ids)]


def linear_inline(blocks: int) -> str:
    """Start → ``blocks`` Set data blocks in a row (none waits) → End."""
    ids = [f"set{i}" for i in range(blocks)]
    return definitions(
        start(),
        *[script(i, '{"done": true}') for i in ids],
        end(outcome="done"),
        *chain("start", *ids, "end"),
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
