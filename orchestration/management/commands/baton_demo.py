"""Load the demo company and the purchase-approval workflow (safe to run again)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from orchestration.definitions import create_workflow, publish_version, save_draft
from orchestration.models import Workflow

SHOWCASE = Path(__file__).resolve().parents[2] / "fixtures" / "purchase_approval.bpmn"
PASSWORD = "baton"  # noqa: S105 (demo accounts, printed in the README)

PEOPLE = [
    # username, first, last, title, groups
    ("employee", "Emma", "Employee", "Marketing specialist", ["Employees"]),
    ("manager", "Max", "Manager", "Marketing manager", ["Employees"]),
    ("director", "Dana", "Director", "Director of marketing", ["Employees"]),
    ("cfo", "Chris", "Finance", "Chief financial officer", ["Employees", "Finance"]),
    ("buyer", "Ivan", "Buyer", "IT buyer", ["Employees", "Procurement"]),
]


class Command(BaseCommand):
    help = "Create the demo users, groups and the published purchase-approval workflow."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        admin, created = users.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created:
            admin.set_password(PASSWORD)
            admin.save()
        people = {}
        for username, first, last, _title, groups in PEOPLE:
            user, created = users.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
            )
            if created:
                user.set_password(PASSWORD)
                user.save()
            for name in groups:
                user.groups.add(Group.objects.get_or_create(name=name)[0])
            people[username] = user
        employees = Group.objects.get(name="Employees")

        workflow = Workflow.objects.filter(key="purchase-approval").first()
        xml = SHOWCASE.read_text()
        if workflow is None:
            draft = create_workflow(
                "purchase-approval",
                "Purchase request",
                xml,
                owner=admin,
                description="Buy goods or services: approved within your signature authority, "
                "otherwise by your management chain; the order is placed with procurement.",
            )
            workflow = draft.workflow
        else:
            published = workflow.published_version
            if published is not None and published.bpmn_xml == xml:
                self.stdout.write("Demo already loaded.")
                return
            draft, _ = save_draft(workflow, xml, actor=admin)
        version = publish_version(draft, actor=admin)
        for perm in ("view_workflow", "start_workflow"):
            assign_perm(f"orchestration.{perm}", employees, workflow)
        self.stdout.write(
            self.style.SUCCESS(f"Published {workflow.name} v{version.number}; demo users ready.")
        )
