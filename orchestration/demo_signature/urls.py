from django.urls import path

from orchestration.demo_signature import views

app_name = "demo_signature"

urlpatterns = [
    path("envelopes/", views.send_envelope, name="envelope-create"),
]
