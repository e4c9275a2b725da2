"""Import people from an HR file (CSV): a dry run that lists every change, or ``--apply``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.people import COLUMNS, apply_plan, read_people


class Command(BaseCommand):
    help = (
        "Create and update people, their managers, departments and authority limits from a CSV file "
        "exported by HR. Lists every change without making it, unless --apply is given. Columns: "
        + ", ".join(name.replace("_", " ") for name in COLUMNS)
        + " (only username is required)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file, with a header line naming the columns.")
        parser.add_argument("--apply", action="store_true", help="Make the changes (in one transaction).")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="Also deactivate active people the file does not list (never superusers). Nobody is deleted.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        plan = read_people(data, deactivate_missing=options["deactivate_missing"])
        if not plan.ok:
            for error in plan.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(plan.errors)} error(s) in {path.name}: nothing was changed.")
        for change in plan.changes:
            self.stdout.write(change)
        count = len(plan.changes)
        if not count:
            self.stdout.write("Nothing to change: Baton already matches the file.")
        elif options["apply"]:
            apply_plan(plan, reason=f"HR import ({path.name})")
            self.stdout.write(self.style.SUCCESS(f"{count} change(s) made."))
        else:
            self.stdout.write(f"{count} change(s) to make. Nothing was changed: run again with --apply.")
