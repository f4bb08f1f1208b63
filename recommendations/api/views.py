"""API views: each one validates its input with a serializer, calls one operation
(serving, the shop's search, tracking) and hands the result to a serializer."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.models import Product
from shop.search import search_products
from shop.shoppers import anonymous_id

from .operations import ingest_events
from .serializers import (
    ORDERINGS,
    EventsAcceptedSerializer,
    EventSerializer,
    ProductDetailSerializer,
    ProductListQuery,
    ProductSerializer,
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
COMMON = {401: UNAUTHORIZED, 429: THROTTLED}


def _query(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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
    ``client_event_id`` stores it once (it counts under ``duplicates``).
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


# ------------------------------------------------------------------ docs


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the project's static files; its script is a separate request
    and its page has no inline style, so a strict Content-Security-Policy holds."""

    template_name = "api/swagger_ui.html"
