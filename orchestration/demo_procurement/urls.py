from django.urls import path

from orchestration.demo_procurement import views

app_name = "demo_procurement"

urlpatterns = [
    path("orders/", views.create_order, name="order-create"),
    path("orders/<str:order_id>/", views.order_detail, name="order-detail"),
    path("vendors/", views.vendor_lookup, name="vendor-lookup"),
]
