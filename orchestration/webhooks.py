"""Inbound webhooks: a signed POST to ``/hooks/<workflow key>/`` starts an instance.

The sender signs ``f"{timestamp}.".encode() + body`` with HMAC-SHA256 under the
workflow's secret and sends ``X-Baton-Timestamp`` (unix seconds) and
``X-Baton-Signature: sha256=<hex>``. A request is refused when the signature is
wrong, the timestamp is more than :data:`TOLERANCE` away from now, or the exact
same signed request was accepted before (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orchestration import expressions
from orchestration.definitions import workflow_event
from orchestration.encryption import InvalidToken, decrypt, encrypt
from orchestration.engine import REQUEST_INLINE_BLOCKS, InvalidState, StartDataError, start_instance
from orchestration.models import WebhookDelivery, Workflow

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from orchestration.bpmn.graph import Graph

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Baton-Timestamp"
SIGNATURE_HEADER = "X-Baton-Signature"
TOLERANCE = timedelta(minutes=5)


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (senders and tests use it)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@transaction.atomic
def rotate_webhook_secret(workflow: Workflow, *, actor: AbstractBaseUser | None = None) -> str:
    """Give ``workflow`` a new webhook secret (the old one stops working) and return it.

    Only its encryption is stored: the caller shows the returned secret once.
    """
    secret = secrets.token_urlsafe(32)
    workflow.webhook_secret = encrypt(secret)
    workflow.save(update_fields=["webhook_secret"])
    workflow_event(workflow, "workflow.webhook_secret_rotated", "Webhook secret rotated", actor)
    return secret


@transaction.atomic
def disable_webhook(workflow: Workflow, *, actor: AbstractBaseUser | None = None) -> None:
    """Clear ``workflow``'s webhook secret: its webhook URL answers 404 until a new one is made."""
    workflow.webhook_secret = ""
    workflow.save(update_fields=["webhook_secret"])
    workflow_event(workflow, "workflow.webhook_disabled", "Webhook turned off", actor)


def _error(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _signature_problem(request: HttpRequest, secret: str) -> str | None:
    """Why the request's signature is not acceptable, or None when it is."""
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return f"Send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers."
    try:
        sent_at = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be unix seconds."
    if abs(time.time() - sent_at) > TOLERANCE.total_seconds():
        return "The timestamp is too old or too far in the future."
    expected = sign(secret, timestamp, request.body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "The signature does not match."
    return None


def _webhook_start(graph: Graph) -> str | None:
    """The start event a webhook starts: a plain Start, or the only Start there is."""
    starts = graph["start_nodes"]
    plain = [n for n in starts if graph["nodes"][n]["config"].get("trigger") == "none"]
    if plain:
        return plain[0]
    return starts[0] if len(starts) == 1 else None


def _start_data(graph: Graph, node_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Map the payload through the start's ``inputs``; without inputs, the payload is the data."""
    inputs: dict[str, str] = graph["nodes"][node_id]["config"].get("inputs") or {}
    if not inputs:
        return payload
    scope = {**graph["variables"], "payload": "map"}
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for variable, source in inputs.items():
        try:
            data[variable] = expressions.evaluate(source, scope, {"payload": payload})
        except expressions.ExpressionError as exc:
            errors[variable] = [f"Could not read it from the payload ({source}): {exc}"]
    if errors:
        raise StartDataError(errors)
    return data


@csrf_exempt  # signed by HMAC instead: the sender has no session or CSRF token
@require_POST
def receive_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """Start an instance of the workflow ``key`` from a signed JSON object."""
    workflow = Workflow.objects.filter(key=key).exclude(webhook_secret="").first()
    version = workflow.published_version if workflow is not None else None
    if workflow is None or version is None or not version.graph:
        return _error(404, "No workflow receives webhooks here.")
    try:
        secret = decrypt(workflow.webhook_secret)
    except InvalidToken:
        logger.error(
            "The webhook secret of workflow %r cannot be decrypted: was BATON_ENCRYPTION_KEY changed?", key
        )
        return _error(503, "This webhook cannot check signatures right now.")
    problem = _signature_problem(request, secret)
    if problem is not None:
        return _error(401, problem)
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nesting deep enough to exhaust the stack
        return _error(400, "The body is not valid JSON.")
    if not isinstance(payload, dict):
        return _error(400, "The body must be a JSON object.")
    graph: Graph = version.graph
    node_id = _webhook_start(graph)
    if node_id is None:
        return _error(404, "This workflow has no start event a webhook can start.")
    signature = request.headers[SIGNATURE_HEADER]
    now = timezone.now()
    try:
        with transaction.atomic():
            # Past twice the window every stored signature's timestamp is refused anyway.
            WebhookDelivery.objects.filter(workflow=workflow, received_at__lt=now - 2 * TOLERANCE).delete()
            try:
                with transaction.atomic():
                    WebhookDelivery.objects.create(workflow=workflow, signature=signature)
            except IntegrityError:
                return _error(409, "This request was already received.")
            instance = start_instance(
                version,
                _start_data(graph, node_id, payload),
                trigger="webhook",
                start_node=node_id,
                actor_label="webhook",
                hand_off_after=REQUEST_INLINE_BLOCKS,
            )
    except StartDataError as exc:
        # Rolled back with the delivery: once the sender fixes the data, a new signature is accepted.
        return _error(400, "The payload does not fit the start form.", errors=exc.errors)
    except InvalidState as exc:
        return _error(409, str(exc))
    return JsonResponse({"instance": str(instance.id)}, status=201)
