"""Orders stop storing the guest's session key (a credential): the column becomes the
random anonymous shopper id, and stored session keys are erased."""

from django.db import migrations, models


def erase_session_keys(apps, schema_editor):
    apps.get_model("shop", "Order").objects.exclude(anonymous_id="").update(anonymous_id="")


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_product_search_index")]

    operations = [
        migrations.RenameField("order", "session_key", "anonymous_id"),
        migrations.RunPython(erase_session_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="anonymous_id",
            field=models.CharField(blank=True, db_index=True, max_length=32),
        ),
    ]
