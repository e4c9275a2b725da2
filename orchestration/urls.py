"""URL map: admin, API, demo services, pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("demo/procurement/", include("orchestration.demo_procurement.urls")),
]
