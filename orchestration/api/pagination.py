"""How API lists are paged: ``?limit=`` and ``?offset=``, with a cap on both."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination

# Beyond any table Baton will hold, and well inside PostgreSQL's bigint (2^63 - 1).
MAX_OFFSET = 10**15


class Pages(LimitOffsetPagination):
    """50 rows by default, at most 500; an offset past every row gives an empty page, never an error."""

    default_limit = 50
    max_limit = 500

    def get_offset(self, request: Any) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
