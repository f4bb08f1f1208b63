"""manage.py import_catalog: our CSV layout, Online Retail and DIGINETICA files."""

from __future__ import annotations

import csv
import gzip
import shutil
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shop.catalog_import import DEFAULT_STOCK, retail_category
from shop.models import Category, Product
from shop.retail_format import RETAIL_FEE_CODES

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def run(path: Path | str, *args: str) -> str:
    out = StringIO()
    call_command("import_catalog", str(path), *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(Product.objects.order_by("sku").values_list("sku", "name", "slug", "price"))


class TestCsv:
    def test_good_file(self):
        out = run(FIXTURES / "catalog.csv")
        assert "imported: 4" in out and "bad: 0" in out
        mug1, mug2 = Product.objects.get(sku="MUG-1"), Product.objects.get(sku="MUG-2")
        expected = ("Enamel Mug", Decimal("9.50"), 12, "Acme")
        assert (mug1.name, mug1.price, mug1.stock, mug1.brand) == expected
        assert mug1.category.name == "Kitchen" and mug1.category.slug == "kitchen"
        assert (mug1.slug, mug2.slug) == ("enamel-mug", "enamel-mug-mug-2")
        assert mug2.stock == DEFAULT_STOCK  # empty stock
        lamp = Product.objects.get(sku="LAMP-1")
        assert lamp.description == "Multi-line\ndescription"
        assert lamp.category.slug == "home-decor"
        assert Product.objects.get(sku="BOOK-1").stock == 0
        assert Category.objects.count() == 3

    def test_second_run_adds_nothing(self):
        run(FIXTURES / "catalog.csv")
        before = snapshot()
        out = run(FIXTURES / "catalog.csv")
        assert "imported: 0" in out and "unchanged 4" in out
        assert snapshot() == before
        assert Category.objects.count() == 3

    def test_changed_rows_are_updated_and_keep_their_slug(self, tmp_path):
        run(FIXTURES / "catalog.csv")
        changed = tmp_path / "changed.csv"
        text = (
            (FIXTURES / "catalog.csv")
            .read_text()
            .replace("Enamel Mug,Kitchen,9.50", "Big Mug,Kitchen,11")
        )
        changed.write_text(text)
        out = run(changed)
        assert "imported: 0" in out and "updated: 1" in out
        mug = Product.objects.get(sku="MUG-1")
        assert (mug.name, mug.price, mug.slug) == ("Big Mug", Decimal("11.00"), "enamel-mug")

    def test_gzip_file(self, tmp_path):
        packed = tmp_path / "catalog.csv.gz"
        with open(FIXTURES / "catalog.csv", "rb") as src, gzip.open(packed, "wb") as dst:
            shutil.copyfileobj(src, dst)
        assert "imported: 4" in run(packed)

    def test_bad_rows_are_reported_by_line_and_the_rest_imported(self):
        out = run(FIXTURES / "catalog_bad_rows.csv")
        assert sorted(Product.objects.values_list("sku", flat=True)) == ["OK-1", "OK-2"]
        assert "imported: 2" in out and "bad: 8" in out
        for expected in (
            "line 3: missing sku",
            "line 4: missing name",
            "line 5: missing category",
            "line 6: price 'cheap' is not a number",
            "line 7: price '-1' must be a number >= 0",
            "line 8: stock 'lots' is not an integer",
            "line 9: stock '-3' must be >= 0",
            "line 10: duplicate sku 'OK-1' (first on line 2)",
        ):
            assert expected in out

    def test_strict_makes_a_bad_row_fatal_and_writes_nothing(self):
        with pytest.raises(CommandError, match="line 3: missing sku"):
            run(FIXTURES / "catalog_bad_rows.csv", "--strict")
        assert not Product.objects.exists() and not Category.objects.exists()

    def test_wrong_header_lists_the_expected_columns(self):
        with pytest.raises(CommandError, match="expected columns sku, name, category, price"):
            run(FIXTURES / "catalog_wrong_header.csv")
        assert not Product.objects.exists()

    def test_missing_file_and_unknown_format(self):
        with pytest.raises(CommandError, match="file not found"):
            run(FIXTURES / "nope.csv")
        with pytest.raises(CommandError, match="unknown format 'xml'"):
            run(FIXTURES / "catalog.csv", "--format", "xml")
        assert not Product.objects.exists()

    def test_unreadable_files(self, tmp_path):
        fake_gz = tmp_path / "catalog.csv.gz"
        fake_gz.write_text("sku,name\n")  # not gzip data
        latin1 = tmp_path / "latin1.csv"
        latin1.write_bytes(b"sku,name,category,price,description\nX,Caf\xe9,Food,1,\n")
        for path in (fake_gz, latin1):
            with pytest.raises(CommandError, match="cannot read"):
                run(path)
        assert not Product.objects.exists()

    def test_error_after_rows_were_read_rolls_everything_back(self, tmp_path):
        """A fatal error late in the file (after good rows) leaves nothing behind."""
        path = tmp_path / "late.csv"
        good = "".join(f"S-{i},Thing {i},Things,1.00,\n" for i in range(50))
        path.write_text("sku,name,category,price,description\n" + good + "S-X,Bad,Things,no,\n")
        with pytest.raises(CommandError, match="line 52"):
            run(path, "--strict")
        assert not Product.objects.exists() and not Category.objects.exists()

    def test_existing_slugs_and_category_names_are_respected(self):
        Category.objects.create(name="kitchen", slug="kitchen")
        other = Product.objects.create(
            sku="OTHER", name="x", slug="enamel-mug", price=1, category=Category.objects.get()
        )
        run(FIXTURES / "catalog.csv")
        assert Product.objects.get(sku="MUG-1").slug == "enamel-mug-mug-1"
        assert Product.objects.get(sku="MUG-1").category.name == "kitchen"  # same slug
        assert Product.objects.get(pk=other.pk).slug == "enamel-mug"


class TestOnlineRetail:
    def test_products_from_the_sample(self):
        out = run(FIXTURES / "online_retail_small.csv", "--format", "online-retail")
        lantern = Product.objects.get(sku="71053")
        assert lantern.name == "White Metal Lantern"
        assert lantern.price == Decimal("3.39")
        assert lantern.category.name == "Candles & lights"
        assert Product.objects.get(sku="84029E").category.name == "Gifts"  # no keyword
        assert not Product.objects.filter(sku__in=RETAIL_FEE_CODES).exists()
        assert "fee or postage 2" in out and "bad: 0" in out
        with open(FIXTURES / "online_retail_small.csv") as f:
            codes = {r["StockCode"] for r in csv.DictReader(f)} - RETAIL_FEE_CODES
        assert set(Product.objects.values_list("sku", flat=True)) == codes
        assert "unchanged" in run(FIXTURES / "online_retail_small.csv", "--format", "online-retail")
        assert Product.objects.count() == len(codes)

    def test_price_is_the_median_positive_unit_price(self, tmp_path):
        path = tmp_path / "retail.csv"
        header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
        seen = [("RED MUG", "1.00"), ("RED MUG", "3.00"), ("red mug ", "2.50"), ("", "0")]
        rows = [f"1,X1,{d},1,2011-01-01 10:00:00,{p},1,UK" for d, p in seen]
        path.write_text("\n".join([header, *rows]) + "\n")
        run(path, "--format", "online-retail")
        product = Product.objects.get()
        assert (product.name, product.price) == ("Red Mug", Decimal("2.50"))
        assert product.category.name == "Kitchen & dining"

    def test_wrong_header(self):
        with pytest.raises(CommandError, match="StockCode"):
            run(FIXTURES / "catalog.csv", "--format", "online-retail")

    @pytest.mark.parametrize(
        ("description", "category"),
        [
            ("CHRISTMAS TREE T-LIGHT HOLDER", "Candles & lights"),
            ("PAPER CHAIN KIT 50'S CHRISTMAS ", "Christmas"),
            ("JUMBO BAG RED RETROSPOT", "Bags & purses"),
            ("SET OF 3 CAKE TINS PANTRY DESIGN", "Kitchen & dining"),
            ("WHITE HANGING HEART", "Gifts"),
        ],
    )
    def test_category_keyword(self, description, category):
        assert retail_category(description) == category


class TestDiginetica:
    def test_items_become_placeholder_products(self):
        out = run(FIXTURES / "diginetica_small.csv", "--format", "diginetica")
        assert "imported: 27" in out
        product = Product.objects.get(sku="DGN-81766")
        assert (product.name, product.category.name) == ("Item 81766", "Catalogue")
        assert "imported: 0" in run(FIXTURES / "diginetica_small.csv", "--format", "diginetica")

    def test_wrong_header(self):
        with pytest.raises(CommandError, match="item_id"):
            run(FIXTURES / "catalog.csv", "--format", "diginetica")


@pytest.mark.slow
def test_full_shared_datasets(shared_datasets):
    """The real files: counts as in ../shared/datasets/README.md."""
    out = run(shared_datasets / "diginetica_sample.csv.gz", "--format", "diginetica")
    assert "imported: 7139" in out  # 7,139 items
    out = run(shared_datasets / "online_retail_sample.csv.gz", "--format", "online-retail")
    retail = Product.objects.exclude(sku__startswith="DGN-")
    # 3,227 stock codes, minus fee codes and codes that never had a description
    with gzip.open(shared_datasets / "online_retail_sample.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    assert len({r["StockCode"] for r in rows}) == 3227
    described = {r["StockCode"] for r in rows if r["Description"].strip()} - RETAIL_FEE_CODES
    assert retail.count() == len(described) > 3100
    assert "bad: 0" in out
    assert not retail.filter(sku__in=RETAIL_FEE_CODES).exists()
    assert retail.filter(category__name="Gifts").count() < retail.count() / 2


class TestReimportKeepsWhatTheFileDoesNotSay:
    HEADER = "sku,name,category,price,description"

    def test_stock_and_brand_stay_unless_given(self, tmp_path):
        run(FIXTURES / "catalog.csv")
        Product.objects.filter(sku="MUG-1").update(stock=3)
        path = tmp_path / "prices.csv"
        path.write_text(f"{self.HEADER}\nMUG-1,Enamel Mug,Kitchen,10.00,New text\n")
        assert "updated: 1" in run(path)
        mug = Product.objects.get(sku="MUG-1")
        assert (mug.price, mug.description) == (Decimal("10.00"), "New text")
        assert (mug.stock, mug.brand) == (3, "Acme")  # no stock or brand column: kept

    def test_an_empty_stock_cell_keeps_stock_and_a_given_one_sets_it(self, tmp_path):
        run(FIXTURES / "catalog.csv")
        Product.objects.filter(sku="MUG-1").update(stock=3)
        path = tmp_path / "stock.csv"
        path.write_text(
            f"{self.HEADER},brand,stock\n"
            "MUG-1,Enamel Mug,Kitchen,9.50,,Acme,\n"
            "BOOK-1,Book,Books,5,,,7\n"
        )
        run(path)
        assert Product.objects.get(sku="MUG-1").stock == 3
        assert Product.objects.get(sku="BOOK-1").stock == 7

    def test_diginetica_ids_leave_existing_products_alone(self, tmp_path):
        product = Product.objects.create(
            sku="DGN-81766", name="Real name", slug="real", price=Decimal("4"), stock=2,
            category=Category.objects.create(name="Mine", slug="mine"),
        )  # fmt: skip
        run(FIXTURES / "diginetica_small.csv", "--format", "diginetica")
        after = Product.objects.get(pk=product.pk)
        assert (after.name, after.price, after.stock, after.category.slug) == (
            "Real name",
            Decimal("4.00"),
            2,
            "mine",
        )


class TestBadValuesAreBadRows:
    def test_out_of_range_stock_is_reported_by_line(self, tmp_path):
        path = tmp_path / "huge.csv"
        path.write_text(
            "sku,name,category,price,description,stock\n"
            "OK-1,Fine,Things,1,,5\n"
            "BIG-1,Huge,Things,1,,99999999999\n"
        )
        out = run(path)
        assert "line 3: stock '99999999999' is too large" in out
        assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]
        with pytest.raises(CommandError, match="line 3: stock '99999999999' is too large"):
            run(path, "--strict")

    def test_latin1_file_error_names_the_line_and_writes_nothing(self, tmp_path):
        path = tmp_path / "latin1.csv"
        path.write_bytes(
            b"sku,name,category,price,description\nA-1,Tea,Food,1,\nA-2,Caf\xe9 au lait,Food,1,\n"
        )
        with pytest.raises(CommandError, match=r"line 3 is not UTF-8") as info:
            run(path)
        assert "position" not in str(info.value)  # a line, not a byte offset
        assert not Product.objects.exists()

    def test_nul_character_is_a_clear_error(self, tmp_path):
        path = tmp_path / "nul.csv"
        path.write_bytes(b"sku,name,category,price,description\nA-1,T\x00ea,Food,1,\n")
        with pytest.raises(CommandError, match="line 2 contains a NUL"):
            run(path)
        assert not Product.objects.exists()


class TestLineNumbersAndTotals:
    def test_rows_spanning_lines_and_no_final_newline(self):
        """catalog_multiline.csv: descriptions span lines 2-4 and 5-6 (a bad price); the
        last line (8, no sku) has no newline."""
        out = run(FIXTURES / "catalog_multiline.csv")
        assert "rows read: 4/4 (100%)" in out and "rows read: 4\n" in out
        assert "imported: 2" in out and "bad: 2" in out
        assert "line 5: price 'cheap' is not a number" in out
        assert "line 8: missing sku" in out
        assert Product.objects.get(sku="MUG-1").description == "A mug\n\nthat spans lines"
        with pytest.raises(CommandError, match="line 5: price 'cheap'"):
            run(FIXTURES / "catalog_multiline.csv", "--strict")
        assert Product.objects.count() == 2  # from the first run only

    @pytest.mark.parametrize(
        "fmt, header, good, bad, error",
        [
            (
                "online-retail",
                "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID",
                '1,X1,"RED\nMUG",1,2011-01-01 10:00,1.0,12345',
                '2,X2,"RED\nMUG",1,2011-01-01 10:00,cheap,12345',
                "UnitPrice 'cheap' is not a number",
            ),
            (
                "diginetica",
                "session_id;user_id;item_id;timeframe;eventdate",
                '1;"N\nA";81766;1;2016-05-09',
                '1;"N\nA";x1;1;2016-05-09',
                "item_id 'x1' is not a number",
            ),
        ],
    )
    def test_every_format(self, tmp_path, fmt, header, good, bad, error):
        """Header on line 1, two-line rows on 2-3, 4-5 (bad) and 6-7, no final newline."""
        path = tmp_path / "catalog.csv"
        path.write_text(f"{header}\n{good}\n{bad}\n{good}")
        out = run(path, "--format", fmt)
        assert "rows read: 3/3 (100%)" in out and "bad: 1" in out
        assert f"line 4: {error}" in out
