"""URLs of the operations console (``/operations/``)."""

from django.urls import URLPattern, URLResolver, path

from orchestration.ops import incident_views

app_name = "ops"

urlpatterns: list[URLPattern | URLResolver] = []

# Problems (incident groups) and reports.
urlpatterns += [
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("incidents/fix/", incident_views.incident_group_fix, name="incident-group-fix"),
]
