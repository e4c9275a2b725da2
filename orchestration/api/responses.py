"""What every API module shares: the caller, the 409 answer and the documented refusals.

Each app's endpoints (the engine's here, approvals' in ``approvals/api.py``) use
these, so a refusal reads and is documented the same everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response

from orchestration.api.serializers import DetailSerializer

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.request import Request

REFUSED = OpenApiResponse(DetailSerializer, description="Refused, with the reason in `detail`.")
NOT_FOUND = OpenApiResponse(DetailSerializer, description="Not found, or not visible to you.")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="Visible to you, but you may not do this.")


def signed_in(request: Request) -> AbstractBaseUser:
    """The caller: IsAuthenticated (the default permission) has let only signed-in users through."""
    return cast("AbstractBaseUser", request.user)


def conflict(detail: str, **extra: Any) -> Response:
    """A 409 answer: the state changed under the caller (``extra`` says how)."""
    return Response({"detail": detail, **extra}, status=status.HTTP_409_CONFLICT)
