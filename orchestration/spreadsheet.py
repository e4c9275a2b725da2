"""CSV files people open in a spreadsheet: text that would start a formula is kept as text."""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "cell"]

# What makes Excel, LibreOffice and Google Sheets read a cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """``value`` as a CSV cell: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
