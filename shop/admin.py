"""Admin for the catalogue and orders."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .models import Category, Order, OrderLine, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "product_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Count products in the list query instead of one query per row."""
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="Products", ordering="_product_count")
    def product_count(self, obj: Category) -> int:
        """How many products (active or not) the category holds."""
        return obj._product_count


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "brand", "price", "stock", "active", "created")
    list_filter = ("category", "active", "brand")
    search_fields = ("sku", "name", "brand")
    list_editable = ("stock", "active")
    list_select_related = ("category",)
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "created"
    list_per_page = 50


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ("product",)
    readonly_fields = ("total",)

    @admin.display(description="Line total")
    def total(self, line: OrderLine):
        """Quantity × unit price (blank on the empty 'add another' row)."""
        if line.unit_price is None or line.quantity is None:
            return "-"
        return line.line_total


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "created", "full_name", "email", "user", "status", "total")
    list_filter = ("status", "created")
    search_fields = ("email", "full_name")
    date_hierarchy = "created"
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("created", "anonymous_id")
    inlines = [OrderLineInline]
