"""API views: each one validates its input with a serializer, calls one operation
(serving, the shop's search, tracking) and hands the result to a serializer."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.cart import Cart
from shop.models import Product
from shop.search import search_products
from shop.shoppers import anonymous_id

from .. import serving, tracking
from ..middleware import note_impressions
from ..serving.cache import shopper_key
from .operations import ingest_events, serve_page
from .serializers import (
    MAX_LIMIT,
    ORDERINGS,
    EventsAcceptedSerializer,
    EventSerializer,
    HistoryClearedSerializer,
    ListRulesQuery,
    PageQuery,
    PageSerializer,
    ProductDetailSerializer,
    ProductListQuery,
    ProductSerializer,
    RecommendationListSerializer,
    RelatedQuery,
)

# ------------------------------------------------------------------ error shapes

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_FIELD_ERRORS = {
    "type": "object",
    "description": 'Field errors ({"field": ["message", ...]}) or {"detail": "..."}',
    "additionalProperties": True,
}


def _error(description: str, schema: dict = _DETAIL) -> OpenApiResponse:
    return OpenApiResponse(response=schema, description=description)


BAD_REQUEST = _error("Invalid query or body: field errors", _FIELD_ERRORS)
UNAUTHORIZED = _error("Bad or missing credentials")
FORBIDDEN = _error("Not allowed (or CSRF token missing on a session write)")
NOT_FOUND = _error("No such object")
THROTTLED = _error("Too many requests; retry after the Retry-After header's seconds")
UNSUPPORTED = _error("Body is not application/json")
TOO_LARGE = _error("More than 1,000 events")
BUSY = _error("The database is busy with other writes: retry after Retry-After seconds")
COMMON = {401: UNAUTHORIZED, 429: THROTTLED}


def _query(serializer_class, request: Request) -> dict:
    if serializer_class is ListRulesQuery:
        plain = plain_list_query(request.query_params)
        if plain is not None:
            return plain
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def plain_list_query(params) -> dict | None:
    """ListRulesQuery's validated data when the query is at most a plain ``limit``, else
    None (the serializer then validates, with its own errors): the common request pays
    a fraction of the serializer's cost."""
    if len(params) > 1 or (params and "limit" not in params):
        return None
    limit = params.get("limit", "10")
    if not (limit.isascii() and limit.isdigit() and len(limit) <= 3 and limit[0] != "0"):
        return None
    value = int(limit)
    return {"limit": value} if 1 <= value <= MAX_LIMIT else None


# ------------------------------------------------------------------ recommendations


def _rules(query: dict) -> serving.Rules:
    return serving.Rules(
        exclude=query.get("exclude", frozenset()),
        category=query.get("category"),
        min_price=query.get("min_price"),
        max_price=query.get("max_price"),
    )


def _served(
    request: Request,
    shopper: serving.Shopper,
    widget: str,
    query: dict,
    *,
    product: Product | None = None,
    impressions: bool = True,
    on_page: bool = True,
) -> Response:
    """Serve ``widget`` through the one serving path and answer the list.

    The shopper's impressions are logged, so a click carrying the list's src is
    attributed to the version that served it. As on the shop's pages, they are noted
    here and written by ImpressionMiddleware once the list has been answered: one
    insert, without waiting for the commit to reach the disk.
    """
    with serving.prefetched(_prefetched(request)):
        served = serving.recommend(
            shopper,
            widget,
            product=product,
            cart=query.get("cart", ()),
            limit=query["limit"],
            rules=_rules(query),
        )
    if impressions:
        _note_impressions(request, shopper, served)
    page = PAGE_OF[widget] if on_page else None
    context = {"request": request, "page": page}
    return Response(RecommendationListSerializer(served, context=context).data)


# widget -> the shop page that shows it (the "slot" of a list response)
PAGE_OF = {widget: page for page, widgets in serving.PAGES.items() for widget in widgets}


def _note_impressions(request: Request, shopper: serving.Shopper, served: serving.Served) -> None:
    """Note the list's impressions for ImpressionMiddleware (RECS_IMPRESSIONS on)."""
    logging_on = settings.RECOMMENDATIONS.get("IMPRESSIONS", True)
    if logging_on and shopper.is_known and served.items:
        # DRF has set the token's user on the Django request the middleware sees.
        note_impressions(request._request, served.version_id, served.src, served.product_ids)


def _prefetched(request: Request) -> dict | None:
    """What the token's round trip read for the view (CachedTokenAuthentication)."""
    return getattr(request.auth, "prefetched", None)


def _shopper_state_key(user_id: int) -> list[str]:
    return [shopper_key(user_id)]


class ShopperListView(APIView):
    """A list or page served for the requesting shopper: a token request reads the
    shopper's serving state in the same cache round trip as the token's user."""

    shared_reads = staticmethod(_shopper_state_key)


LIST_RESPONSES = {200: RecommendationListSerializer, 400: BAD_REQUEST, **COMMON}


class RecommendationsView(ShopperListView):
    """Recommended for the requesting shopper (token, session user or this session's
    guest; a client with neither gets the cold-start list)."""

    @extend_schema(tags=["recommendations"], parameters=[ListRulesQuery], responses=LIST_RESPONSES)
    def get(self, request: Request) -> Response:
        query = _query(ListRulesQuery, request)
        return _served(request, serving.Shopper.from_request(request), "for-you", query)


class UserRecommendationsView(APIView):
    """What one shopper is shown (staff only), without logging impressions."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["recommendations"],
        parameters=[ListRulesQuery],
        responses={**LIST_RESPONSES, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        query = _query(ListRulesQuery, request)
        user = get_object_or_404(get_user_model(), pk=pk)
        shopper = serving.Shopper.for_user(user)
        return _served(request, shopper, "for-you", query, impressions=False, on_page=False)


class TrendingView(ShopperListView):
    """What is popular now (optionally in one category)."""

    @extend_schema(tags=["recommendations"], parameters=[ListRulesQuery], responses=LIST_RESPONSES)
    def get(self, request: Request) -> Response:
        query = _query(ListRulesQuery, request)
        return _served(request, serving.Shopper.from_request(request), "trending", query)


class RelatedView(ShopperListView):
    """Products related to one product: similar, bought together or also viewed."""

    @extend_schema(
        tags=["recommendations"],
        parameters=[RelatedQuery],
        responses={**LIST_RESPONSES, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        product = get_object_or_404(Product.objects.available(), pk=pk)
        query = _query(RelatedQuery, request)
        widget = serving.RELATED_KINDS[query["kind"]]
        shopper = serving.Shopper.from_request(request)
        return _served(request, shopper, widget, query, product=product)


class HistoryView(APIView):
    """Forget the requesting shopper: their events, lists and cached lists."""

    @extend_schema(
        tags=["privacy"],
        request=None,
        responses={200: HistoryClearedSerializer, 403: FORBIDDEN, **COMMON},
    )
    def delete(self, request: Request) -> Response:
        shopper = serving.Shopper.from_request(request)
        deleted = tracking.clear_history(shopper) if shopper.is_known else 0
        return Response(HistoryClearedSerializer({"deleted": deleted}).data)


# ------------------------------------------------------------------ pages

PAGE_RESPONSES = {200: PageSerializer, 400: BAD_REQUEST, **COMMON}


class PageView(ShopperListView):
    """A shop page's widgets for the requesting shopper, exactly as the page shows them."""

    page = ""  # a key of serving.PAGES

    def answer(self, request: Request, product: Product | None = None) -> Response:
        """Serve the page's plan (operations.serve_page) and answer its widgets."""
        query = _query(PageQuery, request)
        shopper = serving.Shopper.from_request(request)
        with serving.prefetched(_prefetched(request)):
            plan = serve_page(
                shopper,
                self.page,
                product=product,
                cart=_page_cart(request, query),
                limit=query["limit"],
                exclude=query.get("exclude", frozenset()),
            )
        for served in plan.values():
            _note_impressions(request, shopper, served)
        body = PageSerializer((self.page, plan), context={"request": request}).data
        return Response(body)


def _page_cart(request: Request, query: dict) -> list[int]:
    """The query's cart, else this session's shop cart (what the shop's pages use)."""
    if "cart" in query:
        return query["cart"]
    session = getattr(request, "session", None)
    return list(Cart(session).items()) if session is not None else []


class HomePageView(PageView):
    """The home page's widgets: for-you (empty while nothing in it is the shopper's
    own: trending stands in), then trending. Pass the products your home page shows
    anyway (the shop's best sellers) as ``exclude``: no widget repeats them."""

    page = "home"

    @extend_schema(tags=["pages"], parameters=[PageQuery], responses=PAGE_RESPONSES)
    def get(self, request: Request) -> Response:
        return self.answer(request)


class ProductPageView(PageView):
    """A product page's widgets: similar, bought-together, also-viewed (the last two
    only with at least 3 products). Records no view: send a ``view`` event for that."""

    page = "product"

    @extend_schema(
        tags=["pages"], parameters=[PageQuery], responses={**PAGE_RESPONSES, 404: NOT_FOUND}
    )
    def get(self, request: Request, pk: int) -> Response:
        product = get_object_or_404(Product.objects.available().select_related("category"), pk=pk)
        return self.answer(request, product)


class CartPageView(PageView):
    """The cart page's widget: complete-order for the products in the cart (``cart``,
    else this session's shop cart); empty when the cart is."""

    page = "cart"

    @extend_schema(tags=["pages"], parameters=[PageQuery], responses=PAGE_RESPONSES)
    def get(self, request: Request) -> Response:
        return self.answer(request)


# ------------------------------------------------------------------ catalogue


@extend_schema(
    tags=["catalogue"],
    parameters=[ProductListQuery],
    responses={200: ProductSerializer(many=True), 400: BAD_REQUEST, 404: NOT_FOUND, **COMMON},
)
class ProductListView(generics.ListAPIView):
    """Active products: filter by category, search with q (the shop's own search), order."""

    serializer_class = ProductSerializer

    def get_queryset(self):
        query = _query(ProductListQuery, self.request)
        words = query.get("q", "").strip()
        products = (
            search_products(words)
            if words
            else Product.objects.available().select_related("category")
        )
        if "category" in query:
            products = products.filter(category__slug=query["category"])
        if "ordering" in query or not words:
            products = products.order_by(*ORDERINGS[query.get("ordering", "name")])
        return products


@extend_schema(
    tags=["catalogue"], responses={200: ProductDetailSerializer, 404: NOT_FOUND, **COMMON}
)
class ProductDetailView(generics.RetrieveAPIView):
    """One active product."""

    serializer_class = ProductDetailSerializer
    queryset = Product.objects.available().select_related("category")


# ------------------------------------------------------------------ events

EVENTS_BODY = PolymorphicProxySerializer(
    component_name="EventOrBatch",
    serializers=[EventSerializer, EventSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


@extend_schema(
    tags=["events"],
    request=EVENTS_BODY,
    responses={
        201: EventsAcceptedSerializer,
        400: _error(
            "Nothing stored: errors per item index, or a malformed body",
            {
                "type": "object",
                "properties": {
                    "detail": {"type": "string"},
                    "errors": {
                        "type": "object",
                        "description": 'Item index -> field errors, e.g. {"3": {"kind": [..]}}',
                        "additionalProperties": {"type": "object"},
                    },
                },
                "additionalProperties": True,
            },
        ),
        403: FORBIDDEN,
        413: TOO_LARGE,
        415: UNSUPPORTED,
        503: BUSY,
        **COMMON,
    },
    examples=[
        OpenApiExample(
            "One view",
            value={"sku": "SKU-00001", "kind": "view", "client_event_id": "app-1-42"},
            request_only=True,
        ),
        OpenApiExample(
            "A purchase on behalf of a shopper (staff token)",
            value=[
                {
                    "product": 7,
                    "kind": "purchase",
                    "quantity": 2,
                    "basket": "o-991",
                    "user": "alice",
                    "timestamp": "2026-01-31T12:00:00Z",
                }
            ],
            request_only=True,
        ),
    ],
)
class EventsView(APIView):
    """Record what shoppers did: one event or a list of at most 1,000, all or nothing.

    The shopper is the token's or session's user, or this session's guest; a staff
    client may name ``user`` (a username) per event. Resending an event with the same
    ``client_event_id`` from the same sender (the token's or session's user, or the
    guest session) stores it once (it counts under ``duplicates``); ids are scoped to
    their sender, so nobody can block another's events.

    So that no single client outweighs the crowd in Trending and the models:
    ``purchase`` events come only from staff tokens (server to server; the shop records
    its own checkouts), ``quantity`` is at most RECS_API_MAX_QUANTITY (default 100),
    and a shopper's or guest's own views, carts and purchases count against
    RECS_API_DAILY_QUANTITY units per 24 hours (default 1,000). An event that breaks a
    rule is refused with a field error (400), and then nothing is stored.
    """

    def post(self, request: Request) -> Response:
        user = request.user if request.user.is_authenticated else None
        accepted, duplicates = ingest_events(
            request.data,
            user=user,
            anonymous_id="" if user else anonymous_id(request),
            staff=bool(user and user.is_staff),
        )
        body = EventsAcceptedSerializer({"accepted": accepted, "duplicates": duplicates}).data
        return Response(body, status=status.HTTP_201_CREATED)


# ------------------------------------------------------------------ docs and the rest


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any other path under /api/: a JSON 404 whatever the method."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound()


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the project's static files; its script is a separate request
    and its page has no inline style, so a strict Content-Security-Policy holds."""

    template_name = "api/swagger_ui.html"
