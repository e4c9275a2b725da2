"""Load the demo company and its workflows, purchase request, contract review and invoice triage (safe to run again)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from approvals.models import AuthorityLimit, ExchangeRate, FinalApprovers, Profile
from orchestration.connections import store_headers
from orchestration.definitions import create_workflow, publish_version, save_draft
from orchestration.models import Connection, Workflow

FIXTURES = Path(__file__).resolve().parents[3] / "orchestration" / "fixtures"
SHOWCASE = FIXTURES / "purchase_approval.bpmn"
PASSWORD = "baton"  # noqa: S105 (demo accounts, printed in the README)

PEOPLE = [
    # username, first, last, title, department, cost centre, manager, groups
    (
        "cfo",
        "Chris",
        "Finance",
        "Chief financial officer",
        "Finance",
        "FIN-100",
        "",
        ["Employees", "Finance"],
    ),
    ("director", "Dana", "Director", "Director of marketing", "Marketing", "MKT-100", "cfo", ["Employees"]),
    ("manager", "Max", "Manager", "Marketing manager", "Marketing", "MKT-110", "director", ["Employees"]),
    (
        "employee",
        "Emma",
        "Employee",
        "Marketing specialist",
        "Marketing",
        "MKT-110",
        "manager",
        ["Employees"],
    ),
    ("buyer", "Ivan", "Buyer", "IT buyer", "Procurement", "PRC-100", "manager", ["Employees", "Procurement"]),
    # Outside every management chain, so four eyes never bars her from the last word.
    ("chair", "Carla", "Chair", "Chair of the board", "Board", "BRD-100", "", ["Board"]),
    ("legal", "Lee", "Lawson", "Legal counsel", "Legal", "LEG-100", "cfo", ["Employees", "Legal"]),
]

# Who approves spending charged to each cost centre: a group per centre, named as the contract
# review's "one approval per cost centre" names it ("Cost centre " + the centre's code).
COST_CENTRE_APPROVERS = {"MKT-110": "manager", "FIN-100": "cfo", "PRC-100": "buyer"}


@dataclass(frozen=True)
class DemoWorkflow:
    """A demo workflow: its key and name, its diagram, and the group that operates it."""

    key: str
    name: str
    path: Path
    description: str
    operators: str


WORKFLOWS = [
    DemoWorkflow(
        "purchase-approval",
        "Purchase request",
        SHOWCASE,
        "Buy goods or services: approved within your signature authority, "
        "otherwise by your management chain; the order is placed with procurement.",
        "Procurement",
    ),
    DemoWorkflow(
        "contract-review",
        "Contract review",
        FIXTURES / "contract_review.bpmn",
        "Have a contract approved by each cost centre it is charged to and reviewed by Legal "
        "(within three days), then signed electronically, or on paper when the counterparty declines.",
        "Legal",
    ),
    DemoWorkflow(
        "invoice-triage",
        "Invoice triage",
        FIXTURES / "invoice_triage.bpmn",
        "Paste an invoice: an AI reads the vendor, the amount and the category and recommends; "
        "Finance decides whether to pay it.",
        "Finance",
    ),
]
# The Ask AI step of the invoice triage asks the demo AI inside Baton (orchestration/demo_ai):
# rule-based, offline. Point this connection at a real model server to use one (README, AI steps).
DEMO_AI = "demo-ai"
# The demo procurement system (orchestration/demo_procurement) as a system a tool calls: the
# invoice triage's AI looks the vendor up there.
DEMO_ERP = "demo-erp"

# Signature authority for any category, in the base currency (USD); requests in the other
# currencies the form offers are converted at the rates below. Finance has none: it is the
# queue a request reaches when the whole chain is below the amount.
# When nobody in Finance may decide (its only member, the CFO, approved in the chain), the Board does.
FINAL_APPROVERS = "Board"
LIMITS = {"employee": 500, "manager": 2000, "director": 25000, "cfo": 1000000}
RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
RATES_FROM = datetime.date(2026, 1, 1)


class Command(BaseCommand):
    help = "Create the demo users, their org chart and limits, and the published demo workflows."

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
        for username, first, last, _title, _department, _cost_centre, _manager, groups in PEOPLE:
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
        self._org_chart(people)
        for name, username in COST_CENTRE_APPROVERS.items():
            people[username].groups.add(Group.objects.get_or_create(name=f"Cost centre {name}")[0])
        employees = Group.objects.get(name="Employees")
        self._demo_ai()
        for demo in WORKFLOWS:
            self._publish(demo, admin, employees)
        self.stdout.write(self.style.SUCCESS("Demo users ready."))

    def _publish(self, demo: DemoWorkflow, admin: Any, employees: Group) -> None:
        """Publish ``demo``'s diagram unless its published version already has it; employees start it."""
        workflow = Workflow.objects.filter(key=demo.key).first()
        xml = demo.path.read_text()
        if workflow is None:
            draft = create_workflow(demo.key, demo.name, xml, owner=admin, description=demo.description)
            workflow = draft.workflow
        else:
            published = workflow.published_version
            if published is not None and published.bpmn_xml == xml:
                self._grant(workflow, employees, demo)
                self.stdout.write(f"{demo.name} already loaded.")
                return
            draft, _ = save_draft(workflow, xml, actor=admin)
        version = publish_version(draft, actor=admin)
        self._grant(workflow, employees, demo)
        self.stdout.write(self.style.SUCCESS(f"Published {workflow.name} v{version.number}."))

    def _demo_ai(self) -> None:
        """The connections to the demo AI service and the demo ERP, following BATON_BASE_URL (each left
        alone once pointed elsewhere)."""
        erp, created = Connection.objects.get_or_create(
            name=DEMO_ERP, defaults={"label": "Demo procurement system (inside Baton)"}
        )
        if created or "/demo/procurement" in erp.base_url:
            erp.base_url = f"{settings.BATON_BASE_URL}/demo/procurement"
            erp.save()
        base_url = f"{settings.BATON_BASE_URL}/demo/ai/v1"
        connection, created = Connection.objects.get_or_create(
            name=DEMO_AI,
            defaults={"label": "Demo AI (rule-based, inside Baton)", "settings": {"model": "baton-demo"}},
        )
        if created or "/demo/ai/" in connection.base_url:
            connection.base_url = base_url
            if created:
                store_headers(connection, {"Authorization": "Bearer demo-key-not-a-secret"})
            connection.save()

    def _grant(self, workflow: Workflow, employees: Group, demo: DemoWorkflow) -> None:
        """Employees see and start it; its operators group fixes stuck requests in the operations console."""
        for perm in ("view_workflow", "start_workflow"):
            assign_perm(f"orchestration.{perm}", employees, workflow)
        assign_perm("orchestration.change_workflow", Group.objects.get(name=demo.operators), workflow)

    def _org_chart(self, people: dict[str, Any]) -> None:
        """Profiles and limits of the demo company, reset to the demo values on every run."""
        for username, _first, _last, title, department, cost_centre, manager, _groups in PEOPLE:
            Profile.objects.update_or_create(
                user=people[username],
                defaults={
                    "manager": people[manager] if manager else None,
                    "title": title,
                    "department": department,
                    "cost_centre": cost_centre,
                },
            )
        FinalApprovers.objects.get_or_create(
            group=Group.objects.get(name=FINAL_APPROVERS), currency="", category="", defaults={"position": 0}
        )
        base = settings.BATON_BASE_CURRENCY
        # Earlier demos held the same figure in every currency (GBP 2,000 = USD 2,000): gone.
        AuthorityLimit.objects.filter(user__in=people.values(), category="").exclude(currency=base).delete()
        for username, amount in LIMITS.items():
            AuthorityLimit.objects.update_or_create(
                user=people[username],
                currency=base,
                category="",
                valid_from=None,
                valid_to=None,
                defaults={"amount": Decimal(amount)},
            )
        for currency, rate in RATES.items():
            if currency != base:
                ExchangeRate.objects.update_or_create(
                    base=base, currency=currency, valid_from=RATES_FROM, defaults={"rate": rate}
                )
