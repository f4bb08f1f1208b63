"""The API's JSON parser: DRF's, with a limit on how deeply the body may nest."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32  # an event batch is 2 levels deep; nothing the API reads is near this


def deeper_than(data: Any, limit: int) -> bool:
    """True when lists and objects in ``data`` nest more than ``limit`` levels deep.

    Walks level by level (no recursion), so any depth costs only its size.
    """
    level = [data] if isinstance(data, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below = []
        for node in level:
            values = node.values() if isinstance(node, dict) else node
            below.extend(value for value in values if isinstance(value, dict | list))
        level = below
    return False


class JSONParser(parsers.JSONParser):
    """Rejects bodies nested deeper than MAX_DEPTH with 400, never a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:  # noqa: D102
        message = f"JSON parse error - nested deeper than {MAX_DEPTH} levels."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # the decoder's own stack ran out (thousands of levels)
            raise ParseError(message) from None
        if deeper_than(data, MAX_DEPTH):
            raise ParseError(message)
        return data
