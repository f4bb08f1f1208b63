"""Operator views: the behaviour log (read-only), model versions and precomputed lists."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from shop.models import Product

from ..models import Interaction, ModelVersion, RelatedProducts, UserRecommendations
from ..registry import primary_metric
from . import actions as admin_actions
from . import pages as admin_views
from . import shopper as admin_shopper

EMPTY = "—"
Status = ModelVersion.Status


def _cell(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def dict_table(data: dict | None, unit: str = "", digits: int = 4) -> SafeString | str:
    """A JSON object as a two-column HTML table (nested objects become nested tables)."""
    if not data:
        return EMPTY
    if not isinstance(data, dict):
        return format_html("<code>{}</code>", json.dumps(data))

    def cell(value: Any) -> SafeString | str:
        if isinstance(value, dict):
            return dict_table(value, unit, digits)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return format_html("{}{}", _cell(value, digits), unit if number else "")

    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td></tr>",
        ((key, cell(value)) for key, value in sorted(data.items())),
    )
    return format_html('<table class="recs-json">{}</table>', rows)


def product_link(product: Product | None, product_id: int) -> SafeString | str:
    """Link to the product's admin page (or its shop page), by name."""
    if product is None:
        return f"#{product_id} (deleted)"
    for name, args in (("admin:shop_product_change", [product.pk]), (None, None)):
        try:
            url = reverse(name, args=args) if name else product.get_absolute_url()
        except NoReverseMatch:
            continue
        return format_html('<a href="{}">{}</a> <small>{}</small>', url, product.name, product.sku)
    return format_html("{} <small>{}</small>", product.name, product.sku)


def ranked_table(product_ids: list, scores: list, reasons: list | None = None) -> SafeString | str:
    """A precomputed list as a table: rank, product, score, reason (one product query)."""
    if not product_ids:
        return EMPTY
    products = Product.objects.only("id", "name", "sku", "slug").in_bulk(product_ids)
    reasons = reasons or []
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                rank,
                product_link(products.get(pid), pid),
                _cell(scores[rank - 1]) if rank <= len(scores) else EMPTY,
                (reasons[rank - 1] if rank <= len(reasons) else "") or EMPTY,
            )
            for rank, pid in enumerate(product_ids, 1)
        ),
    )
    return format_html(
        "<table><thead><tr><th>Rank</th><th>Product</th><th>Score</th><th>Reason</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        rows,
    )


class NulSafeChangelistMixin:
    """A NUL in a filter parameter (?kind=%00) reached PostgreSQL, which refuses it: a 500.
    Such a list is refused as Django refuses any wacky lookup (redirect to ?e=1)."""

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            raise IncorrectLookupParameters("a NUL character in the query string")
        return super().get_changelist_instance(request)


class ReadOnlyMixin:
    """Nobody adds or edits these rows by hand; viewing (and deleting, by permission) only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """The append-only behaviour log: view only."""

    list_display = (
        "created",
        "kind",
        "user_link",
        "guest_link",
        "product",
        "quantity",
        "source",
        "model_version",
    )
    list_filter = ("kind", "source", "created")
    search_fields = ("=user__username", "=product__sku", "=anonymous_id")
    date_hierarchy = "created"
    list_select_related = ("user", "product", "model_version")
    show_full_result_count = False  # COUNT(*) on the whole log is slow on big tables
    list_per_page = 100

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        """The log's pages, plus the per-shopper inspection page."""
        view = self.admin_site.admin_view(
            lambda request: admin_shopper.shopper_view(request, self.admin_site)
        )
        return [path("shopper/", view, name=admin_shopper.URL_NAME), *super().get_urls()]

    @admin.display(description="user", ordering="user")
    def user_link(self, obj: Interaction) -> SafeString | str:
        """The user, linked to the shopper's inspection page."""
        if obj.user_id is None:
            return EMPTY
        label = obj.user.get_username() if obj.user else f"#{obj.user_id}"
        return format_html('<a href="{}">{}</a>', admin_shopper.shopper_url(obj.user_id), label)

    @admin.display(description="anonymous id", ordering="anonymous_id")
    def guest_link(self, obj: Interaction) -> SafeString | str:
        """A guest's anonymous shopper id, linked to the guest's inspection page."""
        if not obj.anonymous_id:
            return EMPTY
        url = admin_shopper.shopper_url(None, obj.anonymous_id)
        return format_html('<a href="{}">{}</a>', url, obj.anonymous_id)


@admin.register(ModelVersion)
class ModelVersionAdmin(NulSafeChangelistMixin, admin.ModelAdmin):
    """Training runs. Everything but the notes is written by the pipeline."""

    list_display = (
        "id",
        "algorithm",
        "status",
        "created",
        "n_events",
        "n_users",
        "n_items",
        "primary_metric_value",
        "duration",
    )
    list_filter = ("status", "algorithm")
    search_fields = ("algorithm", "notes")
    date_hierarchy = "created"
    actions = [
        admin_actions.promote,
        admin_actions.force_promote,
        admin_actions.rollback,
        admin_actions.retrain,
        admin_actions.start_ab_test,
    ]
    fields = (
        ("algorithm", "status"),
        "progress_display",
        ("created", "activated"),
        ("data_start", "data_end"),
        ("n_events", "n_users", "n_items"),
        "parameters_table",
        "metrics_table",
        "timings_table",
        "artifact_path",
        "notes",
    )
    readonly_fields = (
        "algorithm",
        "status",
        "progress_display",
        "created",
        "activated",
        "data_start",
        "data_end",
        "n_events",
        "n_users",
        "n_items",
        "parameters_table",
        "metrics_table",
        "timings_table",
        "artifact_path",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from the pipeline

    def get_urls(self) -> list:
        """The version list's own pages, plus "at a glance", "online results" and "A/B test"."""

        def view(fn):
            return self.admin_site.admin_view(lambda request: fn(request, self.admin_site))

        extra = [
            path(
                "overview/",
                view(admin_views.overview),
                name="recommendations_modelversion_overview",
            ),
            path(
                "online/", view(admin_views.online_view), name="recommendations_modelversion_online"
            ),
            path(
                "abtest/", view(admin_views.abtest_view), name="recommendations_modelversion_abtest"
            ),
        ]
        return extra + super().get_urls()

    @admin.display(description=primary_metric())
    def primary_metric_value(self, obj: ModelVersion) -> str:
        value = (obj.metrics or {}).get(primary_metric())
        return f"{value:.4f}" if isinstance(value, int | float) else EMPTY

    @admin.display(description="duration")
    def duration(self, obj: ModelVersion) -> str:
        timings = obj.timings or {}
        total = timings.get("total")
        if not isinstance(total, int | float):
            numbers = [v for v in timings.values() if isinstance(v, int | float)]
            total = sum(numbers) if numbers else None
        return EMPTY if total is None else f"{total:.1f} s"

    @admin.display(description="progress")
    def progress_display(self, obj: ModelVersion) -> SafeString | str:
        """The running stage with a bar (reload to follow), or the last stage of a run."""
        p = obj.progress or {}
        if not p.get("stage"):
            return EMPTY
        running = obj.status in (Status.TRAINING, Status.PRECOMPUTING)
        done, total = int(p.get("done") or 0), int(p.get("total") or 0)
        detail = format_html(" ({})", p["detail"]) if p.get("detail") else ""
        bar = (
            format_html(
                ' <progress value="{}" max="{}"></progress> {}/{}', done, total, done, total
            )
            if total and running
            else ""
        )
        rows = ""
        if obj.status == Status.PRECOMPUTING and obj.n_users:
            written = UserRecommendations.objects.filter(version=obj).count()
            rows = format_html("; shopper lists written: {} of {}", written, obj.n_users)
        return format_html(
            "{}{}{}{}{} <small>at {}</small>",
            "" if running else "last stage: ",
            p["stage"],
            detail,
            bar,
            rows,
            p.get("at", ""),
        )

    @admin.display(description="parameters")
    def parameters_table(self, obj: ModelVersion) -> SafeString | str:
        return dict_table(obj.parameters)

    @admin.display(description="metrics")
    def metrics_table(self, obj: ModelVersion) -> SafeString | str:
        return dict_table(obj.metrics)

    @admin.display(description="timings")
    def timings_table(self, obj: ModelVersion) -> SafeString | str:
        return dict_table(obj.timings, unit=" s", digits=2)


@admin.register(UserRecommendations)
class UserRecommendationsAdmin(NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Per-shopper lists, as the serving layer reads them."""

    list_display = ("id", "version", "user", "anonymous_id", "length", "created")
    list_filter = ("version__status", "version__algorithm")
    search_fields = ("=user__username", "=anonymous_id")
    list_select_related = ("user", "version")
    show_full_result_count = False
    fields = ("version", "user", "anonymous_id", "created", "ranked_list")
    readonly_fields = fields

    @admin.display(description="items")
    def length(self, obj: UserRecommendations) -> int:
        return len(obj.product_ids or [])

    @admin.display(description="ranked list")
    def ranked_list(self, obj: UserRecommendations) -> SafeString | str:
        return ranked_table(obj.product_ids, obj.scores, obj.reasons)


@admin.register(RelatedProducts)
class RelatedProductsAdmin(NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Per-product related lists, by kind."""

    list_display = ("id", "version", "product", "kind", "length")
    list_filter = ("kind", "version__status")
    search_fields = ("=product__sku",)
    list_select_related = ("product", "version")
    show_full_result_count = False
    fields = ("version", "product", "kind", "ranked_list")
    readonly_fields = fields

    @admin.display(description="items")
    def length(self, obj: RelatedProducts) -> int:
        return len(obj.product_ids or [])

    @admin.display(description="ranked list")
    def ranked_list(self, obj: RelatedProducts) -> SafeString | str:
        return ranked_table(
            obj.product_ids, obj.scores, [obj.get_kind_display()] * len(obj.product_ids)
        )


# The user admin gains a link to each shopper's inspection page (list column and change
# page), keeping whatever admin class the project registered for its user model.
User = get_user_model()
_BaseUserAdmin = type(admin.site._registry[User]) if admin.site.is_registered(User) else None
if _BaseUserAdmin is not None:

    class ShopperUserAdmin(_BaseUserAdmin):
        """The registered user admin plus a link to the shopper's recommendations."""

        list_display = (*_BaseUserAdmin.list_display, "recommendations")
        readonly_fields = (*_BaseUserAdmin.readonly_fields, "recommendations")

        def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
            fieldsets = super().get_fieldsets(request, obj)
            if obj is None:  # the add form
                return fieldsets
            return [*fieldsets, ("Recommendations", {"fields": ("recommendations",)})]

        @admin.display(description="recommendations")
        def recommendations(self, obj: Any) -> SafeString | str:
            """Link to what this shopper is recommended now, and why."""
            if obj is None or obj.pk is None:
                return EMPTY
            return format_html(
                '<a href="{}">Inspect this shopper</a>', admin_shopper.shopper_url(obj.pk)
            )

    admin.site.unregister(User)
    admin.site.register(User, ShopperUserAdmin)
