"""Shopper-facing recommendation pages (namespace "recommendations")."""

from django.urls import path

from . import views

app_name = "recommendations"

urlpatterns = [
    path("account/history/", views.history, name="history"),
    path("account/history/clear/", views.clear_history, name="clear_history"),
    path(
        "recommendations/not-interested/<int:product_id>/",
        views.not_interested,
        name="not_interested",
    ),
]
