"""Which start-form fields name a request and its amount in the inbox, as the process author chose."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from approvals.models import ApprovalTask
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.definitions import create_workflow, publish_version
from orchestration.engine import start_instance
from tests import bpmn

pytestmark = pytest.mark.django_db

User = get_user_model()


def trip(title: str = "destination", amount: str = "cost") -> str:
    xml = bpmn.definitions(
        bpmn.start(
            "start",
            bpmn.field("destination", required=True),
            bpmn.field("item"),
            bpmn.field("cost", "money", currency="cur"),
            bpmn.field("cur", "choice", choices="EUR,USD"),
            bpmn.field("nights", "integer"),
        ),
        bpmn.user_task("approve", assignee="bob"),
        bpmn.end("end"),
        *bpmn.chain("start", "approve", "end"),
    )
    attrs = (f' baton:titleField="{title}"' if title else "") + (
        f' baton:amountField="{amount}"' if amount else ""
    )
    return xml.replace('<bpmn:startEvent id="start"', f'<bpmn:startEvent id="start"{attrs}', 1)


def _task_for(xml: str, data: dict[str, object]) -> ApprovalTask:
    User.objects.create_user("bob")
    version = publish_version(create_workflow("trip", "Trip", xml))
    instance = start_instance(version, data, initiator=User.objects.create_user("eve"))
    return ApprovalTask.objects.get(instance=instance)


def test_the_inbox_shows_the_fields_the_author_chose_as_title_and_amount() -> None:
    task = _task_for(trip(), {"destination": "Lisbon", "item": "Flights", "cost": "1234.50", "cur": "EUR"})
    assert (task.subject, str(task.amount), task.currency) == ("Lisbon", "1234.5000", "EUR")


def test_without_a_choice_the_usual_subject_and_the_forms_money_field_apply() -> None:
    task = _task_for(
        trip("", ""), {"destination": "Lisbon", "item": "Flights", "cost": "99.00", "cur": "USD"}
    )
    assert (task.subject, str(task.amount), task.currency) == ("Flights", "99.0000", "USD")


def test_a_number_field_can_be_the_amount_without_a_currency() -> None:
    task = _task_for(
        trip(amount="nights"), {"destination": "Oslo", "nights": 3, "cost": "10.00", "cur": "EUR"}
    )
    assert (task.subject, str(task.amount), task.currency) == ("Oslo", "3.0000", "")


@pytest.mark.parametrize(
    ("title", "amount", "problem"),
    [
        ("missing", "cost", 'shows "missing" in lists, but the form has no field called "missing".'),
        ("destination", "nope", 'shows "nope" in lists, but the form has no field called "nope".'),
        ("cost", "cost", 'shows "Cost" as the title: it must be a text or choice field.'),
        (
            "destination",
            "destination",
            'shows "Destination" as the amount: it must be a money or number field.',
        ),
    ],
)
def test_a_title_or_amount_that_is_not_a_fitting_form_field_is_refused(
    title: str, amount: str, problem: str
) -> None:
    result = compile_bpmn(trip(title, amount))
    assert [p.message for p in result.errors if problem in p.message], [p.message for p in result.errors]
