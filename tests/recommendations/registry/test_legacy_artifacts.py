"""Upgrading: a model file saved before artifacts had hash records is still served."""

import pickle
from importlib import import_module

import pytest
from django.apps import apps

from recommendations import registry
from recommendations.models import ModelVersion
from recommendations.registry import artifacts

pytestmark = pytest.mark.django_db
migration = import_module("recommendations.migrations.0010_hash_legacy_artifacts")


def save_the_old_way(version: ModelVersion, obj) -> None:
    """What save_artifact wrote before hash records: the pickle alone, renamed into place."""
    path = artifacts.model_path(version.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj))
    version.artifact_path = str(path)
    version.save(update_fields=["artifact_path"])


def test_the_migration_records_old_files_hashes_so_they_load(settings, tmp_path):
    settings.MODEL_DIR = tmp_path
    old = ModelVersion.objects.create(algorithm="popularity")
    save_the_old_way(old, {"weights": [1, 2]})
    artifacts._ARTIFACT_CACHE.clear()
    with pytest.raises(FileNotFoundError):  # no record: absent, as an unfinished upload
        registry.load_artifact(old.pk)
    migration.record_hashes(apps, None)
    assert registry.load_artifact(old.pk) == {"weights": [1, 2]}


def test_the_migration_leaves_new_records_and_remote_stores_alone(settings, tmp_path):
    settings.MODEL_DIR = tmp_path
    version = ModelVersion.objects.create(algorithm="popularity", artifact_path="x")
    registry.save_artifact(version.pk, "model.pkl", {"a": 1})
    record = artifacts.model_path(version.pk).with_name("model.pkl.sha256")
    before = record.read_text()
    other = ModelVersion.objects.create(algorithm="popularity")
    save_the_old_way(other, {"b": 2})
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "storages.backends.s3.S3Storage"},
    }
    migration.record_hashes(apps, None)  # a remote store: nothing to do here
    assert not artifacts.model_path(other.pk).with_name("model.pkl.sha256").exists()
    assert record.read_text() == before
