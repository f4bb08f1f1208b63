"""Writes the impressions of every widget a page rendered, in one insert per page."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import tracking

log = logging.getLogger(__name__)
ATTRIBUTE = "_recommendation_impressions"


def note_impressions(
    request: HttpRequest, version_id: int | None, src: str, ids: list[int]
) -> None:
    """Remember that a widget showed ``ids`` on this page (written after the response)."""
    if request is None or not ids:
        return
    shown = getattr(request, ATTRIBUTE, None)
    if shown is None:
        shown = []
        setattr(request, ATTRIBUTE, shown)
    shown.append((version_id, src, list(ids)))


class ImpressionMiddleware:
    """Flush the page's noted impressions with one bulk insert; never breaks the page.

    Sits inside SessionMiddleware, so a guest's new anonymous id is saved.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        shown = getattr(request, ATTRIBUTE, None)
        if shown and response.status_code == 200:
            try:
                tracking.record_impressions(request, shown)
            except Exception:
                log.exception("could not record impressions")
        return response
