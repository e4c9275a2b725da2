"""URLs of the operations console (``/operations/``)."""

from django.urls import URLPattern, URLResolver, path

from orchestration.ops import views

app_name = "ops"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.instance_list, name="instances"),
    path("requests/<uuid:instance_id>/", views.instance_detail, name="instance"),
]
