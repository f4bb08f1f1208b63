"""Per-shopper inspection for operators: who, recent events, the list served now.

One admin page per shopper (a user, or a guest by anonymous shopper id; never a session
key): their recent events, the "for-you" list the serving path gives now with scores,
reasons and version, the precomputed list of that version beside it (which items this
session's recent products blended in, which precomputed ones were dropped), and links
to each product's related lists by kind. Reached from a search box (username, email,
anonymous id), the user admin and the behaviour log.

Looking records nothing: the page calls ``serving.recommend`` directly, never the
widget tag, so no impression is noted (impressions are a shopper's, not an operator's).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from shop.models import Product

from .. import reasons, registry
from ..models import Impression, Interaction, RelatedProducts, UserRecommendations
from ..serving import Served, Shopper, recommend

URL_NAME = "recommendations_shopper"
EVENTS_SHOWN = 50
LISTS_SHOWN = 20
LIST_SHOWN = 20
MATCHES_SHOWN = 20


def shopper_url(user_id: int | None = None, anonymous_id: str = "") -> str:
    """The inspection page of a user or of a guest."""
    query = {"user": user_id} if user_id is not None else {"guest": anonymous_id}
    return f"{reverse(f'admin:{URL_NAME}')}?{urlencode(query)}"


def clean_search(text: str) -> str:
    """``text`` without control characters (PostgreSQL refuses NUL; none is in a name or id)."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc").strip()


def find_shoppers(query: str) -> tuple[list[Any], list[str]]:
    """(users, guest ids) matching a username, an email or an anonymous shopper id exactly."""
    query = clean_search(query)
    if not query:
        return [], []
    users = list(
        get_user_model()
        .objects.filter(Q(username__iexact=query) | Q(email__iexact=query))
        .order_by("pk")[:MATCHES_SHOWN]
    )
    guest = Interaction.objects.filter(user__isnull=True, anonymous_id=query).exists() or (
        UserRecommendations.objects.filter(user__isnull=True, anonymous_id=query).exists()
    )
    return users, [query] if guest else []


@dataclass
class Row:
    """One line of the served list (or a dropped precomputed item)."""

    rank: int | None
    product: Product | None
    product_id: int
    score: float | None
    reason: str
    origin: str  # precomputed | blended from recent products | filled | dropped
    precomputed_rank: int | None
    related: list[tuple[str, str]]  # (kind label, admin url)


def related_links(product_id: int, version_id: int | None) -> list[tuple[str, str]]:
    """Links to the product's related lists of ``version_id``, one per kind."""
    base = reverse("admin:recommendations_relatedproducts_changelist")
    out = []
    for kind, label in RelatedProducts.Kind.choices:
        query = {"product__id__exact": product_id, "kind__exact": kind}
        if version_id is not None:
            query["version__id__exact"] = version_id
        out.append((label, f"{base}?{urlencode(query)}"))
    return out


BLENDED = "blended from recent products"


def _origin(reason: str, precomputed_rank: int | None, precomputed_reason: str | None) -> str:
    """Where a served item came from, judged against the precomputed list."""
    if reasons.names_recent_product(reason) and (
        precomputed_rank is None or precomputed_reason != reason
    ):
        return BLENDED
    return "precomputed" if precomputed_rank is not None else "filled"


def compare(served: Served, precomputed: UserRecommendations | None) -> list[Row]:
    """The served list, each item marked by where it came from, then the dropped ones.

    An item is "blended from recent products" when the serving path explains it by a
    product the shopper viewed or carted and the precomputed list did not have it with
    that reason; "filled" when it is not in the precomputed list for another reason
    (trending or category top-up).
    """
    pre_ids = [int(p) for p in (precomputed.product_ids if precomputed else [])]
    pre_reasons = list(precomputed.reasons if precomputed else [])
    pre_rank = {pid: i for i, pid in enumerate(pre_ids, 1)}
    version_id = served.version_id
    rows = []
    for rank, item in enumerate(served.items, 1):
        pid = item.product.pk
        was = pre_rank.get(pid)
        before = pre_reasons[was - 1] if was and was <= len(pre_reasons) else None
        origin = _origin(item.reason, was, before)
        related = related_links(pid, version_id)
        rows.append(Row(rank, item.product, pid, item.score, item.reason, origin, was, related))
    served_ids = set(served.product_ids)
    dropped = [pid for pid in pre_ids[:LIST_SHOWN] if pid not in served_ids]
    products = Product.objects.only("id", "name", "sku", "slug").in_bulk(dropped)
    for pid in dropped:
        i = pre_rank[pid]
        reason = (pre_reasons[i - 1] if i <= len(pre_reasons) else "") or ""
        score = precomputed.scores[i - 1] if i <= len(precomputed.scores) else None
        related = related_links(pid, version_id)
        rows.append(Row(None, products.get(pid), pid, score, reason, "dropped", i, related))
    return rows


def _precomputed(shopper: Shopper, version_id: int | None) -> UserRecommendations | None:
    if version_id is None:
        return None
    lists = UserRecommendations.objects.filter(version_id=version_id)
    if shopper.user_id is not None:
        return lists.filter(user_id=shopper.user_id).first()
    return lists.filter(user__isnull=True, anonymous_id=shopper.anonymous_id).first()


def _who(shopper: Shopper) -> Q:
    if shopper.user_id is not None:
        return Q(user_id=shopper.user_id)
    return Q(user__isnull=True, anonymous_id=shopper.anonymous_id)


def _lists_shown(shopper: Shopper) -> list[tuple[Impression, list[tuple[int, str]]]]:
    """The shopper's latest lists shown, each with its (product id, name) in order; a
    product deleted since is named by its id."""
    lists = list(Impression.objects.filter(_who(shopper)).order_by("-created", "-pk")[:LISTS_SHOWN])
    ids = {pid for shown in lists for pid in shown.product_ids}
    names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [
        (shown, [(pid, names.get(pid, f"#{pid}")) for pid in shown.product_ids]) for shown in lists
    ]


def _events(shopper: Shopper) -> list[Interaction]:
    return list(
        Interaction.objects.filter(_who(shopper))
        .select_related("product")
        .order_by("-created", "-pk")[:EVENTS_SHOWN]
    )


@dataclass
class Search:
    """Who the request names: one user or guest to inspect, or the matches of ?q=."""

    query: str
    user: Any = None
    guest: str = ""
    users: list[Any] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, request: HttpRequest) -> Search:
        """?user=<id> names a user (never a guest); else ?q= if it finds one; else ?guest=."""
        search = cls(clean_search(request.GET.get("q", "")))
        user_param = request.GET.get("user", "").strip()
        guest = clean_search(request.GET.get("guest", ""))[:32]
        if user_param.isdecimal():  # not isdigit: int() refuses digits such as "²"
            search.user = get_user_model().objects.filter(pk=int(user_param)).first()
        elif search.query:
            search.users, search.guests = find_shoppers(search.query)
            if len(search.users) + len(search.guests) == 1:  # one match: inspect it
                search.user = search.users[0] if search.users else None
                guest = "" if search.users else search.guests[0]
        if search.user is None and not user_param:
            search.guest = guest
        return search

    def context(self) -> dict[str, Any]:
        """The search box and its matches, when there are several."""
        several = len(self.users) + len(self.guests) > 1
        return {
            "q": self.query,
            "matches": [(u, shopper_url(u.pk)) for u in self.users] if several else [],
            "guest_matches": [(g, shopper_url(None, g)) for g in self.guests] if several else [],
            "searched": bool(self.query) and not self.users and not self.guests,
        }


def inspection(shopper: Shopper) -> dict[str, Any]:
    """The served list beside the precomputed one, the A/B arm and the recent events."""
    served = recommend(shopper, "for-you", limit=LIST_SHOWN)  # records no impression
    precomputed = _precomputed(shopper, served.version_id)
    rows = compare(served, precomputed)
    context = {
        "shopper": shopper,
        "served": served,
        "precomputed": precomputed,
        "rows": rows,
        "blended": sum(r.origin == BLENDED for r in rows),
        "events": _events(shopper),
        "shown": _lists_shown(shopper),
        "log_url": _log_url(shopper),
    }
    test = registry.running_test()
    if test is not None:
        name = "challenger" if served.version_id == test.challenger_id else "control"
        context["arm"] = {"test_id": test.pk, "name": name}
    return context


def shopper_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """Search shoppers (?q=) or inspect one (?user=<id> or ?guest=<anonymous id>)."""
    if not request.user.has_perm("recommendations.view_interaction"):
        raise PermissionDenied
    search = Search.of(request)
    context = {
        **admin_site.each_context(request),
        "title": "Shopper inspection",
        "opts": Interaction._meta,
        "app_label": Interaction._meta.app_label,
        **search.context(),
        "shopper": None,
    }
    if search.user is not None:
        context["who"] = f"user {search.user.get_username()} (#{search.user.pk})"
        context["user_change_url"] = _user_change_url(search.user)
        context.update(inspection(Shopper(user_id=search.user.pk)))
    elif search.guest:
        context["who"] = f"guest {search.guest}"
        context.update(inspection(Shopper(anonymous_id=search.guest)))
    return TemplateResponse(request, "admin/recommendations/shopper.html", context)


def _user_change_url(user: Any) -> str:
    meta = user._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[user.pk])


def _log_url(shopper: Shopper) -> str:
    base = reverse("admin:recommendations_interaction_changelist")
    if shopper.user_id is not None:
        return f"{base}?{urlencode({'user__id__exact': shopper.user_id})}"
    return f"{base}?{urlencode({'anonymous_id': shopper.anonymous_id})}"
