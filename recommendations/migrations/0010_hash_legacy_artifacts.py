"""Record the sha256 of model files saved before artifacts had hash records.

An artifact without its ``.sha256`` record now reads as absent (a half-written upload
looks the same), so a shop upgrading would lose its active model's file until the next
training run. Files saved before the records existed are whole: they were written to a
temporary name and renamed into place. This writes their records, in the local
store only (a remote store never held the old files)."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import migrations


def record_hashes(apps, schema_editor):
    backend = settings.STORAGES.get("artifacts", {}).get("BACKEND", "")
    if not backend.endswith("FileSystemStorage"):
        return
    ModelVersion = apps.get_model("recommendations", "ModelVersion")
    root = Path(settings.MODEL_DIR)
    for pk in ModelVersion.objects.exclude(artifact_path="").values_list("pk", flat=True):
        path = root / str(pk) / "model.pkl"
        record = path.with_name(path.name + ".sha256")
        if path.is_file() and not record.exists():
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            record.write_text(digest.hexdigest())


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0009_run_lock")]

    operations = [migrations.RunPython(record_hashes, migrations.RunPython.noop)]
