"""What every writer of behaviour rows shares: senders, sources and the column order."""

from __future__ import annotations

import re
from typing import Any

# "rec:<widget>:v<version id>" marks views/carts that followed a recommendation. At most
# 18 digits: any such id fits a 64-bit column (a longer one would overflow SQLite's).
SOURCE_VERSION = re.compile(r"^rec:.*:v(\d{1,18})$")

# Senders (Interaction.sender) that no API client can be: the shop's own purchase rows
# and the event importer's. A client is "user:<pk>" or "guest:<id>" (``sender_of``).
SHOP_SENDER = "shop"
IMPORT_SENDER = "import"


def sender_of(user_id: int | None, anonymous_id: str) -> str:
    """The sender that scopes a client's event ids: its user, else its guest id."""
    return f"user:{user_id}" if user_id is not None else f"guest:{anonymous_id}"


def user_or_none(user: Any) -> Any:
    """The user when signed in, else None (anonymous users are guests)."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


EVENT_FIELDS = (
    "user_id",
    "anonymous_id",
    "product_id",
    "kind",
    "created",
    "quantity",
    "source",
    "model_version_id",
    "basket",
    "sender",
    "client_event_id",  # last: row[-1] is the key
)
