"""Export the active version's per-shopper lists as CSV: `manage.py export_recommendations`."""

from __future__ import annotations

import csv

from django.core.management.base import BaseCommand, CommandError

from config.progress import Progress
from recommendations.models import UserRecommendations
from recommendations.registry import active_version
from shop.models import Product


class Command(BaseCommand):
    help = (
        "Write user,rank,sku,score,reason rows of the active version (CSV, streamed). "
        "user is the username, or the anonymous shopper id of a guest."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="At most N shoppers.")
        parser.add_argument("--output", default="-", help="File to write (default stdout).")

    def handle(self, *args, limit=None, output="-", **options) -> None:
        if limit is not None and limit < 0:
            raise CommandError("--limit must be positive")
        version = active_version()
        if version is None:
            raise CommandError("No active model version: run train_recommender first.")
        skus = dict(Product.objects.order_by().values_list("id", "sku"))
        rows = (
            UserRecommendations.objects.filter(version=version)
            .order_by("pk")
            .values_list("user__username", "anonymous_id", "product_ids", "scores", "reasons")
        )
        if limit is not None:
            rows = rows[:limit]
        try:
            fh = None if output == "-" else open(output, "w", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc}") from None
        # Progress goes to stderr: stdout may be the CSV itself.
        bar = Progress("shoppers exported", rows.count(), stream=self.stderr)
        try:
            writer = csv.writer(self.stdout if fh is None else fh)
            writer.writerow(["user", "rank", "sku", "score", "reason"])
            rows = rows.iterator(chunk_size=2000)
            for done, (username, anonymous_id, ids, scores, reasons) in enumerate(rows, 1):
                who = username or anonymous_id  # joins back to the imported or signed-up name
                for rank, pid in enumerate(ids, start=1):
                    score = scores[rank - 1] if rank <= len(scores) else ""
                    reason = reasons[rank - 1] if rank <= len(reasons) else ""
                    writer.writerow([who, rank, skus.get(pid, ""), score, reason])
                bar.update(done)
            bar.close()
        finally:
            if fh is not None:
                fh.close()
        if output != "-":
            self.stderr.write(f"Wrote {output}")
