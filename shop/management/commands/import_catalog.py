"""``manage.py import_catalog FILE [--format csv|online-retail|diginetica] [--strict]``."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop.catalog_import import FORMATS, ImportFileError, import_catalog


class Command(BaseCommand):
    help = (
        "Import products from a .csv or .csv.gz file in one transaction. csv columns: "
        "sku,name,category,price,description (optional brand,stock)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", default="csv", help=f"one of: {', '.join(FORMATS)}")
        parser.add_argument("--strict", action="store_true", help="any bad row aborts")

    def handle(self, *args, **options) -> None:
        try:
            report = import_catalog(
                options["file"],
                fmt=options["format"],
                strict=options["strict"],
                progress=lambda n: self.stdout.write(f"... {n} rows read"),
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary():
            self.stdout.write(line)
