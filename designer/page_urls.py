"""Designer page URLs (included by designer/urls.py under the designer namespace)."""

from django.urls import URLPattern, path

from designer import views
from designer.sharing_views import share, sharing, unshare
from designer.try_views import try_panel, try_replay, try_run

urlpatterns: list[URLPattern] = [
    path("", views.workflow_list, name="list"),
    path("new/", views.workflow_create, name="create"),
    path("<slug:key>/", views.editor, name="edit"),
    path("<slug:key>/save/", views.save, name="save"),
    path("<slug:key>/publish/", views.publish, name="publish"),
    path("<slug:key>/import/", views.import_diagram, name="import"),
    path("<slug:key>/copy/", views.save_copy, name="copy"),
    path("<slug:key>/versions/", views.versions, name="versions"),
    path("<slug:key>/versions/compare/", views.version_compare, name="version-compare"),
    path("<slug:key>/versions/<int:number>/", views.version_detail, name="version"),
    path("<slug:key>/versions/<int:number>/new-draft/", views.version_new_draft, name="version-new-draft"),
    path("<slug:key>/versions/<int:number>/bpmn/", views.version_export, name="version-export"),
    path("<slug:key>/live/", views.live_view, name="live"),
    path("<slug:key>/live/data/", views.live_data, name="live-data"),
    path("<slug:key>/try/", try_panel, name="try"),
    path("<slug:key>/try/run/", try_run, name="try-run"),
    path("<slug:key>/try/replay/", try_replay, name="try-replay"),
    path("<slug:key>/sharing/", sharing, name="sharing"),
    path("<slug:key>/sharing/share/", share, name="sharing-share"),
    path("<slug:key>/sharing/remove/", unshare, name="sharing-remove"),
]
