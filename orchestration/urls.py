"""URL map: admin, API, demo services, pages."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from orchestration.api.auth import ObtainToken
from orchestration.attachments import download, remove
from orchestration.ops.metrics import scrape
from orchestration.webhooks import receive_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's settings as a script file: the CSP refuses inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/auth/token/", ObtainToken.as_view(), name="api-token"),
    path("api/", include("orchestration.api.urls")),
    path("hooks/<slug:key>/", receive_webhook, name="webhook"),
    path("designer/", include("designer.urls")),
    path("operations/", include("orchestration.ops.urls")),
    path("metrics", scrape, name="metrics"),
    path("scim/v2/", include(("approvals.scim", "scim"))),
    path("files/<uuid:attachment_id>/", download, name="attachment"),
    path("files/<uuid:attachment_id>/remove/", remove, name="attachment-remove"),
    path("", include("approvals.urls")),
]

if settings.BATON_DEMO_SERVICES:
    urlpatterns.insert(0, path("demo/procurement/", include("orchestration.demo_procurement.urls")))
    urlpatterns.insert(0, path("demo/signature/", include("orchestration.demo_signature.urls")))
    urlpatterns.insert(0, path("demo/ai/", include("orchestration.demo_ai.urls")))

handler400 = "orchestration.errors.bad_request"
handler403 = "orchestration.errors.permission_denied"
handler404 = "orchestration.errors.page_not_found"
handler500 = "orchestration.errors.server_error"
