"""The words a business user must not meet on a page, and the page text they would read.

The rule (README, "Plain words"): every word a person sees — text, option labels, placeholders,
tooltips (``title``) and names read aloud (``aria-label``) — is in the palette's business
vocabulary, except inside a disclosure a power user opens on purpose:

- a ``<details>`` disclosure whose ``<summary>`` begins "Details" or "Advanced" (the summary itself is
  read; a disclosure called anything else, "Which requests", "Email settings", is read whole),
- anything marked ``data-technical`` (a CEL text box's own help, a name shown as a code chip
  *beside* its plain label, e.g. "Amount ``amount``": power users type the name in conditions, and
  the plain label beside it is what everyone else reads),
- the bpmn.io watermark on a canvas, which its licence keeps visible (it names the drawing library).

What a person typed (input values, the diagram's own names) is theirs and is not scanned.
"""

from __future__ import annotations

import re

import lxml.html

# (what it is, pattern, case-sensitive): each pattern matches a word a finance clerk should not have to know.
FORBIDDEN: tuple[tuple[str, str, bool], ...] = (
    ("BPMN", r"\bBPMN\b", False),
    ("CEL", r"\bCEL\b", True),
    ("gateway", r"\bgateways?\b", False),
    ("flow", r"\bflows?\b", False),
    ("token", r"\btokens?\b", False),
    ("connector", r"\bconnectors?\b", False),
    ("variable", r"\bvariables?\b", False),
    ("sequence", r"\bsequence\b", False),
    ("sub-process", r"\bsub-?process(?:es)?\b", False),
    ("element", r"\belements?\b", False),
    ("payload", r"\bpayloads?\b", False),
    ("JSON", r"\bJSON\b", False),
    ("expression", r"\bexpressions?\b", False),
    (
        "a block's id",
        r"\b(?:Gateway|Activity|Flow|Event|StartEvent|EndEvent|Task|UserTask|ServiceTask)_\w+",
        True,
    ),
    ("a setting's name", r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", True),
    ("a snake_case name", r"(?<![\w.@/{-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b(?!\.\w|[@/}(-])", True),
)
_PATTERNS = [(what, re.compile(pattern, 0 if cased else re.IGNORECASE)) for what, pattern, cased in FORBIDDEN]
_NOT_READ = ("script", "style", "noscript", "textarea")
_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
# The summaries that say a disclosure holds technical detail.
TECHNICAL_SUMMARY = re.compile(r"^\s*(?:Details|Advanced)\b")


def _technical_disclosure(element: lxml.html.HtmlElement) -> bool:
    summary = element.find("summary") if element.tag == "details" else None
    return summary is not None and bool(TECHNICAL_SUMMARY.match(summary.text_content()))


def technical_words(text: str) -> list[str]:
    """Each forbidden word in ``text``, as 'what: “…context…”'."""
    hits = []
    for what, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 40), match.end() + 40
            context = " ".join(text[start:end].split())
            hits.append(f"{what} {match[0]!r}: “…{context}…”")
    return hits


def _read(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    """Append the words of ``element`` (and its tail, which is its parent's) in document order."""
    technical = element.tag in _NOT_READ or element.get("data-technical") is not None
    disclosure = _technical_disclosure(element)
    if not technical:
        parts.extend(element.get(name, "") for name in _ATTRIBUTES)
        if not disclosure and element.text:
            parts.append(element.text)
        for child in element:
            if not isinstance(child.tag, str):
                parts.append(child.tail or "")
            elif not disclosure or child.tag == "summary":
                _read(child, parts)
            # A technical disclosure's inside (all but its summary) is for power users, loose text too.
    parent = element.getparent()
    if element.tail and (parent is None or not _technical_disclosure(parent)):
        parts.append(element.tail)


def page_text(html: str) -> str:
    """The words of an HTML page or fragment a person reads, outside disclosures (see the module's rule).

    Hidden parts are read too: a panel's sections show as its choices change, and its row
    templates become rows.
    """
    whole = html.lstrip().lower().startswith(("<!doctype", "<html"))
    root = (
        lxml.html.document_fromstring(html)
        if whole
        else lxml.html.fragment_fromstring(html, create_parent="div")
    )
    parts: list[str] = []
    _read(root, parts)
    return " ".join(" ".join(parts).split())


def assert_plain(where: str, text: str) -> None:
    """Fail naming each forbidden word found in ``text``, read on ``where``."""
    hits = technical_words(text)
    assert not hits, f"{where} shows technical words:\n  " + "\n  ".join(hits)
