"""Orders placed in the demo procurement system."""

from __future__ import annotations

from typing import Any

from django.db import models


class DemoOrder(models.Model):
    """A purchase order; ``idempotency_key`` is unique so a repeated request cannot place it twice."""

    class Status(models.TextChoices):
        PLACED = "placed", "Placed"

    # Set from the primary key right after insert ("PO-000123"), in the same transaction;
    # NULL until then, because NULLs, unlike "", never collide under the unique constraint.
    order_id = models.CharField(max_length=32, unique=True, null=True, editable=False)  # noqa: DJ001
    idempotency_key = models.CharField(max_length=255, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED)
    item = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    requester = models.CharField(max_length=150)
    justification = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "demo order"

    def __str__(self) -> str:
        return self.order_id or f"order #{self.pk}"

    def as_json(self) -> dict[str, Any]:
        """The order as the API shows it; the amount is a string to keep its exact decimal value."""
        return {
            "order_id": self.order_id,
            "status": self.status,
            "item": self.item,
            "amount": str(self.amount),
            "currency": self.currency,
            "requester": self.requester,
            "justification": self.justification,
            "created_at": self.created_at.isoformat(),
        }
