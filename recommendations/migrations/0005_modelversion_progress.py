from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0003_anonymous_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="progress",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
