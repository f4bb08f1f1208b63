"""Test clients and requests that behave like a browser which keeps cookies.

The shop keeps a guest id (and so a session) only for a client that sent a cookie back
(shop.shoppers.keeps_cookies); a real browser has one from its first page (the CSRF
cookie). Tests of guest behaviour start from such a browser; tests of cookie-less
crawlers use a bare client.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import Client

from shop.shoppers import ShopperCookieMiddleware, anonymous_id

SEEN_COOKIE = "seen"  # any cookie a browser sends back will do


def returning(client: Client) -> Client:
    """``client`` with a cookie, as a browser has after its first page."""
    client.cookies[SEEN_COOKIE] = "1"
    return client


def guest_request(request: HttpRequest) -> HttpRequest:
    """A RequestFactory request from a returning guest browser: saved session, guest id
    minted, and the browser-binding cookie the shop set for it sent back."""
    request.COOKIES[SEEN_COOKIE] = "1"
    SessionMiddleware(lambda r: None).process_request(request)
    request.user = AnonymousUser()
    anonymous_id(request)
    request.session.save()
    response = ShopperCookieMiddleware(lambda r: HttpResponse())(request)
    request.COOKIES.update({name: morsel.value for name, morsel in response.cookies.items()})
    return request
