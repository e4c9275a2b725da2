from django.contrib import admin

from orchestration.demo_procurement.models import DemoOrder


@admin.register(DemoOrder)
class DemoOrderAdmin(admin.ModelAdmin):  # subscriptable only with django_stubs_ext
    list_display = ("order_id", "item", "amount", "currency", "requester", "status", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("order_id", "item", "requester", "idempotency_key")
    readonly_fields = ("order_id", "idempotency_key", "created_at")
    date_hierarchy = "created_at"
