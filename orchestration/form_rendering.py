"""How every form's widgets look: Bootstrap 5's classes, chosen per widget type by templates.

``FORM_RENDERER`` is :class:`BootstrapRenderer`. The widget templates in
``templates/django/forms/widgets/`` (input, select, textarea) override Django's and write
the class through ``bootstrap_attrs.html``: ``form-control``, ``form-select`` or
``form-check-input``, its ``-sm`` variant when the renderer is compact, the widget's own
classes, and ``is-invalid`` when the field has errors (Django marks those with
``aria-invalid="true"``). A form that sits in a narrow place sets
``default_renderer = CompactRenderer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.forms.renderers import TemplatesSetting

if TYPE_CHECKING:
    from django.http import HttpRequest


class BootstrapRenderer(TemplatesSetting):
    """Renders with the project's templates (Django's own come from the ``django.forms`` app)."""

    # Bootstrap's size suffix for controls: "" (normal) or "sm".
    control_size: ClassVar[str] = ""

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        """Render ``template_name`` with the control size the widget templates read."""
        return super().render(template_name, {**context, "control_size": self.control_size}, request)


class CompactRenderer(BootstrapRenderer):
    """Small controls (``form-control-sm``, ``form-select-sm``) for narrow places."""

    control_size = "sm"
