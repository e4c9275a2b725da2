"""The run's quicker flush (tests/conftest.py) still leaves every table empty, as TRUNCATE did, but
for the content types and permissions, which it keeps under the same ids."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection

from tests.conftest import Engine


def _rows_per_table() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def test_the_flush_after_a_transactional_test_empties_every_table(live_engine: Engine) -> None:
    call_command("baton_demo", verbosity=0)
    assert _rows_per_table()["auth_user"] > 0

    # What Django's TransactionTestCase runs after each test, without the post_migrate signal that
    # fills the content types and permissions in again.
    call_command(
        "flush",
        verbosity=0,
        interactive=False,
        reset_sequences=False,
        allow_cascade=False,
        inhibit_post_migrate=True,
    )

    # The flush keeps these on both databases: the worker caches their ids.
    kept = {"django_content_type", "auth_permission"}
    left = _rows_per_table()
    assert {table: rows for table, rows in left.items() if rows and table not in kept} == {}
    assert all(left[table] > 0 for table in kept)
