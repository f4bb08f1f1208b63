"""Forms: cart quantities (validated against live stock), checkout, sign-up."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .cart import Cart
from .models import Product

MAX_SOURCE_LENGTH = 100

QUANTITY_ERRORS = {
    "required": "Please enter a quantity.",
    "invalid": "Quantity must be a whole number.",
    "min_value": "Quantity must be at least 1.",
    "max_value": "Quantity must be at most %(limit_value)s.",
}


def clean_source(value: str | None) -> str:
    """A recommendation source tag from a query string or form, trimmed and bounded."""
    return (value or "").strip()[:MAX_SOURCE_LENGTH]


class _QuantityForm(forms.Form):
    """Quantity checked against the product's availability and current stock."""

    quantity = forms.IntegerField(
        min_value=1,
        max_value=999,
        initial=1,
        error_messages=QUANTITY_ERRORS,
        widget=forms.NumberInput(attrs={"class": "qty-input", "min": 1, "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, product: Product, cart: Cart, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        self.cart = cart
        if product.stock:
            self.fields["quantity"].widget.attrs["max"] = product.stock

    def _resulting_quantity(self, quantity: int) -> int:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        """Refuse unavailable products and quantities above stock."""
        cleaned = super().clean()
        product = self.product
        if not product.active:
            raise forms.ValidationError(f"“{product.name}” is no longer available.")
        if product.stock == 0:
            raise forms.ValidationError(f"“{product.name}” is out of stock.")
        quantity = cleaned.get("quantity")
        if quantity is not None and self._resulting_quantity(quantity) > product.stock:
            in_cart = self.cart.quantity_of(product)
            already = f" (you already have {in_cart} in your cart)" if in_cart else ""
            raise forms.ValidationError(
                f"Sorry, only {product.stock} of “{product.name}” in stock{already}."
            )
        return cleaned

    def error_text(self) -> str:
        """All errors as one sentence for a flash message."""
        errors = [e for field_errors in self.errors.values() for e in field_errors]
        return " ".join(errors)


class AddToCartForm(_QuantityForm):
    """Add a quantity of one product; the total in the cart must not exceed stock."""

    source = forms.CharField(required=False, widget=forms.HiddenInput)

    def _resulting_quantity(self, quantity: int) -> int:
        return self.cart.quantity_of(self.product) + quantity

    def clean_source(self) -> str:
        """Bound the tracking tag's length."""
        return clean_source(self.cleaned_data.get("source"))


class UpdateCartForm(_QuantityForm):
    """Set the quantity of a product already in the cart."""

    def _resulting_quantity(self, quantity: int) -> int:
        return quantity

    def clean(self) -> dict[str, Any]:
        """Only products already in the cart can be updated."""
        if self.product not in self.cart:
            raise forms.ValidationError(f"“{self.product.name}” is not in your cart.")
        return super().clean()


class CheckoutForm(forms.Form):
    """Who and where to ship to."""

    full_name = forms.CharField(max_length=200, widget=forms.TextInput({"autocomplete": "name"}))
    email = forms.EmailField(widget=forms.EmailInput({"autocomplete": "email"}))
    address = forms.CharField(
        max_length=1000,
        widget=forms.Textarea({"rows": 4, "autocomplete": "street-address"}),
        help_text="Street, town, postcode and country.",
    )

    def clean_full_name(self) -> str:
        """No blank names made of spaces."""
        name = self.cleaned_data["full_name"].strip()
        if not name:
            raise forms.ValidationError("Please enter your name.")
        return name

    def clean_address(self) -> str:
        """No blank addresses made of spaces."""
        address = self.cleaned_data["address"].strip()
        if not address:
            raise forms.ValidationError("Please enter a delivery address.")
        return address


class SignUpForm(UserCreationForm):
    """Django's sign-up form plus a required email address.

    Usernames are unique (they are how shoppers log in); email addresses need not be.
    Refusing a registered email would tell anyone which addresses have accounts here.
    Keeping one account per address without that leak needs a confirmation step by
    email ("check your inbox" in both cases); this shop only sends a welcome, so it
    accepts the address like any other.
    """

    email = forms.EmailField(required=True, widget=forms.EmailInput({"autocomplete": "email"}))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        """Trimmed; deliberately not checked against existing accounts (see above)."""
        return self.cleaned_data["email"].strip()
