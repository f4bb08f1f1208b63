"""Root URLs: the shop, the admin, and the recommendation API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("recommendations.api.urls")),
    path("", include("recommendations.urls")),
    path("", include("shop.urls")),
]

# JSON {"detail"} under /api/, the site's page elsewhere; a locked database 503.
handler500 = "config.errors.server_error"
