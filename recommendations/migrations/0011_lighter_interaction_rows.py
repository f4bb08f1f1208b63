# Lighter event rows (models.Interaction's comment says why): the shopper indexes and the
# client-event-id uniqueness become partial, and user and model_version lose their
# per-row foreign-key checks (Django still cascades). Rebuilds three indexes: event
# writes wait while it runs (about half a second per million events here).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0010_hash_legacy_artifacts"),
        ("shop", "0005_product_search_vector"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="interaction",
            name="interaction_sender_event_id",
        ),
        migrations.RemoveIndex(
            model_name="interaction",
            name="interaction_user_recent",
        ),
        migrations.RemoveIndex(
            model_name="interaction",
            name="interaction_anon_recent",
        ),
        migrations.AlterField(
            model_name="interaction",
            name="model_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="recommendations.modelversion",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="interactions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("user__isnull", False)),
                fields=["user", "-created"],
                name="interaction_user_recent",
            ),
        ),
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("anonymous_id__gt", "")),
                fields=["anonymous_id", "-created"],
                name="interaction_anon_recent",
            ),
        ),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(("client_event_id__isnull", False)),
                fields=("sender", "client_event_id"),
                name="interaction_sender_event_id",
            ),
        ),
    ]
