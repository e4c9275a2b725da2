from django.apps import AppConfig


class DemoProcurementConfig(AppConfig):
    name = "orchestration.demo_procurement"
    label = "demo_procurement"
    verbose_name = "Demo procurement system"
