"""Routes of the REST API (mounted at ``/api/``).

The engine's endpoints are registered here; each other installed app whose
``api`` module has a ``register_routes(router)`` adds its own (approvals: the
tasks), so an app's REST endpoints live in the app and the engine imports none of them.
"""

from importlib import import_module

from django.apps import apps
from django.urls import path
from django.utils.module_loading import module_has_submodule
from rest_framework.routers import DefaultRouter

from orchestration.api import views

router = DefaultRouter()
router.register("workflows", views.WorkflowViewSet, basename="workflow")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("incidents", views.IncidentViewSet, basename="incident")
for app in apps.get_app_configs():
    if app.name != "orchestration" and module_has_submodule(app.module, "api"):
        register_routes = getattr(import_module(f"{app.name}.api"), "register_routes", None)
        if register_routes is not None:
            register_routes(router)

urlpatterns = [
    path("messages/", views.MessageView.as_view(), name="message"),
    *router.urls,
]
