"""Request numbers: the human number every request gets when it is made (``REQ-2026-000123``).

The number is one counter over all requests, unique and never reused; the year shown is
the year the request was made (UTC). The database assigns it in the INSERT that writes the
request and hands it back in the same statement (``RETURNING``), so starting a request costs
no extra statement:

- PostgreSQL: the column's default is ``nextval`` of the sequence ``orchestration_request_number``
  (safe under concurrent starts; a rolled-back start leaves a gap, never a duplicate).
- SQLite: ``DEFAULT`` cannot read a table there, so Django's INSERT (which writes defaults out
  on SQLite) takes the next value from a one-row counter table that a trigger moves on after
  each insert. Writers are serialised by IMMEDIATE transactions, so two starts never read the
  same value; the unique constraint guards it twice.

A dry run (a designer's test run, a replay) writes requests it rolls back. On PostgreSQL
``nextval`` is not undone by a rollback, so the engine gives those requests a negative stand-in
number instead (``orchestration.engine.context.stand_in_number``), and real requests keep
consecutive numbers.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db.models import Expression, IntegerField, Q
from django.db.models.sql.compiler import SQLInsertCompiler

__all__ = ["PREFIX", "NextRequestNumber", "format_number", "install", "matching", "parse"]

PREFIX = "REQ"
SEQUENCE = "orchestration_request_number"
SQLITE_COUNTER = "orchestration_request_number_counter"

# The statements name fixed tables only (no value is ever put into them).
_SQLITE_NEXT = (
    "(SELECT MAX(n) + 1 FROM (SELECT value AS n FROM orchestration_request_number_counter"
    " UNION ALL SELECT COALESCE(MAX(number), 0) FROM orchestration_processinstance))"
)
_PG_CREATE = "CREATE SEQUENCE IF NOT EXISTS orchestration_request_number AS bigint"
_PG_HIGHEST = (
    "SELECT GREATEST((SELECT COALESCE(MAX(number), 0) FROM orchestration_processinstance),"
    " (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM orchestration_request_number))"
)
_SQLITE_INSTALL = (
    "CREATE TABLE IF NOT EXISTS orchestration_request_number_counter (value integer NOT NULL)",
    "INSERT INTO orchestration_request_number_counter (value) SELECT 0"
    " WHERE NOT EXISTS (SELECT 1 FROM orchestration_request_number_counter)",
    "UPDATE orchestration_request_number_counter SET value = (SELECT MAX(n) FROM"
    " (SELECT value AS n FROM orchestration_request_number_counter"
    " UNION ALL SELECT COALESCE(MAX(number), 0) FROM orchestration_processinstance))",
    "CREATE TRIGGER IF NOT EXISTS orchestration_request_number_counter_moves"
    " AFTER INSERT ON orchestration_processinstance BEGIN UPDATE orchestration_request_number_counter"
    " SET value = NEW.number WHERE value < NEW.number; END",
)
_NUMBER = re.compile(rf"^#?\s*(?:{PREFIX}\s*-?\s*)?(?:(\d{{4}})\s*-\s*)?0*(\d{{1,15}})$", re.IGNORECASE)


class NextRequestNumber(Expression):
    """The next request number, as the database default of ``ProcessInstance.number``."""

    allowed_default = True
    output_field = IntegerField()

    # Params are a list: the schema editor adds them to a list (the stubs say tuple).
    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        """Other databases are not supported (the project runs on PostgreSQL and SQLite)."""
        raise NotImplementedError(f"Request numbers need PostgreSQL or SQLite, not {connection.vendor}.")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return f"nextval('{SEQUENCE}')", []

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        if isinstance(compiler, SQLInsertCompiler):
            # The counter keeps numbers of deleted requests from coming back; the table's own
            # highest number keeps them unique should the trigger be missing.
            return _SQLITE_NEXT, []
        # The column's own DEFAULT (table definitions): none, so a row written without Django fails loudly.
        return "NULL", []


def format_number(number: int | None, started_at: datetime.datetime) -> str:
    """``REQ-<year made>-<number, six digits at least>``; "" for a request not written yet (or a dry run's)."""
    if number is None or not isinstance(number, int) or number < 0:
        return ""
    return f"{PREFIX}-{started_at.astimezone(datetime.UTC).year}-{number:06d}"


def parse(text: str) -> tuple[int | None, int] | None:
    """(year or None, number) from what a person typed: ``REQ-2026-000123``, ``req-2026-123``, ``#123``…

    ``None`` when the text is not a request number.
    """
    match = _NUMBER.match(text.strip())
    if not match:
        return None
    year = int(match.group(1)) if match.group(1) else None
    return year, int(match.group(2))


def matching(text: str, prefix: str = "") -> Q | None:
    """The condition "is the request numbered ``text``" on a queryset (``prefix`` leads to the instance), or ``None``.

    With a year, the request must also have been made that year (the counter is global,
    so the number alone identifies it).
    """
    parsed = parse(text)
    if parsed is None:
        return None
    year, number = parsed
    condition = Q(**{f"{prefix}number": number})
    if year is not None:
        if not datetime.MINYEAR < year < datetime.MAXYEAR:
            return Q(pk__in=[])
        start = datetime.datetime(year, 1, 1, tzinfo=datetime.UTC)
        end = datetime.datetime(year + 1, 1, 1, tzinfo=datetime.UTC)
        condition &= Q(**{f"{prefix}started_at__gte": start, f"{prefix}started_at__lt": end})
    return condition


def install(connection: Any) -> None:
    """Create what gives numbers (idempotent), moved past every number already given.

    PostgreSQL: the sequence. SQLite: the counter table and its trigger; run again after
    every ``migrate`` (a migration that rebuilds the requests' table drops its triggers).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_CREATE)
            cursor.execute(_PG_HIGHEST)
            (highest,) = cursor.fetchone()
            if highest:
                cursor.execute("SELECT setval(%s, %s, true)", [SEQUENCE, highest])
        elif connection.vendor == "sqlite":
            for statement in _SQLITE_INSTALL:
                cursor.execute(statement)
