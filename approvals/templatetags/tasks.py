"""Template filters for approval tasks: who holds one, worded as the rest of approvals words it."""

from __future__ import annotations

from django import template

from approvals.models import ApprovalTask, decided_by_words, money, task_holder

register = template.Library()


@register.filter
def holder(task: ApprovalTask) -> str:
    """Who holds ``task``: ``{{ task|holder }}`` reads "Max Manager" or "the Finance queue"."""
    return task_holder(task)


@register.filter
def decider(task: ApprovalTask) -> str:
    """Who decided ``task``: ``{{ task|decider }}`` reads "Dana Delegate on behalf of Max Manager"."""
    return decided_by_words(task)


@register.filter
def amount(task: ApprovalTask) -> str:
    """The request's amount with its currency: ``{{ task|amount }}`` reads "USD 2,000.00" ("" without one)."""
    if task.amount is None:
        return ""
    return money(task.amount, task.currency) if task.currency else f"{task.amount:,.2f}"
