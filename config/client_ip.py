"""The client's address: one rule for login lockouts (django-axes) and API throttles.

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, each appending the address it received
the request from to X-Forwarded-For, the client is the entry the outermost trusted
proxy appended: the count-th from the right. Entries further left came from the client
and can be forged, so they are never used. Without trusted proxies (the default)
REMOTE_ADDR is the client, and X-Forwarded-For is ignored: otherwise anyone could
choose their address and escape a lockout or a throttle.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's IP address (see the module docstring); REMOTE_ADDR when the trusted
    proxies' header is missing or not an address."""
    remote = request.META.get("REMOTE_ADDR")
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-min(count, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
