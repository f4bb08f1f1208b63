"""Domain signals the shop sends. Other apps connect receivers; the shop never
imports them, so removing a receiver app leaves a working shop.

Every signal is sent with ``sender`` = the view/service class or function name and:
- ``request``: the HttpRequest, may be None
- ``user``: the authenticated user or None
- ``anonymous_id``: the guest's random shopper id (shoppers.py; never the session
  key, which is a credential), "" for signed-in shoppers; a client that keeps no
  cookies (a crawler) gets a new one per request, never stored in a session
"""

import django.dispatch

# A product page was shown. Extra kwargs: product, source (str, e.g. "rec:home:v12"
# when the shopper arrived from a recommendation widget, else "").
product_viewed = django.dispatch.Signal()

# A product was added to the session cart. Extra kwargs: product, quantity, source.
product_added_to_cart = django.dispatch.Signal()

# An order was placed (sent on transaction commit). Extra kwargs: order (with lines).
order_placed = django.dispatch.Signal()
