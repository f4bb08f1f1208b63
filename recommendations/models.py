"""Behaviour log, model registry and precomputed lists."""

from collections.abc import Iterable

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


def _shopper_indexes(table: str) -> list[models.Index]:
    """A shopper's rows, newest first: a user's, or a guest's (partial: each index holds
    only the rows it can find)."""
    return [
        models.Index(
            fields=["user", "-created"],
            name=f"{table}_user_recent",
            condition=Q(user__isnull=False),
        ),
        models.Index(
            fields=["anonymous_id", "-created"],
            name=f"{table}_anon_recent",
            condition=Q(anonymous_id__gt=""),
        ),
    ]


def _unique_client_ids(table: str) -> models.UniqueConstraint:
    """A sender's client_event_id once (partial: rows without one never conflict)."""
    return models.UniqueConstraint(
        fields=["sender", "client_event_id"],
        name=f"{table}_sender_event_id",
        condition=Q(client_event_id__isnull=False),
    )


class ShopperRow(models.Model):
    """What the behaviour log's two tables share: whose row, when, which widget and
    version it concerns, and the key that makes a client's resend a duplicate.

    Every index and every foreign-key check costs each insert (events arrive in batches
    of up to 1,000, lists with every page), so user and model_version are not checked
    per row by the database: the shop, the serving path, the API and the importers
    resolve both first, and Django still cascades (a deleted user's rows go, a deleted
    version's become NULL; rows still queued in a web process when their user is deleted
    stay behind). The two checks took a third of a row's insert (7 of 20 us), locking
    the same version row from every writer.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # user leads the partial shopper index
        db_constraint=False,
    )
    # A guest's random shopper id (shop.shoppers); never a session key, which is a
    # credential. Blank for signed-in shoppers, who are identified by user only.
    anonymous_id = models.CharField(max_length=32, blank=True, default="")
    created = models.DateTimeField(db_index=True)
    # Where it came from: "rec:<widget>:v<id>" for recommendations, or an import name.
    source = models.CharField(max_length=100, blank=True, default="")
    # The version that served the recommendation, for click-through per version.
    model_version = models.ForeignKey(
        "ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Set by clients and importers so that sending the same event twice stores it once.
    client_event_id = models.CharField(max_length=128, null=True, blank=True)
    # Who sent the event, the scope of client_event_id: "user:<pk>" (the API caller: the
    # shopper, or the staff token's owner for server-to-server batches), "guest:<id>",
    # "shop" (the shop's own purchase rows) or "import". One sender cannot suppress
    # another's events by reusing their ids. Blank on rows without a client_event_id.
    # A database default too: raw COPY loaders (seed_demo, impressions) leave it out.
    sender = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        abstract = True
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.user_id and f"user {self.user_id}" or f"guest {self.anonymous_id[:8]}"


class Interaction(ShopperRow):
    """One thing a shopper did with a product. Append-only.

    No index that another covers: user leads the shopper index, model_version the
    composite one, and (sender, client_event_id) is unique by a constraint, which needs
    no index beside. The product keeps its foreign-key check.
    """

    class Kind(models.TextChoices):
        VIEW = "view", "View"
        CART = "cart", "Add to cart"
        PURCHASE = "purchase", "Purchase"
        CLICK = "click", "Recommendation clicked"
        NOT_INTERESTED = "not_interested", "Not interested"

    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # When the row was stored (the ingestion watermark of the 15-minute refresh), whatever
    # ``created`` says: imported and backdated events carry old ``created`` times.
    # A database default, so raw COPY loaders (seed_demo) and bulk inserts get it too.
    ingested = models.DateTimeField(db_default=Now(), db_index=True, editable=False)
    quantity = models.PositiveIntegerField(default=1)
    # Groups purchases into baskets ("bought together"): an order id or an invoice no.
    basket = models.CharField(max_length=64, blank=True, default="")

    class Meta(ShopperRow.Meta):
        indexes = [
            *_shopper_indexes("interaction"),
            models.Index(fields=["kind", "created"], name="interaction_kind_since"),
            models.Index(fields=["model_version", "kind"], name="interaction_version_kind"),
        ]
        constraints = [_unique_client_ids("interaction")]

    def __str__(self) -> str:
        return f"{super().__str__()} {self.kind} {self.product_id}"


class Impression(ShopperRow):
    """One list of recommendations a shopper was shown: a widget on a page, or an API
    answer. Append-only; click-through counts the products shown (``size``).

    One row per list, not per product: lists are most of what the shop logs, and an
    insert costs per row and per index entry (a tenth of the rows of ten-item lists).
    Product ids are kept as shown, also after a product is deleted: what was shown
    stays counted. An impression an API client sends is a list of one.
    """

    product_ids = models.JSONField(default=list)  # in the order shown
    size = models.PositiveSmallIntegerField(default=0)  # len(product_ids), for sums

    class Meta(ShopperRow.Meta):
        indexes = _shopper_indexes("impression")
        constraints = [_unique_client_ids("impression")]

    def __str__(self) -> str:
        return f"{super().__str__()} shown {self.size} by {self.source or 'unknown'}"


class ModelVersion(models.Model):
    """One training run of one algorithm: what it saw, how it scored, where it lives."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        EVALUATED = "evaluated", "Evaluated"
        PRECOMPUTING = "precomputing", "Precomputing"
        ACTIVE = "active", "Active"
        # Serves an A/B test's share of shoppers beside the active version (ABTest).
        CHALLENGER = "challenger", "A/B challenger"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    algorithm = models.CharField(max_length=64, db_index=True)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRAINING, db_index=True
    )
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    n_events = models.PositiveIntegerField(default=0)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per stage")
    artifact_path = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True, help_text="Why it was skipped, failed or promoted")
    created = models.DateTimeField(auto_now_add=True)
    activated = models.DateTimeField(null=True, blank=True)
    # Events stored (Interaction.ingested) before this moment are folded into the lists
    # (see precompute.refresh_recent_users); None: since the version was created.
    refreshed = models.DateTimeField(null=True, blank=True)
    # Where a run working on this version is: {"stage", "done", "total", "detail", "at"}
    # (registry.set_progress; shown on the version's admin page).
    progress = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} #{self.pk} ({self.status})"

    # The one place a version's status and notes change (pipeline, precompute, registry).
    def add_note(self, text: str) -> None:
        """Append a line to the notes (saved by the caller)."""
        if text:
            self.notes = f"{self.notes}\n{text}".strip()

    def move_to(self, status: str, note: str = "", *, fields: Iterable[str] = ()) -> None:
        """Set the status, append ``note`` and save them together with ``fields``."""
        self.status = status
        self.add_note(note)
        self.save(update_fields=["status", "notes", *fields])


class UserRecommendations(models.Model):
    """The ranked list a version precomputed for one shopper (a user or a guest)."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="user_lists")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    anonymous_id = models.CharField(max_length=32, blank=True, default="")
    product_ids = models.JSONField(default=list)
    scores = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "user recommendation list"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user"],
                condition=Q(user__isnull=False),
                name="one_list_per_user",
            ),
            models.UniqueConstraint(
                fields=["version", "anonymous_id"],
                condition=Q(user__isnull=True),
                name="one_list_per_guest",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "version"]),
            models.Index(fields=["anonymous_id", "version"], name="reclist_guest_version"),
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} for {self.user_id or self.anonymous_id[:8]}"


class RelatedProducts(models.Model):
    """Products related to one product, by kind, as precomputed by a version."""

    class Kind(models.TextChoices):
        SIMILAR = "similar", "Similar"
        BOUGHT_TOGETHER = "bought_together", "Bought together"
        ALSO_VIEWED = "also_viewed", "Also viewed"

    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="related_lists"
    )
    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    product_ids = models.JSONField(default=list)
    scores = models.JSONField(default=list)

    class Meta:
        verbose_name = "related products list"
        verbose_name_plural = "related product lists"
        constraints = [
            models.UniqueConstraint(fields=["version", "product", "kind"], name="one_related_list")
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} {self.kind} for {self.product_id}"


class ABTest(models.Model):
    """A challenger version served to a share of shoppers beside the active one.

    Starting: the challenger's lists are being precomputed (nobody is served from it).
    Running: shoppers whose stable hash falls below ``share`` get the challenger
    (registry.in_challenger_arm). Stopped or promoted: over; a stopped challenger's
    lists are deleted, a promoted one became the active version. One test at a time.
    """

    class Status(models.TextChoices):
        STARTING = "starting", "Starting (precomputing the challenger)"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        PROMOTED = "promoted", "Challenger promoted"

    challenger = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="challenged_in"
    )
    # The active version when the test started (the control arm).
    control = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    share = models.FloatField(
        help_text="Share of shoppers served by the challenger (0 to 1)",
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.STARTING, db_index=True
    )
    started = models.DateTimeField(auto_now_add=True)
    running_since = models.DateTimeField(null=True, blank=True)
    stopped = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name = "A/B test"
        ordering = ["-started", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(share__gte=0.0) & Q(share__lte=1.0), name="abtest_share_0_1"
            )
        ]

    def __str__(self) -> str:
        return f"A/B test #{self.pk}: v{self.challenger_id} vs v{self.control_id} ({self.status})"

    @property
    def live(self) -> bool:
        """Starting or running."""
        return self.status in (self.Status.STARTING, self.Status.RUNNING)


class RunLock(models.Model):
    """A long job that must run once at a time (the pipeline): who holds it, until when.

    registry.locks takes it with one INSERT (the primary key refuses a second holder),
    replaces it once ``expires`` has passed (its holder died) and drops it when the run
    ends, or when its versions are failed as stale.
    """

    name = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=200)
    acquired = models.DateTimeField()
    expires = models.DateTimeField()
    # The versions of the run that holds it; finishing or failing them releases it.
    versions = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner} until {self.expires:%Y-%m-%d %H:%M}"
