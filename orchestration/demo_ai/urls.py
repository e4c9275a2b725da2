from django.urls import path

from orchestration.demo_ai import views

app_name = "demo_ai"

urlpatterns = [
    path("v1/chat/completions", views.chat_completions, name="chat-completions"),
]
