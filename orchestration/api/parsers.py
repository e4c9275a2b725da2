"""Request body parsers for the API: DRF's JSON parser, made safe against deeply nested bodies."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 for nesting deep enough to exhaust Python's recursion limit.

    DRF catches only ``ValueError``; ``{"a": [[[…3,000 levels…]]]}`` raises ``RecursionError``
    from the json module, which would be a 500 before authentication even runs.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
