"""Serving: the "not interested" event kind and the ingestion watermark of the refresh."""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0003_anonymous_id")]

    operations = [
        migrations.AlterField(
            model_name="interaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("view", "View"),
                    ("cart", "Add to cart"),
                    ("purchase", "Purchase"),
                    ("impression", "Recommendation shown"),
                    ("click", "Recommendation clicked"),
                    ("not_interested", "Not interested"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="interaction",
            name="ingested",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(),
                db_index=True,
                editable=False,
            ),
        ),
    ]
