"""Validation of orders posted to the demo procurement system."""

from __future__ import annotations

from decimal import Decimal

from django import forms


class OrderForm(forms.Form):
    item = forms.CharField(max_length=200)
    amount = forms.DecimalField(max_digits=14, decimal_places=2)
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$", error_messages={"invalid": "Use a three-letter currency code."}
    )
    requester = forms.CharField(max_length=150)
    justification = forms.CharField(required=False)

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError("Must be greater than zero.")
        # Stored with two places: quantize now so a new order reads the same as a stored one.
        return amount.quantize(Decimal("0.01"))

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()
