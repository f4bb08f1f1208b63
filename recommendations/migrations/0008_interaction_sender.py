"""Scope client_event_id to its sender: unique over (sender, client_event_id).

Before, the id was unique across everybody, so one shopper could take the id another
shopper's (or the shop's own) event would use and make that event disappear. Stored
ids were unique, so they stay unique within any sender. The backfill names the sender
a resend would now come from, so resends stay duplicates: importer rows "import", the
rest their owner ("user:<pk>" or "guest:<id>"; a staff batch's sender, the token's
owner, was not stored, so a staff resend of an old event is stored once more). The
shop's own purchase rows now use sender "shop", so an order placed before this
migration and signalled again afterwards would be counted once more (the signal is
sent once per order).
"""

from django.db import migrations, models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat


def name_senders(apps, schema_editor):
    Interaction = apps.get_model("recommendations", "Interaction")
    rows = Interaction.objects.filter(client_event_id__isnull=False, sender="")
    rows.filter(client_event_id__startswith="imp-", source__startswith="import:").update(
        sender="import"
    )
    rows.filter(user__isnull=False).update(
        sender=Concat(Value("user:"), Cast("user_id", CharField()))
    )
    rows.filter(user__isnull=True).update(sender=Concat(Value("guest:"), "anonymous_id"))


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0007_lean_interaction_indexes")]

    operations = [
        migrations.AddField(
            model_name="interaction",
            name="sender",
            field=models.CharField(blank=True, default="", db_default="", max_length=40),
        ),
        migrations.RunPython(name_senders, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint(model_name="interaction", name="interaction_client_event_id"),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.UniqueConstraint(
                fields=("sender", "client_event_id"), name="interaction_sender_event_id"
            ),
        ),
    ]
