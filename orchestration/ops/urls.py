"""URLs of the operations console (``/operations/``)."""

from django.urls import URLPattern, URLResolver, path

from orchestration.ops import incident_views, report_views, version_move_views, views

app_name = "ops"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.instance_list, name="instances"),
    path("requests/<uuid:instance_id>/", views.instance_detail, name="instance"),
    path("requests/<uuid:instance_id>/path/", views.instance_path_data, name="path"),
    path("requests/<uuid:instance_id>/cancel/", views.cancel, name="cancel"),
    path("requests/<uuid:instance_id>/move/", views.move, name="move"),
    path("requests/<uuid:instance_id>/incidents/<int:incident_id>/retry/", views.retry, name="retry"),
    path("requests/<uuid:instance_id>/incidents/<int:incident_id>/skip/", views.skip, name="skip"),
]

# Problems (incident groups) and reports.
urlpatterns += [
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("incidents/fix/", incident_views.incident_group_fix, name="incident-group-fix"),
    path("move-to-version/", version_move_views.move_to_version, name="move-version"),
    path("reports/", report_views.report_page, name="reports"),
    path("reports/export.csv", report_views.report_csv, name="report-csv"),
]
