"""``manage.py import_events FILE [--format csv|online-retail|diginetica] [--strict]
[--create-users]``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.progress import Progress
from recommendations.event_import import SPECS, import_events
from shop.catalog_import import FORMATS, ImportFileError, count_rows


class Command(BaseCommand):
    help = (
        "Import behaviour events from a .csv or .csv.gz file in one transaction. csv "
        "columns: user,sku,kind(view|cart|purchase),timestamp (optional quantity,basket)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", default="csv", help=f"one of: {', '.join(FORMATS)}")
        parser.add_argument(
            "--strict", action="store_true", help="the first bad row aborts, nothing is written"
        )
        parser.add_argument(
            "--create-users",
            action="store_true",
            help="create the users the file names that do not exist (without it their "
            "rows are bad rows); they cannot log in until given a password",
        )

    def handle(self, *args, **options) -> None:
        fmt = options["format"]
        delimiter = SPECS[fmt][2] if fmt in SPECS else ","
        total = count_rows(Path(options["file"]), delimiter)  # None: the import says why
        try:
            with Progress("rows read", total, stream=self.stdout) as bar:
                report = import_events(
                    options["file"],
                    fmt=fmt,
                    strict=options["strict"],
                    progress=bar.update,
                    create_users=options["create_users"],
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary():
            self.stdout.write(line)
