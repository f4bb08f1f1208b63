"""Shop URLs (namespace "shop")."""

from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.catalog, name="catalog"),
    path("products/<slug:slug>/", views.product, name="product"),
    path("products/<slug:slug>/image.svg", views.product_image, name="product_image"),
    path("category/<slug:slug>/", views.category, name="category"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart_add"),
    path("cart/update/<int:product_id>/", views.cart_update, name="cart_update"),
    path("cart/remove/<int:product_id>/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/done/<int:order_id>/", views.order_confirmation, name="order_confirmation"),
    path("account/signup/", views.signup, name="signup"),
    path("account/login/", views.login, name="login"),
    path("account/logout/", views.logout, name="logout"),
    path("account/orders/", views.order_history, name="order_history"),
    path("account/orders/<int:pk>/", views.order_detail, name="order_detail"),
]
