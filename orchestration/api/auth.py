"""The token endpoint (``/api/auth/token/``), with django-axes' brute-force lockout."""

from __future__ import annotations

from typing import Any

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from orchestration.api.parsers import JSONParser


class ObtainToken(ObtainAuthToken):
    """DRF's token view; a locked-out attempt is answered by the lockout (JSON 429), not a 400."""

    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Any:
        # Axes flags the request it was given, DRF's wrapper; its middleware reads Django's request.
        if getattr(request, "axes_locked_out", False):
            request._request.axes_locked_out = True  # type: ignore[attr-defined]
        return super().finalize_response(request, response, *args, **kwargs)
