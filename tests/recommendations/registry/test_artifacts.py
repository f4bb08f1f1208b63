"""The artifact store: a round trip through the local folder and an S3-compatible
bucket, a corrupt or half-written artifact refused, and each host's read cache."""

import uuid

import numpy as np
import pytest

from recommendations import registry
from recommendations.models import ModelVersion
from recommendations.registry import artifacts
from tests.s3_server import make_bucket, s3_storage_setting

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["filesystem", "s3"])
def store(request, settings):
    """Each test runs against the default folder and against a fresh bucket."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
        make_bucket(endpoint, bucket)
        settings.STORAGES = {**settings.STORAGES, "artifacts": s3_storage_setting(endpoint, bucket)}
    artifacts._ARTIFACT_CACHE.clear()
    return request.param


def corrupt(key: str) -> None:
    """Overwrite an artifact's bytes in the store, leaving its hash record."""
    from django.core.files.base import ContentFile

    storage = registry.artifact_storage()
    storage.save(key, ContentFile(b"not the pickle that was hashed"))


def test_round_trip(store):
    key = registry.save_artifact(7, "model.pkl", {"weights": [1, 2, 3]})
    assert key == "7/model.pkl"
    artifacts._ARTIFACT_CACHE.clear()  # another process: read from the store
    assert registry.load_artifact(7) == {"weights": [1, 2, 3]}
    assert len(registry.artifact_digest(7)) == 64


def test_a_corrupt_artifact_is_never_served(store, settings):
    registry.save_artifact(8, "model.pkl", {"a": 1})
    corrupt("8/model.pkl")
    artifacts._ARTIFACT_CACHE.clear()
    for path in settings.ARTIFACT_CACHE_DIR.rglob("*"):  # a host that never read it
        if path.is_file():
            path.unlink()
    with pytest.raises(registry.CorruptArtifact, match="sha256"):
        registry.load_artifact(8)


def test_an_unfinished_artifact_is_missing(store):
    registry.save_artifact(9, "model.pkl", {"a": 1})
    registry.artifact_storage().delete("9/model.pkl.sha256")  # the hash is written last
    version = ModelVersion.objects.create(algorithm="popularity", artifact_path="9/model.pkl")
    version.pk = 9
    assert not registry.has_artifact(version)
    with pytest.raises(FileNotFoundError):
        registry.load_artifact(9)


def test_a_new_artifact_under_the_same_name_is_read_again(store):
    registry.save_artifact(10, "model.pkl", {"a": 1})
    assert registry.load_artifact(10) == {"a": 1}
    registry.save_artifact(10, "model.pkl", {"a": 2})
    artifacts._ARTIFACT_CACHE.clear()
    assert registry.load_artifact(10) == {"a": 2}


def test_has_and_delete(store, settings):
    version = ModelVersion.objects.create(algorithm="popularity")
    version.artifact_path = registry.save_artifact(version.pk, "model.pkl", {"a": 1})
    registry.save_artifact(version.pk, "related.pkl", {"b": 2})
    assert registry.has_artifact(version)
    registry.delete_artifacts(version.pk)
    assert not registry.has_artifact(version)
    assert not (settings.ARTIFACT_CACHE_DIR / str(version.pk)).exists()
    with pytest.raises(FileNotFoundError):
        registry.load_artifact(version.pk, "related.pkl")


def test_the_host_cache_is_verified_and_refetched(settings, s3_endpoint):
    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    make_bucket(s3_endpoint, bucket)
    settings.STORAGES = {**settings.STORAGES, "artifacts": s3_storage_setting(s3_endpoint, bucket)}
    registry.save_artifact(11, "model.pkl", {"a": 1})
    copies = list((settings.ARTIFACT_CACHE_DIR / "11").glob("*-model.pkl"))
    assert len(copies) == 1 and copies[0].name.startswith(registry.artifact_digest(11))
    copies[0].write_bytes(b"damaged on this host")
    artifacts._ARTIFACT_CACHE.clear()
    assert registry.load_artifact(11) == {"a": 1}  # fetched again from the store
    assert copies[0].read_bytes() != b"damaged on this host"


def test_a_mapped_array_round_trips_and_a_corrupt_one_is_never_mapped(store, settings):
    from recommendations.training.dataset import load_array, save_array

    save_array(11, "a.npy", np.arange(10))
    assert load_array(11, "a.npy").tolist() == list(range(10))
    corrupt("11/a.npy")
    artifacts._VERIFIED_FILES.clear()  # another process
    for path in settings.ARTIFACT_CACHE_DIR.rglob("*"):  # a host that never read it
        if path.is_file():
            path.unlink()
    with pytest.raises(registry.CorruptArtifact, match="sha256"):
        load_array(11, "a.npy")


def test_an_unfinished_array_is_missing(store):
    from recommendations.training.dataset import load_array, save_array

    save_array(12, "a.npy", np.arange(3))
    registry.artifact_storage().delete("12/a.npy.sha256")  # the hash is written last
    artifacts._VERIFIED_FILES.clear()
    with pytest.raises(FileNotFoundError):
        load_array(12, "a.npy")
