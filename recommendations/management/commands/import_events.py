"""``manage.py import_events FILE [--format csv|online-retail|diginetica] [--strict]``."""

import gzip
from contextlib import suppress
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.progress import Progress, count_lines
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
        path = Path(options["file"])
        total = None
        if path.is_file():  # else the importer says the file is missing
            opener = gzip.open if path.name.endswith(".gz") else open
            with suppress(OSError, EOFError):  # unreadable: the importer reports it
                total = max(count_lines(str(path), opener) - 1, 0)  # less the header
        try:
            with Progress("events read", total, stream=self.stdout) as bar:
                report = import_events(
                    options["file"],
                    fmt=options["format"],
                    strict=options["strict"],
                    progress=bar.update,
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary():
            self.stdout.write(line)
