from typing import Any

from django.apps import AppConfig


def _install_request_numbers(using: str = "default", **kwargs: Any) -> None:
    """After every migrate: a migration that rebuilt the requests' table on SQLite dropped the numbering trigger."""
    from django.db import connections

    from orchestration import request_numbers

    connection = connections[using]
    table = "orchestration_processinstance"
    if table not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        columns = {column.name for column in connection.introspection.get_table_description(cursor, table)}
    if "number" in columns:  # not when migrating back past the numbers
        request_numbers.install(connection)


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate, post_save

        from orchestration import checks  # noqa: F401  (registers system checks)
        from orchestration.connectors import registry
        from orchestration.sharing import join_everyone

        registry.autodiscover()
        # A person created after someone shared a workflow with everyone is part of everyone too.
        post_migrate.connect(_install_request_numbers, sender=self, dispatch_uid="baton-request-numbers")
        post_save.connect(join_everyone, sender=settings.AUTH_USER_MODEL, dispatch_uid="baton-join-everyone")
