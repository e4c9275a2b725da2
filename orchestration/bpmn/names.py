"""How the designer names blocks and paths to a business user, and says compiler problems plainly.

The compiler's messages are precise and name elements with their ids ('Decision "Approved?"
(Gateway_1g5k7yp)'), which the API and the tests keep. A person reading the designer gets the
same message in the palette's words: blocks by their name, or by their place when they have
none ("the second Approval", counted left to right on the diagram), and paths as paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from orchestration.bpmn.parse import BATON_NS, BPMN_NS, load
from orchestration.bpmn.problems import element_label

_DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
_DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")

# Words of the file format, and what the palette calls them. Longest first: "default flow" before "flow".
_PLAIN_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bdefault (?:sequence )?flow\b", "path taken otherwise"),
    (r"\boutgoing (?:sequence )?flows\b", "paths out"),
    (r"\boutgoing (?:sequence )?flow\b", "path out"),
    (r"\bincoming (?:sequence )?flows\b", "paths in"),
    (r"\bincoming (?:sequence )?flow\b", "path in"),
    (r"\bsequence flows?\b", "path"),
    (r"\bflows\b", "paths"),
    (r"\bflow\b", "path"),
    (r"\bexclusive gateway\b", "Decision"),
    (r"\bparallel gateway\b", "Parallel split or join"),
    (r"\binclusive gateway\b", "Any of these paths"),
    (r"\bevent-based gateway\b", "First event wins"),
    (r"\bgateways\b", "decision points"),
    (r"\bgateway\b", "decision point"),
    (r"\bsub-?process call\b", "Workflow call"),
    (r"\bthe sub-?process\b", "the other workflow"),
    (r"\bsub-?process(es)?\b", "Group of steps"),
    (r"\bcallActivity\b", "Call"),
    (r"\bCEL maps\b", "lists of values"),
    (r"\bCEL expressions\b", "formulas"),
    (r"\bCEL expression\b", "formula"),
    (r"\bCEL\b", "formula"),
    (r"\bcorrelation key\b", "key matching the request"),
    (r"\ban expression\b", "a formula"),
    (r"\ban instance\b", "a request"),
    (r"\ban element\b", "a shape"),
    (r"\bexpressions\b", "formulas"),
    (r"\bexpression\b", "formula"),
    (r"\bpayload\b", "data sent"),
    (r"\bconnectors\b", "automated actions"),
    (r"\bconnector\b", "automated action"),
    (r"\binstances\b", "requests"),
    (r"\binstance\b", "request"),
    (r"\belements\b", "shapes"),
    (r"\belement\b", "shape"),
    (r"\bvariables\b", "values"),
    (r"\bvariable\b", "value"),
    (r"\btokens?\b", "request"),
)
_PLAIN = [(re.compile(pattern, re.IGNORECASE), words) for pattern, words in _PLAIN_WORDS]
# 'Label "Name" (id)' or 'Label (id)', as compiler messages name an element.
_NAMED_ELEMENT = re.compile(r'(?:[A-Z][\w/ -]*?)(?: "[^"]*")? \(([A-Za-z_][\w.-]*)\)')


def block_names(xml: str) -> dict[str, str]:
    """Each block's and path's name in the designer's words, by element id.

    A named block reads 'Decision “Approved?”'; an unnamed one 'the second Approval' (its place
    among the blocks of its kind, left to right then top to bottom on the drawing), or 'the
    Approval' when it is the only one; a path 'the path from … to …'.
    """
    root, _ = load(xml)
    if root is None:
        return {}
    where: dict[str, tuple[float, float]] = {}
    for shape in root.iter(f"{{{_DI_NS}}}BPMNShape"):
        bounds = shape.find(f"{{{_DC_NS}}}Bounds")
        if bounds is not None:
            where[shape.get("bpmnElement", "")] = (float(bounds.get("x", 0)), float(bounds.get("y", 0)))
    blocks: dict[str, list[etree._Element]] = {}
    flows: list[etree._Element] = []
    for order, el in enumerate(root.iter()):
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS or not el.get("id"):
            continue
        local = etree.QName(el).localname
        if local == "sequenceFlow":
            flows.append(el)
            continue
        label = block_label(el)
        if label not in ("Element", "Process", "Lane", "Flow"):
            el.set("_order", str(order))  # a scratch attribute on this parse only
            blocks.setdefault(label, []).append(el)
    names: dict[str, str] = {}
    for label, found in blocks.items():
        found.sort(key=lambda e: (*where.get(e.get("id", ""), (float("inf"), 0.0)), int(e.get("_order", 0))))
        for place, el in enumerate(found):
            name = " ".join(el.get("name", "").split())
            if name:
                names[el.get("id", "")] = f"{label} “{name}”"
            elif len(found) == 1:
                names[el.get("id", "")] = f"the {label}"
            else:
                ordinal = _ORDINALS[place] if place < len(_ORDINALS) else f"{place + 1}th"
                names[el.get("id", "")] = f"the {ordinal} {label}"
    for flow in flows:
        name = " ".join(flow.get("name", "").split())
        source = names.get(flow.get("sourceRef", ""), "a block")
        target = names.get(flow.get("targetRef", ""), "a block")
        called = f" “{name}”" if name else ""
        names[flow.get("id", "")] = f"the path{called} from {source} to {target}"
    return names


def block_label(el: etree._Element) -> str:
    """The palette's name of ``el``'s kind, or of its preset when it has the preset's settings ("Ask AI")."""
    from orchestration.engine.blocks import kind_for_element  # the registry imports this module

    local = etree.QName(el).localname
    kind = kind_for_element(local)
    if kind is None or not kind.presets:
        return element_label(local)
    settings = {
        etree.QName(a).localname: v for a, v in el.attrib.items() if etree.QName(a).namespace == BATON_NS
    }
    return kind.label_for(settings)


def plain(message: str, names: Mapping[str, str]) -> str:
    """``message`` with elements named as :func:`block_names` names them and the palette's words."""

    def name(match: re.Match[str]) -> str:
        return names.get(match[1], match[0])

    text = _NAMED_ELEMENT.sub(name, message)
    for pattern, words in _PLAIN:
        text = pattern.sub(words, text)
    return text


def sentence(text: str) -> str:
    """``text`` starting with a capital (names inside keep theirs)."""
    return text[:1].upper() + text[1:]
