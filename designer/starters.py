"""Ready-made workflows a new workflow can start from (the "New workflow" gallery).

Each starter is a complete, publishable process with its start form, kept as a diagram file:
the gallery copies it into the new workflow's first draft, which is then the author's to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent / "starters"
_FIXTURES = Path(__file__).resolve().parents[1] / "orchestration" / "fixtures"


@dataclass(frozen=True)
class Starter:
    """One gallery entry: what it is called, what it does in a sentence, and its diagram."""

    slug: str
    name: str
    summary: str
    steps: str  # the path in a few words, shown on the card
    icon: str  # a Bootstrap icon name
    path: Path

    def diagram(self) -> str:
        return self.path.read_text(encoding="utf-8")


STARTERS: tuple[Starter, ...] = (
    Starter(
        "purchase-approval",
        "Purchase approval",
        "Approved at once within the requester's signing limit, otherwise up the management chain "
        "until someone's limit covers it; then the order is placed and the requester told.",
        "Form · signing limit check · approvals up the chain · order · email",
        "cart-check",
        _FIXTURES / "purchase_approval.bpmn",
    ),
    Starter(
        "travel-request",
        "Travel request",
        "Trips up to 1,000 are approved at once, dearer ones by the traveller's manager; "
        "the traveller is told either way.",
        "Form · cost check · manager approval · email",
        "airplane",
        _HERE / "travel_request.bpmn",
    ),
    Starter(
        "vendor-onboarding",
        "Vendor onboarding",
        "Procurement and Legal review a new vendor at the same time; once both agree, the vendor "
        "may be used.",
        "Form · two reviews side by side · email",
        "building-add",
        _HERE / "vendor_onboarding.bpmn",
    ),
    Starter(
        "contract-review",
        "Contract review",
        "Each cost centre the contract is charged to approves it and Legal reviews it; then it is "
        "sent for e-signature, or signed on paper.",
        "Form · one approval per cost centre · legal review · e-signature",
        "file-earmark-text",
        _FIXTURES / "contract_review.bpmn",
    ),
    Starter(
        "leave-request",
        "Leave request",
        "An employee asks for time off; their manager approves or rejects it and the employee is told.",
        "Form · manager approval · email",
        "calendar-heart",
        _HERE / "leave_request.bpmn",
    ),
    Starter(
        "invoice-approval",
        "Invoice approval",
        "A received invoice is approved up the chain of the person who entered it, then Finance "
        "schedules the payment.",
        "Form · approvals up the chain · Finance task · email",
        "receipt",
        _HERE / "invoice_approval.bpmn",
    ),
)

_BY_SLUG = {starter.slug: starter for starter in STARTERS}


def starter(slug: str) -> Starter | None:
    """The starter called ``slug``, None when there is none."""
    return _BY_SLUG.get(slug)
