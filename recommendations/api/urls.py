"""API routes, included from config/urls.py at "api/"."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "api"

urlpatterns = [
    path("recommendations/", views.RecommendationsView.as_view(), name="recommendations"),
    path(
        "users/<int:pk>/recommendations/",
        views.UserRecommendationsView.as_view(),
        name="user_recommendations",
    ),
    path("trending/", views.TrendingView.as_view(), name="trending"),
    path("products/<int:pk>/related/", views.RelatedView.as_view(), name="related"),
    path("pages/home/", views.HomePageView.as_view(), name="home_page"),
    path("pages/cart/", views.CartPageView.as_view(), name="cart_page"),
    path("pages/products/<int:pk>/", views.ProductPageView.as_view(), name="product_page"),
    path("me/history/", views.HistoryView.as_view(), name="history"),
    path("products/", views.ProductListView.as_view(), name="products"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product"),
    path("events/", views.EventsView.as_view(), name="events"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ (e.g. /api/products/-1/) answers JSON, not the HTML 404.
    re_path(r"", views.NotFoundView.as_view()),
]
