from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_save

        from orchestration import checks  # noqa: F401  (registers system checks)
        from orchestration.connectors import registry
        from orchestration.sharing import join_everyone

        registry.autodiscover()
        # A person created after someone shared a workflow with everyone is part of everyone too.
        post_save.connect(join_everyone, sender=settings.AUTH_USER_MODEL, dispatch_uid="baton-join-everyone")
