from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration"

    def ready(self) -> None:
        from orchestration import checks  # noqa: F401  (registers system checks)
        from orchestration.connectors import registry

        registry.autodiscover()
