"""URL map: admin, API, demo services, pages."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from orchestration.webhooks import receive_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/", include("orchestration.api.urls")),
    path("hooks/<slug:key>/", receive_webhook, name="webhook"),
    path("designer/", include("designer.urls")),
    path("", include("approvals.urls")),
]

if settings.BATON_DEMO_SERVICES:
    urlpatterns.insert(0, path("demo/procurement/", include("orchestration.demo_procurement.urls")))
