import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0005_modelversion_progress"),
    ]

    operations = [
        migrations.AlterField(
            model_name="modelversion",
            name="status",
            field=models.CharField(
                choices=[
                    ("training", "Training"),
                    ("evaluated", "Evaluated"),
                    ("precomputing", "Precomputing"),
                    ("active", "Active"),
                    ("challenger", "A/B challenger"),
                    ("retired", "Retired"),
                    ("failed", "Failed"),
                    ("skipped", "Skipped"),
                ],
                db_index=True,
                default="training",
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="ABTest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "share",
                    models.FloatField(
                        help_text="Share of shoppers served by the challenger (0 to 1)",
                        validators=[
                            django.core.validators.MinValueValidator(0.0),
                            django.core.validators.MaxValueValidator(1.0),
                        ],
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("starting", "Starting (precomputing the challenger)"),
                            ("running", "Running"),
                            ("stopped", "Stopped"),
                            ("promoted", "Challenger promoted"),
                        ],
                        db_index=True,
                        default="starting",
                        max_length=16,
                    ),
                ),
                ("started", models.DateTimeField(auto_now_add=True)),
                ("running_since", models.DateTimeField(blank=True, null=True)),
                ("stopped", models.DateTimeField(blank=True, null=True)),
                ("notes", models.TextField(blank=True)),
                (
                    "challenger",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="challenged_in",
                        to="recommendations.modelversion",
                    ),
                ),
                (
                    "control",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="recommendations.modelversion",
                    ),
                ),
            ],
            options={
                "verbose_name": "A/B test",
                "ordering": ["-started", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("share__gte", 0.0), ("share__lte", 1.0)),
                        name="abtest_share_0_1",
                    )
                ],
            },
        ),
    ]
