"""The demo procurement API: place an order (idempotently) and read it back."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from orchestration.demo_procurement.forms import OrderForm
from orchestration.demo_procurement.models import DemoOrder

IDEMPOTENCY_HEADER = "Idempotency-Key"
_ORDER_FIELDS = ("item", "amount", "currency", "requester", "justification")
# The demo ERP's vendor master: the suppliers the demo invoices come from (name -> record).
VENDORS: dict[str, dict[str, str]] = {
    "northwind computers ltd": {
        "vendor_id": "V-1001",
        "name": "Northwind Computers Ltd",
        "status": "approved",
        "payment_terms": "30 days",
    },
    "paper world gmbh": {
        "vendor_id": "V-1002",
        "name": "Paper World GmbH",
        "status": "approved",
        "payment_terms": "14 days",
    },
    "fly fast travel": {
        "vendor_id": "V-1003",
        "name": "Fly Fast Travel",
        "status": "blocked",
        "payment_terms": "on hold",
    },
}


def _errors(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": {field: [message]}}, status=status)


@csrf_exempt  # a machine API: callers authenticate by network position, not by a browser session
@require_POST
def create_order(request: HttpRequest) -> JsonResponse:
    """Place an order, or return the one already placed under the same Idempotency-Key.

    Demo feature: ``"simulate": "error"`` in the body answers 503, so tests and demos can
    show a failing procurement system over real HTTP.
    """
    try:
        # parse_float keeps 12.30 exact instead of going through binary floating point.
        payload: Any = json.loads(request.body, parse_float=Decimal)
    except ValueError:
        return _errors("__all__", "The body must be JSON.")
    if not isinstance(payload, dict):
        return _errors("__all__", "The body must be a JSON object.")
    if payload.get("simulate") == "error":
        return JsonResponse({"error": "Simulated outage of the demo procurement system."}, status=503)

    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return _errors(IDEMPOTENCY_HEADER, "This header is required.")
    if len(key) > 255:
        return _errors(IDEMPOTENCY_HEADER, "At most 255 characters.")

    form = OrderForm(data={field: payload.get(field) for field in _ORDER_FIELDS})
    if not form.is_valid():
        return JsonResponse(
            {"errors": {field: list(msgs) for field, msgs in form.errors.items()}}, status=400
        )

    try:
        with transaction.atomic():
            order = DemoOrder.objects.create(idempotency_key=key, **form.cleaned_data)
            order.order_id = f"PO-{order.pk:06d}"
            order.save(update_fields=["order_id"])
    except IntegrityError:
        # The unique key, not a prior lookup, decides who placed it: two racing requests get one order.
        placed = DemoOrder.objects.filter(idempotency_key=key).first()
        if placed is None:
            raise
        if any(getattr(placed, field) != value for field, value in form.cleaned_data.items()):
            return _errors(
                IDEMPOTENCY_HEADER, f"Already used for a different order ({placed.order_id}).", 409
            )
        return JsonResponse(placed.as_json(), status=200)

    response = JsonResponse(order.as_json(), status=201)
    response["Location"] = reverse("demo_procurement:order-detail", args=[order.order_id])
    return response


@require_GET
def order_detail(request: HttpRequest, order_id: str) -> JsonResponse:
    """One order by its order id."""
    order = DemoOrder.objects.filter(order_id=order_id).first()
    if order is None:
        return _errors("order_id", f"There is no order {order_id!r}.", 404)
    return JsonResponse(order.as_json())


@require_GET
def vendor_lookup(request: HttpRequest) -> JsonResponse:
    """The vendor named ``?name=`` (case and spacing ignored), or 404 when the ERP does not know it."""
    name = " ".join(request.GET.get("name", "").split())
    if not name:
        return _errors("name", "Give the vendor's name.")
    if len(name) > 200:
        return _errors("name", "At most 200 characters.")
    vendor = VENDORS.get(name.lower())
    if vendor is None:
        return _errors("name", f"There is no vendor named {name!r}.", 404)
    return JsonResponse(vendor)
