"""Connects the shop's signals (and login) to the behaviour log (see tracking/).

Receivers are thin and never raise: a failure to record is logged, and the page
that sent the signal renders as usual.
"""

import functools
import logging
from collections.abc import Callable

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from shop import shoppers, signals

from . import tracking
from .models import ABTest, ModelVersion
from .serving.cache import forget_active

logger = logging.getLogger(__name__)


def _never_raise(func: Callable[..., None]) -> Callable[..., None]:
    """Log any exception of a receiver instead of breaking the request that sent it."""

    @functools.wraps(func)
    def wrapper(sender, **kwargs) -> None:
        try:
            func(sender, **kwargs)
        except Exception:
            logger.exception("could not record %s from %s", func.__name__, sender)

    return wrapper


@receiver(signals.product_viewed, dispatch_uid="recommendations.product_viewed")
@_never_raise
def on_product_viewed(sender, product, request=None, user=None, anonymous_id=None, **kwargs):
    """A product page was shown -> one view row."""
    tracking.record_view(
        product,
        user=user,
        anonymous_id=anonymous_id,
        source=kwargs.get("source") or "",
        request=request,
    )


@receiver(signals.product_added_to_cart, dispatch_uid="recommendations.product_added_to_cart")
@_never_raise
def on_product_added_to_cart(
    sender, product, quantity=1, request=None, user=None, anonymous_id=None, **kwargs
):
    """A product went into the cart -> one cart row with the quantity."""
    tracking.record_add_to_cart(
        product,
        quantity,
        user=user,
        anonymous_id=anonymous_id,
        source=kwargs.get("source") or "",
        request=request,
    )


@receiver(signals.order_placed, dispatch_uid="recommendations.order_placed")
@_never_raise
def on_order_placed(sender, order, request=None, user=None, anonymous_id=None, **kwargs):
    """An order was placed -> one purchase row per order line."""
    tracking.record_order(order, user=user, anonymous_id=anonymous_id, request=request)


@receiver(user_logged_in, dispatch_uid="recommendations.user_logged_in")
@_never_raise
def on_user_logged_in(sender, request=None, user=None, **kwargs):
    """A shopper signed in -> their anonymous browsing becomes theirs.

    Only a guest id this browser minted: a planted session's history stays its guest's.
    """
    if request is not None and shoppers.drop_foreign_guest_id(request):
        logger.info("login: guest id not minted by this browser; history not merged")
    tracking.attach_on_login(request, user)


@receiver(post_save, sender=ModelVersion, dispatch_uid="recommendations.version_saved")
@receiver(post_save, sender=ABTest, dispatch_uid="recommendations.abtest_saved")
def on_version_saved(sender, instance=None, **kwargs):
    """A version or an A/B test changed (activation, rollback, refresh, test started or
    ended): serving reads the active version and the running test again."""
    forget_active()
