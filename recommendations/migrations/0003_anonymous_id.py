"""Replace stored session keys (credentials) with random anonymous shopper ids.

Each distinct guest session key becomes one fresh random id in both tables, so a
guest's events and precomputed list still belong together; signed-in shoppers'
rows keep only the user.
"""

import secrets

from django.db import migrations, models


def replace_session_keys(apps, schema_editor):
    Interaction = apps.get_model("recommendations", "Interaction")
    Lists = apps.get_model("recommendations", "UserRecommendations")
    Interaction.objects.exclude(user=None).exclude(anonymous_id="").update(anonymous_id="")
    Lists.objects.exclude(user=None).exclude(anonymous_id="").update(anonymous_id="")
    keys = set(Interaction.objects.exclude(anonymous_id="").values_list("anonymous_id", flat=True))
    keys |= set(Lists.objects.exclude(anonymous_id="").values_list("anonymous_id", flat=True))
    for key in keys:
        new = secrets.token_hex(16)
        Interaction.objects.filter(anonymous_id=key).update(anonymous_id=new)
        Lists.objects.filter(anonymous_id=key).update(anonymous_id=new)


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0002_modelversion_refreshed")]

    operations = [
        migrations.RemoveIndex("interaction", "interaction_session_recent"),
        migrations.RemoveIndex("userrecommendations", "recommendat_session_4af556_idx"),
        migrations.RemoveConstraint("userrecommendations", "one_list_per_session"),
        migrations.RenameField("interaction", "session_key", "anonymous_id"),
        migrations.RenameField("userrecommendations", "session_key", "anonymous_id"),
        migrations.RunPython(replace_session_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="interaction",
            name="anonymous_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AlterField(
            model_name="userrecommendations",
            name="anonymous_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddIndex(
            "interaction",
            models.Index(fields=["anonymous_id", "-created"], name="interaction_anon_recent"),
        ),
        migrations.AddIndex(
            "userrecommendations",
            models.Index(fields=["anonymous_id", "version"], name="reclist_guest_version"),
        ),
        migrations.AddConstraint(
            "userrecommendations",
            models.UniqueConstraint(
                condition=models.Q(("user__isnull", True)),
                fields=("version", "anonymous_id"),
                name="one_list_per_guest",
            ),
        ),
    ]
