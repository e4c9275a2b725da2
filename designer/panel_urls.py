"""Designer panel URLs (included by designer/urls.py under the designer namespace)."""

from django.urls import URLPattern, path

from designer import panel

urlpatterns: list[URLPattern] = [
    path("<slug:key>/panel/", panel.panel, name="panel"),
    path("<slug:key>/panel/apply/", panel.apply, name="panel-apply"),
    path("<slug:key>/panel/check/", panel.check, name="panel-check"),
]
