"""Online results per model version and widget: `manage.py recommendation_report --since 7d`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from recommendations import online


class Command(BaseCommand):
    help = (
        "Impressions, clicks, click-through, attributed orders and revenue per model version "
        "and per widget since a span ago (7d, 24h, 30m), each rate with a 95% interval."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", default="7d", help="How far back: 7d, 24h or 30m.")

    def handle(self, *args, since="7d", **options) -> None:
        try:
            span = online.parse_span(since)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        start = timezone.now() - span
        versions, widgets = online.online_results(start)
        days = online.attribution_window().total_seconds() / 86400
        self.stdout.write(
            f"Online results since {start:%Y-%m-%d %H:%M} UTC ({since}); orders attributed to "
            f"a widget click on the product within {days:g} days before the order."
        )
        if not versions:
            self.stdout.write("No impressions, clicks or attributed orders in that span.")
            return
        self.stdout.write("\nPer model version")
        self.stdout.write(online.text_table(versions))
        self.stdout.write("\nPer model version and widget")
        self.stdout.write(online.text_table(widgets))
