"""Catalogue and orders."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from config.reverse_once import reverse_for


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse_for("shop:category", self.slug)


class ProductQuerySet(models.QuerySet):
    def available(self) -> "ProductQuerySet":
        """Active products, whatever their stock (out-of-stock ones still have pages)."""
        return self.filter(active=True)

    def in_stock(self) -> "ProductQuerySet":
        return self.filter(active=True, stock__gt=0)


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=280, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=120, blank=True, db_index=True)
    tags = models.CharField(max_length=255, blank=True, help_text="Comma-separated")
    stock = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    image = models.CharField(
        max_length=255, blank=True, help_text="Optional static path; empty = drawn SVG"
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["category", "active"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse_for("shop:product", self.slug)

    @property
    def in_stock(self) -> bool:
        return self.active and self.stock > 0


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    # The guest's random shopper id (shop.shoppers), never the session key.
    anonymous_id = models.CharField(max_length=32, blank=True, db_index=True)
    email = models.EmailField()
    full_name = models.CharField(max_length=200)
    address = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    # The cart's one-time token: unique, so a cart submitted twice (or four times at
    # once) becomes one order. Null for orders placed before tokens existed.
    checkout_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("shop:order_detail", args=[self.pk])


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
