"""Designer page URLs (included by designer/urls.py under the designer namespace)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
