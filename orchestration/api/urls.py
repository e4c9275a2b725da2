"""Routes of the REST API (mounted at ``/api/``).

The engine's endpoints are registered here; each module named in ``BATON_API_MODULES``
adds its own through its ``register_routes(router)`` (approvals: the tasks), so an app's
REST endpoints live in the app and the engine imports none of them. Named in settings,
like connectors, rather than discovered: no third-party ``api`` module is imported by chance.
"""

from importlib import import_module

from django.conf import settings
from django.urls import path
from rest_framework.routers import DefaultRouter

from orchestration.api import views
from orchestration.api.dry_runs import ReplayView, TestRunView
from orchestration.ops.api import OperatedInstanceViewSet

router = DefaultRouter()
router.register("workflows", views.WorkflowViewSet, basename="workflow")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("operations/instances", OperatedInstanceViewSet, basename="operated-instance")
for module in settings.BATON_API_MODULES:
    import_module(module).register_routes(router)

urlpatterns = [
    path("messages/", views.MessageView.as_view(), name="message"),
    path("workflows/<slug:key>/test-run/", TestRunView.as_view(), name="workflow-test-run"),
    path("workflows/<slug:key>/replay/", ReplayView.as_view(), name="workflow-replay"),
    *router.urls,
]
