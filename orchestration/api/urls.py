"""Routes of the REST API (mounted at ``/api/``)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from orchestration.api import views

router = DefaultRouter()
router.register("workflows", views.WorkflowViewSet, basename="workflow")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = [
    path("messages/", views.MessageView.as_view(), name="message"),
    *router.urls,
]
