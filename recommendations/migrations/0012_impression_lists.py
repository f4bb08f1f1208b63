# Impressions become one row per list shown (models.Impression says why). The per-product
# impression rows of Interaction move over: the rows of one list (same shopper, version,
# source and moment, written by one page) become one list in id order; a row an API
# client sent (with its own client_event_id) becomes a list of one. About a second per
# million rows on PostgreSQL here; event writes wait meanwhile.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GROUP = (
    "user_id",
    "anonymous_id",
    "model_version_id",
    "source",
    "created",
    "sender",
    "client_event_id",
)


def move_impressions(apps, schema_editor):
    Interaction = apps.get_model("recommendations", "Interaction")
    Impression = apps.get_model("recommendations", "Impression")
    old = Interaction.objects.filter(kind="impression")
    if schema_editor.connection.vendor == "postgresql":
        quote = schema_editor.quote_name
        group = ", ".join(quote(column) for column in GROUP)
        source_table = quote(Interaction._meta.db_table)
        schema_editor.execute(
            f"INSERT INTO {quote(Impression._meta.db_table)} ({group}, product_ids, size) "
            f"SELECT {group}, jsonb_agg(product_id ORDER BY id), count(*) FROM {source_table} "
            f"WHERE kind = 'impression' GROUP BY {group}"
        )
        schema_editor.execute(f"DELETE FROM {source_table} WHERE kind = 'impression'")
        return
    lists = {}
    for row in old.order_by("pk").values(*GROUP, "product_id").iterator():
        key = tuple(row[column] for column in GROUP)
        lists.setdefault(key, []).append(row["product_id"])
    Impression.objects.bulk_create(
        [
            Impression(**dict(zip(GROUP, key, strict=True)), product_ids=ids, size=len(ids))
            for key, ids in lists.items()
        ],
        batch_size=1000,
    )
    old.delete()


def move_back(apps, schema_editor):
    Interaction = apps.get_model("recommendations", "Interaction")
    Impression = apps.get_model("recommendations", "Impression")
    rows = []
    for shown in Impression.objects.order_by("pk").iterator():
        for product_id in shown.product_ids:
            rows.append(
                Interaction(
                    **{column: getattr(shown, column) for column in GROUP},
                    product_id=product_id,
                    kind="impression",
                )
            )
    Interaction.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0011_lighter_interaction_rows"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Impression",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("anonymous_id", models.CharField(blank=True, default="", max_length=32)),
                ("source", models.CharField(blank=True, default="", max_length=100)),
                ("created", models.DateTimeField(db_index=True)),
                ("product_ids", models.JSONField(default=list)),
                ("size", models.PositiveSmallIntegerField(default=0)),
                ("client_event_id", models.CharField(blank=True, max_length=128, null=True)),
                ("sender", models.CharField(blank=True, db_default="", default="", max_length=40)),
                (
                    "model_version",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="recommendations.modelversion",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("user__isnull", False)),
                        fields=["user", "-created"],
                        name="impression_user_recent",
                    ),
                    models.Index(
                        condition=models.Q(("anonymous_id__gt", "")),
                        fields=["anonymous_id", "-created"],
                        name="impression_anon_recent",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("client_event_id__isnull", False)),
                        fields=("sender", "client_event_id"),
                        name="impression_sender_event_id",
                    )
                ],
            },
        ),
        migrations.RunPython(move_impressions, move_back),
        migrations.AlterField(
            model_name="interaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("view", "View"),
                    ("cart", "Add to cart"),
                    ("purchase", "Purchase"),
                    ("click", "Recommendation clicked"),
                    ("not_interested", "Not interested"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(  # no SQL: nothing used user.interactions
            model_name="interaction",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
