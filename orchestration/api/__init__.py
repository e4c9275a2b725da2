"""Baton's REST API (Django REST framework; OpenAPI schema by drf-spectacular at /api/schema/)."""
