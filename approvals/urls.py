"""Pages for requesters and approvers: inbox, task detail, request catalog, my requests."""

from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/decide/", views.bulk_decide, name="bulk-decide"),
    path("inbox/export.csv", views.inbox_export, name="inbox-export"),
    path("inbox/views/", views.save_inbox_view, name="inbox-view-save"),
    path("inbox/views/<int:view_id>/", views.open_inbox_view, name="inbox-view"),
    path("inbox/views/<int:view_id>/delete/", views.delete_inbox_view, name="inbox-view-delete"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/link/<str:token>/", views.task_link, name="task-link"),
    path("tasks/<int:task_id>/decide/", views.decide, name="decide"),
    path("tasks/<int:task_id>/claim/", views.claim, name="claim"),
    path("tasks/<int:task_id>/release/", views.release, name="release"),
    path("tasks/<int:task_id>/forward/", views.forward, name="forward"),
    path("out-of-office/", views.out_of_office, name="out-of-office"),
    path("requests/", views.my_requests, name="requests"),
    path("requests/new/", views.catalog, name="catalog"),
    path("requests/new/<slug:key>/", views.start, name="start"),
    path("requests/<uuid:instance_id>/", views.request_detail, name="request"),
    path("requests/<uuid:instance_id>/cancel/", views.cancel_request, name="cancel"),
    path("requests/<uuid:instance_id>/resubmit/", views.resubmit, name="resubmit"),
]
