"""Marks on the rows seed_demo made, so `seed_demo --reset` removes those and no others.

The marks live here rather than as shop columns: the shop knows nothing of the demo.
"""

from __future__ import annotations

from django.db import models


class DemoCategory(models.Model):
    """A category the demo generator made."""

    category = models.OneToOneField(
        "shop.Category", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"demo category {self.category_id}"


class DemoProduct(models.Model):
    """A product the demo generator made."""

    product = models.OneToOneField(
        "shop.Product", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"demo product {self.product_id}"


def demo_categories() -> models.QuerySet:
    """Categories the generator made."""
    from shop.models import Category

    return Category.objects.filter(pk__in=DemoCategory.objects.values("category"))


def demo_products() -> models.QuerySet:
    """Products the generator made."""
    from shop.models import Product

    return Product.objects.filter(pk__in=DemoProduct.objects.values("product"))
