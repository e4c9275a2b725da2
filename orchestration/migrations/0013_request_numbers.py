"""Request numbers: existing requests are numbered in the order they were made, then the database numbers new ones."""

from django.db import migrations, models

import orchestration.request_numbers


def _number_existing(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        # Both backends read a window function in an UPDATE … FROM (SQLite 3.33+).
        cursor.execute(
            "UPDATE orchestration_processinstance SET number = ordered.n FROM"
            " (SELECT id, ROW_NUMBER() OVER (ORDER BY started_at, id) AS n FROM orchestration_processinstance) AS ordered"
            " WHERE orchestration_processinstance.id = ordered.id"
        )


def _install(apps, schema_editor):
    orchestration.request_numbers.install(schema_editor.connection)


def _uninstall(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP SEQUENCE IF EXISTS {orchestration.request_numbers.SEQUENCE}")
        elif connection.vendor == "sqlite":
            counter = orchestration.request_numbers.SQLITE_COUNTER
            cursor.execute(f"DROP TRIGGER IF EXISTS {counter}_moves")
            cursor.execute(f"DROP TABLE IF EXISTS {counter}")


class Migration(migrations.Migration):

    dependencies = [
        ('orchestration', '0012_attachments'),
    ]

    operations = [
        migrations.AddField(
            model_name='processinstance',
            name='number',
            field=models.BigIntegerField(editable=False, null=True, verbose_name='request number'),
        ),
        migrations.RunPython(_number_existing, migrations.RunPython.noop),
        # The sequence must exist before a column default names it.
        migrations.RunPython(_install, _uninstall),
        migrations.AlterField(
            model_name='processinstance',
            name='number',
            field=models.BigIntegerField(db_default=orchestration.request_numbers.NextRequestNumber(), editable=False, unique=True, verbose_name='request number'),
        ),
        # SQLite rebuilt the table for the change above, dropping its triggers: install again.
        migrations.RunPython(_install, migrations.RunPython.noop),
    ]
