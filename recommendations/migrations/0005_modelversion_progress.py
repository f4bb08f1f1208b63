from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0004_serving"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="progress",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
