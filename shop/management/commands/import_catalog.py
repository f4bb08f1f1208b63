"""``manage.py import_catalog FILE [--format csv|online-retail|diginetica] [--strict]``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.progress import Progress
from shop.catalog_import import DELIMITERS, FORMATS, ImportFileError, count_rows, import_catalog


class Command(BaseCommand):
    help = (
        "Import products from a .csv or .csv.gz file in one transaction. csv columns: "
        "sku,name,category,price,description (optional brand,stock)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", default="csv", help=f"one of: {', '.join(FORMATS)}")
        parser.add_argument(
            "--strict", action="store_true", help="the first bad row aborts, nothing is written"
        )

    def handle(self, *args, **options) -> None:
        fmt = options["format"]
        total = count_rows(Path(options["file"]), DELIMITERS.get(fmt, ","))
        try:
            with Progress("rows read", total, stream=self.stdout) as bar:
                report = import_catalog(
                    options["file"], fmt=fmt, strict=options["strict"], progress=bar.update
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary():
            self.stdout.write(line)
