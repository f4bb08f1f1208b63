"""Writes the impressions of every widget a page rendered once the page is settled:
queued for this process's batched insert (RECS_IMPRESSIONS_FLUSH_MS, see tracking/background.py),
or in one insert per page after the page has been sent."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from shop.shoppers import keeps_cookies

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
    """Hand the page's noted impressions to the batched writer, or insert them once the
    page is sent.

    Only for signed-in shoppers and guests that keep cookies (``_recorded_client``).
    Whose they are (a guest's new anonymous id, kept in the session) is settled here,
    while the response can still change: it sits inside SessionMiddleware, so the id is
    saved, and inside ShopperCookieMiddleware, which binds a new id to the browser.
    Without batching the insert runs when the server closes the response (WSGI
    ``close()``, after the last byte is written; the test client closes it too), before
    Django's ``request_finished`` handlers, so the request's database connection is
    still open. Never breaks the page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        shown = getattr(request, ATTRIBUTE, None)
        if shown and response.status_code == 200 and _recorded_client(request):
            try:
                owner = tracking.impression_owner(request)
                queued = tracking.queue_impressions(owner, shown)
            except Exception:
                log.exception("could not record impressions")
            else:
                if not queued:
                    # Django's hook for work at close(): FileResponse closes its file there.
                    response._resource_closers.append(lambda: _write(owner, shown))
        return response


def _recorded_client(request: HttpRequest) -> bool:
    """Signed in (a session or an API token), or a guest that keeps cookies: a crawler's
    cookie-less visit gets no impressions (and so no guest id and no session)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated) or keeps_cookies(request)


def _write(owner: tuple, shown: list) -> None:
    try:
        tracking.write_impressions(owner, shown)
    except Exception:
        log.exception("could not record impressions")
