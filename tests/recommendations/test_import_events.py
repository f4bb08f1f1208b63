"""manage.py import_events: our CSV layout, Online Retail and DIGINETICA files."""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from recommendations.models import Interaction
from shop.models import Product
from shop.retail_format import RETAIL_FEE_CODES
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories hash passwords; the default hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
User = get_user_model()


def run(path: Path | str, *args: str) -> str:
    out = StringIO()
    call_command("import_events", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def catalog():
    """The products the hand-written event files mention."""
    return {sku: ProductFactory(sku=sku) for sku in ("MUG-1", "LAMP-1", "BOOK-1")}


class TestCsv:
    def test_good_file(self, catalog):
        UserFactory(username="alice")  # existing users are reused
        out = run(FIXTURES / "events.csv", "--create-users")
        assert "imported: 5" in out and "bad: 0" in out
        assert "unknown users: 1, created: bob (line 5)" in out
        alice = User.objects.get(username="alice")
        rows = list(Interaction.objects.filter(user=alice).order_by("id"))
        assert [(r.kind, r.quantity) for r in rows] == [("view", 1), ("cart", 2), ("purchase", 2)]
        assert rows[0].created == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # naive = UTC
        assert rows[1].created == datetime(2024, 3, 1, 9, 1, tzinfo=UTC)  # +01:00
        assert {r.source for r in rows} == {"import:csv"}
        assert all(r.client_event_id for r in rows)
        bob = User.objects.get(username="bob")  # created, cannot log in
        assert not bob.has_usable_password()
        assert Interaction.objects.filter(user=bob).count() == 2

    def test_second_run_adds_nothing(self, catalog):
        run(FIXTURES / "events.csv", "--create-users")
        out = run(FIXTURES / "events.csv")  # the users exist now
        assert "imported: 0" in out and "already imported 5" in out and "bad: 0" in out
        assert Interaction.objects.count() == 5
        assert User.objects.count() == 2

    def test_gzip_file(self, catalog, tmp_path):
        packed = tmp_path / "events.csv.gz"
        with open(FIXTURES / "events.csv", "rb") as src, gzip.open(packed, "wb") as dst:
            shutil.copyfileobj(src, dst)
        assert "imported: 5" in run(packed, "--create-users")
        assert "imported: 0" in run(FIXTURES / "events.csv")  # same content, same ids

    def test_bad_rows_are_reported_by_line_and_the_rest_imported(self, catalog):
        out = run(FIXTURES / "events_bad_rows.csv", "--create-users")
        assert "imported: 2" in out and "bad: 6" in out
        for expected in (
            "line 3: unknown sku 'NOPE-404'",
            "line 4: kind 'like' is not one of view, cart, purchase",
            "line 5: timestamp 'yesterday' is not ISO 8601",
            "line 6: missing user",
            "line 7: quantity '0' must be >= 1",
            "line 8: quantity 'two' is not an integer",
        ):
            assert expected in out
        assert out.index("line 3:") < out.index("line 4:")  # reported in file order
        assert sorted(Interaction.objects.values_list("user__username", "kind")) == [
            ("carol", "view"),
            ("dave", "purchase"),
        ]

    def test_strict_stops_at_the_first_bad_row_and_writes_nothing(self, catalog, tmp_path):
        # line 3's unknown sku is found when its chunk is looked up, after line 4 was
        # parsed; the report names line 3 all the same
        with pytest.raises(CommandError, match="line 3: unknown sku 'NOPE-404'.*--strict"):
            run(FIXTURES / "events_bad_rows.csv", "--strict", "--create-users")
        assert not Interaction.objects.exists() and not User.objects.exists()
        # an unknown sku is found after the row's user was created: that is undone too
        path = tmp_path / "unknown_sku.csv"
        path.write_text(
            "user,sku,kind,timestamp\nerin,MUG-1,view,2024-01-01\nerin,NO,view,2024-01-01\n"
        )
        with pytest.raises(CommandError, match="line 3: unknown sku 'NO'"):
            run(path, "--strict", "--create-users")
        assert not Interaction.objects.exists() and not User.objects.exists()

    def test_wrong_header_missing_file_unknown_format(self, catalog):
        with pytest.raises(CommandError, match="expected columns user, sku, kind, timestamp"):
            run(FIXTURES / "events_wrong_header.csv")
        with pytest.raises(CommandError, match="file not found"):
            run(FIXTURES / "missing.csv")
        with pytest.raises(CommandError, match="unknown format"):
            run(FIXTURES / "events.csv", "--format", "json")
        assert not Interaction.objects.exists()

    def test_lookups_are_batched(self, catalog, tmp_path, django_assert_max_num_queries):
        """Hundreds of rows cost a handful of queries, not one per row."""
        path = tmp_path / "many.csv"
        skus = ("MUG-1", "LAMP-1", "BOOK-1")
        rows = [
            f"user{i % 50},{skus[i % 3]},view,2024-01-01T10:00:{i / 1000:06.3f}" for i in range(600)
        ]
        path.write_text("user,sku,kind,timestamp\n" + "\n".join(rows) + "\n")
        with django_assert_max_num_queries(40):
            out = run(path, "--create-users")
        assert "imported: 600" in out
        assert User.objects.count() == 50


def _retail_rows() -> list[dict[str, str]]:
    with open(FIXTURES / "online_retail_small.csv") as f:
        return list(csv.DictReader(f))


class TestOnlineRetail:
    def test_purchases_from_the_sample(self):
        out = run(
            FIXTURES / "online_retail_small.csv", "--format", "online-retail", "--create-users"
        )
        rows = _retail_rows()
        kept = [
            r
            for r in rows
            if not r["InvoiceNo"].startswith("C")
            and r["CustomerID"]
            and r["StockCode"] not in RETAIL_FEE_CODES
        ]
        distinct = {tuple(r.values()) for r in kept}
        assert len(kept) == 26 and len(distinct) == 25  # one row appears twice in the source
        assert "imported: 25" in out and "bad: 0" in out
        for reason in ("cancellation 2", "no CustomerID 3", "fee or postage 2"):
            assert reason in out
        assert "duplicate in file 1" in out
        assert Interaction.objects.filter(kind="purchase").count() == 25
        assert set(User.objects.values_list("username", flat=True)) == {
            f"retail-{r['CustomerID']}" for r in kept
        }
        row = Interaction.objects.get(basket="536373", product__sku="82483")
        assert (row.user.username, row.quantity) == ("retail-17850", 2)
        assert row.created == datetime(2010, 12, 1, 9, 2, tzinfo=UTC)
        lantern = Product.objects.get(sku="71053")  # auto-created from the row
        assert (lantern.name, lantern.category.name) == ("White Metal Lantern", "Candles & lights")
        # cancelled and anonymous rows create no products
        assert not Product.objects.filter(sku__in=["22631", "22549"]).exists()

    def test_second_run_adds_nothing_and_existing_products_are_kept(self):
        ProductFactory(sku="71053", name="Our own lantern")
        run(FIXTURES / "online_retail_small.csv", "--format", "online-retail", "--create-users")
        products = Product.objects.count()
        out = run(FIXTURES / "online_retail_small.csv", "--format", "online-retail")
        assert "imported: 0" in out and "already imported 25" in out
        assert Interaction.objects.count() == 25 and Product.objects.count() == products
        assert Product.objects.get(sku="71053").name == "Our own lantern"

    def test_bad_quantity_and_date(self, tmp_path):
        path = tmp_path / "retail.csv"
        header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
        path.write_text(
            f"{header}\n"
            "1,X1,RED MUG,2,2011-01-01 10:00:00,1.0,12345.0,UK\n"
            "2,X1,RED MUG,-2,2011-01-01 10:00:00,1.0,12345,UK\n"
            "3,X1,RED MUG,2,someday,1.0,12345,UK\n"
        )
        out = run(path, "--format", "online-retail", "--create-users")
        assert "imported: 1" in out and "bad: 2" in out
        assert "line 3: quantity '-2' must be >= 1" in out
        assert "line 4: timestamp 'someday' is not ISO 8601" in out
        assert User.objects.get().username == "retail-12345"  # "12345.0" normalised


class TestDiginetica:
    def test_sessions_become_anonymous_shoppers(self):
        out = run(FIXTURES / "diginetica_small.csv", "--format", "diginetica")
        assert "imported: 34" in out
        assert Interaction.objects.filter(user__isnull=False).count() == 0
        assert set(Interaction.objects.values_list("kind", flat=True)) == {"view"}
        sessions = set(Interaction.objects.values_list("anonymous_id", flat=True))
        assert len(sessions) == 7 and "dgn-1" in sessions
        first = Interaction.objects.get(anonymous_id="dgn-1", product__sku="DGN-81766")
        # eventdate 2016-05-09 + timeframe 526309 ms
        assert first.created == datetime(2016, 5, 9, 0, 8, 46, 309000, tzinfo=UTC)
        assert Product.objects.get(sku="DGN-81766").name == "Item 81766"
        assert Product.objects.count() == 27
        assert "imported: 0" in run(FIXTURES / "diginetica_small.csv", "--format", "diginetica")

    def test_wrong_header_writes_nothing(self):
        with pytest.raises(CommandError, match="session_id, user_id, item_id"):
            run(FIXTURES / "online_retail_small.csv", "--format", "diginetica")
        assert not Interaction.objects.exists() and not Product.objects.exists()


@pytest.mark.slow
def test_full_shared_datasets(shared_datasets):
    """The real files; counts as in ../shared/datasets/README.md."""
    out = run(shared_datasets / "diginetica_sample.csv.gz", "--format", "diginetica")
    assert "bad: 0" in out
    # the file's last line has no newline: every row is counted, read and imported
    assert "rows read: 12,391/12,391 (100%)" in out and "imported: 12391" in out
    views = Interaction.objects.filter(kind="view", source="import:diginetica")
    assert views.count() == 12391  # 12,391 views (no exact duplicates in the file)
    assert views.values("anonymous_id").distinct().count() == 2986  # 2,986 sessions
    assert views.values("product").distinct().count() == 7139  # 7,139 items

    out = run(
        shared_datasets / "online_retail_sample.csv.gz",
        "--format",
        "online-retail",
        "--create-users",
    )
    assert "bad: 0" in out
    with gzip.open(shared_datasets / "online_retail_sample.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40000
    assert len({r["InvoiceNo"] for r in rows}) == 13199
    kept = [
        r
        for r in rows
        if not r["InvoiceNo"].startswith("C")
        and r["CustomerID"]
        and r["StockCode"] not in RETAIL_FEE_CODES
    ]
    purchases = Interaction.objects.filter(kind="purchase")
    assert purchases.count() == len({tuple(r.values()) for r in kept})  # minus exact dup rows
    customers = {r["CustomerID"] for r in kept}
    assert purchases.values("user").distinct().count() == len(customers) <= 3621
    assert purchases.values("basket").distinct().count() == len({r["InvoiceNo"] for r in kept})

    second = run(shared_datasets / "online_retail_sample.csv.gz", "--format", "online-retail")
    assert "imported: 0" in second


class TestBadValuesAreBadRows:
    def test_out_of_range_quantity_is_reported_by_line(self, catalog, tmp_path):
        path = tmp_path / "huge.csv"
        path.write_text(
            "user,sku,kind,timestamp,quantity\n"
            "ann,MUG-1,purchase,2024-01-01T10:00:00,2\n"
            "ann,MUG-1,purchase,2024-01-01T11:00:00,99999999999\n"
        )
        out = run(path, "--create-users")
        assert "imported: 1" in out
        assert "line 3: quantity '99999999999' is too large" in out
        assert list(Interaction.objects.values_list("quantity", flat=True)) == [2]

    def test_out_of_range_retail_quantity_and_timeframe(self, tmp_path):
        retail = tmp_path / "retail.csv"
        header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
        retail.write_text(f"{header}\n1,X1,RED MUG,99999999999,2011-01-01 10:00,1.0,12345,UK\n")
        assert "line 2: quantity '99999999999' is too large" in run(
            retail, "--format", "online-retail", "--create-users"
        )
        digi = tmp_path / "digi.csv"
        digi.write_text(
            "session_id;user_id;item_id;timeframe;eventdate\n"
            "1;;81766;99999999999999999999;2016-05-09\n"
            f"{'9' * 50};;81766;1;2016-05-09\n"
        )
        out = run(digi, "--format", "diginetica")
        assert "line 2: timeframe '99999999999999999999' is too large" in out
        assert "line 3: session_id" in out and "is too long" in out
        assert not Interaction.objects.exists()

    def test_latin1_file_error_names_the_line(self, catalog, tmp_path):
        path = tmp_path / "latin1.csv"
        path.write_bytes(
            b"user,sku,kind,timestamp\n"
            b"ann,MUG-1,view,2024-01-01T10:00:00\n"
            b"Ren\xe9,MUG-1,view,2024-01-01T10:00:00\n"
        )
        with pytest.raises(CommandError, match="line 3 is not UTF-8"):
            run(path)
        assert not Interaction.objects.exists()


class TestUnknownUsers:
    """events_unknown_users.csv: alice exists; 7 others (uma twice) do not."""

    def test_reported_by_line_and_not_created(self, catalog):
        UserFactory(username="alice")
        out = run(FIXTURES / "events_unknown_users.csv")
        assert "imported: 2" in out and "bad: 8" in out
        assert (
            "unknown users: 7, not created, their rows are bad (--create-users creates them): "
            "uma (line 3), vic (line 4), wes (line 6), xia (line 8), yan (line 9) and 2 more"
        ) in out
        for line, name in ((3, "uma"), (7, "uma"), (11, "abe")):
            assert f"line {line}: unknown user '{name}'" in out
        assert list(User.objects.values_list("username", flat=True)) == ["alice"]
        assert set(Interaction.objects.values_list("user__username", flat=True)) == {"alice"}

    def test_strict_stops_at_the_first_unknown_user(self, catalog):
        UserFactory(username="alice")
        with pytest.raises(CommandError, match="line 3: unknown user 'uma'.*--strict"):
            run(FIXTURES / "events_unknown_users.csv", "--strict")
        assert not Interaction.objects.exists() and User.objects.count() == 1

    def test_created_with_create_users(self, catalog):
        UserFactory(username="alice")
        out = run(FIXTURES / "events_unknown_users.csv", "--create-users")
        assert "imported: 10" in out and "bad: 0" in out
        assert "unknown users: 7, created: uma (line 3), vic (line 4)" in out
        assert User.objects.count() == 8
        assert not User.objects.get(username="abe").has_usable_password()


class TestLineNumbersAndTotals:
    def test_rows_spanning_lines_and_no_final_newline(self, catalog):
        """events_multiline.csv: quoted baskets span lines 2-3 and 5-6 (a bad row);
        the last line (8, a bad row) has no newline."""
        out = run(FIXTURES / "events_multiline.csv", "--create-users")
        assert "rows read: 5/5 (100%)" in out and "rows read: 5\n" in out
        assert "imported: 3" in out and "bad: 2" in out
        assert "line 5: kind 'like' is not one of" in out
        assert "line 8: timestamp 'yesterday' is not ISO 8601" in out
        assert Interaction.objects.get(kind="cart").basket == "gift\nfor mum"
        with pytest.raises(CommandError, match="line 5: kind 'like'"):
            run(FIXTURES / "events_multiline.csv", "--create-users", "--strict")

    @pytest.mark.parametrize(
        "fmt, header, good, bad, error",
        [
            (
                "csv",
                "user,sku,kind,timestamp,basket",
                'ann,MUG-1,view,2024-01-01,"b\n1"',
                'ann,MUG-1,view,someday,"b\n2"',
                "timestamp 'someday'",
            ),
            (
                "online-retail",
                "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID",
                '1,X1,"RED\nMUG",1,2011-01-01 10:00,1.0,12345',
                '2,X1,"RED\nMUG",1,someday,1.0,12345',
                "timestamp 'someday'",
            ),
            (
                "diginetica",
                "session_id;user_id;item_id;timeframe;eventdate",
                '1;"N\nA";81766;1;2016-05-09',
                '1;"N\nA";81766;1;someday',
                "eventdate 'someday'",
            ),
        ],
    )
    def test_every_format(self, catalog, tmp_path, fmt, header, good, bad, error):
        """Header on line 1, two-line rows on 2-3, 4-5 (bad) and 6-7, no final newline."""
        path = tmp_path / "events.csv"
        path.write_text(f"{header}\n{good}\n{bad}\n{good}")  # the last is a duplicate
        out = run(path, "--format", fmt, "--create-users")
        assert "rows read: 3/3 (100%)" in out and "bad: 1" in out
        assert f"line 4: {error}" in out
