"""Loading BPMN XML safely: no DTDs, no entities, no network, a size cap."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from lxml import etree

from orchestration.bpmn.problems import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MAX_SIZE = 2 * 1024 * 1024

DESCRIPTOR_PATH = Path(__file__).with_name("baton.json")


def read_text(source: Any) -> str:
    """Read a diagram from a file-like ``source`` (an upload, a request body) as text.

    Raises ValueError saying why it cannot be taken: larger than :data:`MAX_SIZE`, not UTF-8,
    or holding a NUL character (XML forbids it, and PostgreSQL cannot store it in text).
    """
    # Read one byte past the cap so an oversized body is refused without reading it all.
    data: bytes = source.read(MAX_SIZE + 1) if source is not None else b""
    if len(data) > MAX_SIZE:
        raise ValueError(f"The diagram is larger than {MAX_SIZE // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("Send the diagram as UTF-8 text.") from None
    if "\x00" in text:
        raise ValueError("The diagram holds a NUL character (byte 0), which XML does not allow.")
    return text


@functools.cache
def descriptor() -> dict[str, Any]:
    """The baton moddle descriptor, shared with bpmn-js (``moddleExtensions``)."""
    data: dict[str, Any] = json.loads(DESCRIPTOR_PATH.read_text(encoding="utf-8"))
    return data


BATON_NS: str = descriptor()["uri"]
BATON_PREFIX: str = descriptor()["prefix"]


def bpmn(local: str) -> str:
    """The Clark name of a BPMN model element, for lxml lookups."""
    return f"{{{BPMN_NS}}}{local}"


def baton(local: str) -> str:
    """The Clark name of a baton element or attribute."""
    return f"{{{BATON_NS}}}{local}"


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _mentions_doctype(data: bytes) -> bool:
    if b"<!DOCTYPE" in data:
        return True
    # UTF-16/32 files hide the ASCII bytes; look at the decoded text too.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        for encoding in ("utf-16", "utf-32"):
            try:
                if "<!DOCTYPE" in data.decode(encoding):
                    return True
            except UnicodeDecodeError:
                continue
    return False


def load(xml: str | bytes) -> tuple[etree._Element | None, Problem | None]:
    """Parse ``xml`` into its root element, or say why it cannot be read."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_SIZE:
        return None, Problem(None, "", f"The file is larger than {MAX_SIZE // (1024 * 1024)} MB.")
    if _mentions_doctype(data):
        return None, Problem(None, "", "The file contains a DOCTYPE declaration, which Baton refuses.")
    if not data.strip():
        return None, Problem(None, "", "The file is empty.")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, None)
        reason = re.sub(r", line \d+, column \d+$", "", exc.msg or "syntax error")
        return None, Problem(
            None, "", f"The file is not well-formed XML: {reason} (line {line}).", line, column or None
        )
    except ValueError as exc:  # e.g. a str whose declaration names an encoding lxml cannot decode
        return None, Problem(None, "", f"The file cannot be read: {exc}.")
    if root.getroottree().docinfo.doctype:
        return None, Problem(None, "", "The file contains a DOCTYPE declaration, which Baton refuses.")
    if root.tag != bpmn("definitions"):
        return None, Problem(None, "", "This is not a BPMN 2.0 file: its root is not bpmn:definitions.")
    return root, None
