"""COPY's text format (config/pg_copy.py): every kind of value reads back as it was."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.utils.safestring import mark_safe

from config.pg_copy import copy_text, copy_value

pytestmark = pytest.mark.django_db

VALUES = [
    ("plain", "plain"),
    ("tab\there, new\nline, cr\rand back\\slash \\N", None),
    ("", None),
    ("ünïcødé ✓", None),
    (mark_safe("a\tsafe string"), "a\tsafe string"),  # a str subclass
    (0, None),
    (-42, None),
    (True, None),
    (False, None),
    (None, None),
    (Decimal("12.50"), None),
    (datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC), None),
    (datetime(2026, 12, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))), None),
    (date(2026, 2, 28), None),
]
TYPES = ["text", "text", "text", "text", "text", "bigint", "bigint", "boolean", "boolean",
         "text", "numeric", "timestamptz", "timestamptz", "date"]  # fmt: skip


def test_each_value_reads_back_unchanged():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    columns = [f"c{i}" for i in range(len(VALUES))]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_probe ("
            + ", ".join(f"{c} {t}" for c, t in zip(columns, TYPES, strict=True))
            + ")"
        )
        row = "\t".join(copy_value(value) for value, _ in VALUES) + "\n"
        copy_text("copy_probe", columns, row + row)
        cursor.execute(f"SELECT {', '.join(columns)} FROM copy_probe")
        rows = cursor.fetchall()
    expected = tuple(value if back is None else back for value, back in VALUES)
    assert rows == [expected, expected]


def test_the_text_format_of_common_values():
    assert copy_value(None) == "\\N" and copy_value(True) == "t" and copy_value(False) == "f"
    assert copy_value(7) == "7" and copy_value("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert copy_value(date(2026, 1, 2)) == "2026-01-02"
    assert copy_value(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"
