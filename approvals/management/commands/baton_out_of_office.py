"""Hand open tasks to delegates of people whose absence began, and back to people who returned."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from approvals.delegation import hand_over_open_tasks


class Command(BaseCommand):
    help = (
        "Move open approval tasks to the delegates of people out of office today, and give back "
        "those of people whose absence ended. Pages do this once a day too; run it from cron "
        "shortly after midnight so emails go out before anyone opens Baton."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        moved = hand_over_open_tasks()
        self.stdout.write(f"{moved} task{'' if moved == 1 else 's'} changed hands.")
