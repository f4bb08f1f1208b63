"""The behaviour log: the only writer of Interaction and Impression rows.

events.py      what shoppers do in the shop (views, carts, orders, clicks), guest
               history at login, clearing a shopper's history
impressions.py the lists widgets showed, per page or batched by a background thread
               (background.py)
batches.py     the API's batches: one insert, idempotent per sender
client_ids.py  which client event ids a sender has stored (API batches, the importer)
rows.py        senders, "rec:" sources and the column order they share
"""

from .batches import record_batch
from .events import (
    attach_guest_history,
    attach_on_login,
    clear_history,
    credited_version,
    record_add_to_cart,
    record_click,
    record_event,
    record_not_interested,
    record_order,
    record_view,
    version_from_source,
)
from .impressions import (
    QUEUED_IMPRESSIONS,
    impression_owner,
    impression_rows,
    insert_impression_rows,
    queue_impressions,
    record_impressions,
    write_impressions,
)
from .rows import IMPORT_SENDER, SHOP_SENDER, sender_of

__all__ = [
    "IMPORT_SENDER",
    "QUEUED_IMPRESSIONS",
    "SHOP_SENDER",
    "attach_guest_history",
    "attach_on_login",
    "clear_history",
    "credited_version",
    "impression_owner",
    "impression_rows",
    "insert_impression_rows",
    "queue_impressions",
    "record_add_to_cart",
    "record_batch",
    "record_event",
    "record_impressions",
    "record_not_interested",
    "record_order",
    "record_click",
    "record_view",
    "sender_of",
    "version_from_source",
    "write_impressions",
]
