"""The project's form renderer: Bootstrap's classes per widget type, the compact size, and error marks."""

from __future__ import annotations

from typing import Any

import lxml.html
from django import forms

from designer.panels.base import PanelRenderer
from orchestration.form_rendering import CompactRenderer


class Order(forms.Form):
    item = forms.CharField(widget=forms.TextInput(attrs={"class": "font-monospace"}))
    amount = forms.DecimalField(min_value=1)
    note = forms.CharField(required=False, widget=forms.Textarea)
    currency = forms.ChoiceField(choices=[("USD", "USD"), ("EUR", "EUR")])
    urgent = forms.BooleanField(required=False)
    via = forms.ChoiceField(choices=[("mail", "Mail"), ("phone", "Phone")], widget=forms.RadioSelect)
    token = forms.CharField(required=False, widget=forms.HiddenInput)


class CompactOrder(Order):
    default_renderer = CompactRenderer


class PanelOrder(Order):
    default_renderer = PanelRenderer


def controls(form: forms.Form) -> dict[str, Any]:
    """Each control's attributes by name (the first radio button for a radio list)."""
    found: dict[str, Any] = {}
    for field in form:
        for element in lxml.html.fragments_fromstring(str(field)):
            for control in element.iter("input", "select", "textarea"):
                found.setdefault(control.get("name"), control.attrib)
    return found


def test_each_widget_type_gets_its_bootstrap_class_and_keeps_its_own() -> None:
    found = controls(Order())

    assert found["item"]["class"] == "form-control font-monospace"
    assert found["amount"]["class"] == "form-control"
    assert found["note"]["class"] == "form-control"
    assert found["currency"]["class"] == "form-select"
    assert found["urgent"]["class"] == "form-check-input"
    assert found["via"]["class"] == "form-check-input"
    assert "class" not in found["token"]


def test_a_compact_form_gets_the_small_variants_except_on_check_boxes() -> None:
    found = controls(CompactOrder())

    assert found["item"]["class"] == "form-control form-control-sm font-monospace"
    assert found["note"]["class"] == "form-control form-control-sm"
    assert found["currency"]["class"] == "form-select form-select-sm"
    assert found["urgent"]["class"] == "form-check-input"


def test_a_field_with_an_error_is_marked_invalid_for_bootstrap_and_screen_readers() -> None:
    form = Order({"item": "Desk", "amount": "0", "currency": "GBP", "via": "mail"})
    form.add_error("urgent", "Urgent orders need a reason.")

    found = controls(form)

    for name in ("amount", "currency", "urgent"):
        assert "is-invalid" in found[name]["class"].split(), name
        assert found[name]["aria-invalid"] == "true", name
    for name in ("item", "note", "via"):
        assert "is-invalid" not in found[name]["class"].split(), name
        assert "aria-invalid" not in found[name], name


def test_panel_controls_are_named_by_their_label_but_check_boxes_keep_their_own() -> None:
    found = controls(PanelOrder())

    assert found["item"]["aria-label"] == "Item"
    assert found["currency"]["aria-label"] == "Currency"
    assert found["currency"]["class"] == "form-select form-select-sm"
    assert "aria-label" not in found["urgent"]
    assert "aria-label" not in found["via"]
    assert "aria-label" not in found["token"]
