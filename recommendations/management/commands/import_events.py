"""``manage.py import_events FILE [--format csv|online-retail|diginetica] [--strict]``."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.event_import import import_events
from shop.catalog_import import FORMATS, ImportFileError


class Command(BaseCommand):
    help = (
        "Import behaviour events from a .csv or .csv.gz file in one transaction. csv "
        "columns: user,sku,kind(view|cart|purchase),timestamp (optional quantity,basket)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", default="csv", help=f"one of: {', '.join(FORMATS)}")
        parser.add_argument("--strict", action="store_true", help="any bad row aborts")

    def handle(self, *args, **options) -> None:
        try:
            report = import_events(
                options["file"],
                fmt=options["format"],
                strict=options["strict"],
                progress=lambda n: self.stdout.write(f"... {n} events read"),
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary():
            self.stdout.write(line)
