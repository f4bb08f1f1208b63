"""What the operator pages beside the ModelVersion admin share.

Each page is hooked into ModelVersionAdmin.get_urls (versions.py) and wrapped by
``admin_site.admin_view`` (staff only); each also needs the view permission on model
versions. None imports training code: charts are SVG built in charts.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from ..models import ModelVersion


def check_view_permission(request: HttpRequest) -> None:
    """Refuse (403) staff without the view permission on model versions."""
    if not request.user.has_perm("recommendations.view_modelversion"):
        raise PermissionDenied


def page_context(request: HttpRequest, admin_site: Any, title: str) -> dict[str, Any]:
    """The admin's own context for a page titled ``title`` under model versions."""
    return {
        **admin_site.each_context(request),
        "title": title,
        "opts": ModelVersion._meta,
        "app_label": ModelVersion._meta.app_label,
    }
