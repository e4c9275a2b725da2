"""URLs of the operations console (``/operations/``)."""

from django.urls import URLPattern, URLResolver, path

from orchestration.ops import incident_views, report_views

app_name = "ops"

urlpatterns: list[URLPattern | URLResolver] = []

# Problems (incident groups) and reports.
urlpatterns += [
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("incidents/fix/", incident_views.incident_group_fix, name="incident-group-fix"),
    path("reports/", report_views.report_page, name="reports"),
    path("reports/export.csv", report_views.report_csv, name="report-csv"),
]
