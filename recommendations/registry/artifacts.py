"""A version's artifacts in the shared store, with their hashes and a per-host read cache.

Artifacts go through Django's storage API (``STORAGES["artifacts"]``): the local
folder MODEL_DIR by default, an S3-compatible bucket when workers live on several hosts
(settings.py, docs/workers.md). Each artifact ``<version id>/<name>`` has a sidecar
``<name>.sha256`` written *after* it, which is what makes it visible: a half-written or
corrupt file does not match its hash and raises CorruptArtifact instead of being served.

Reads go through two caches keyed by content hash, so a new artifact under the same
name is never mistaken for the old one: this process's unpickled objects (precompute
chunks of one version run many times in the same worker) and, for a remote store, a
folder of verified files on this host (ARTIFACT_CACHE_DIR/<version id>/<hash>-<name>).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from ..models import ModelVersion

ALIAS = "artifacts"
MODEL_FILE = "model.pkl"
HASH_SUFFIX = ".sha256"

# Unpickled artifacts per process: key -> (sha256, object); the oldest goes first.
_ARTIFACT_CACHE: dict[str, tuple[str, Any]] = {}
_ARTIFACT_CACHE_SIZE = 4
_STORAGE: dict[str, Storage] = {}
# (key, sha256) of files local_file has checked in this process.
_VERIFIED_FILES: set[tuple[str, str]] = set()


class CorruptArtifact(RuntimeError):
    """An artifact whose bytes do not match its recorded sha256 (half-written, damaged)."""


class _TempFile(File):
    """A file on disk the filesystem storage may move into place (one rename)."""

    def temporary_file_path(self) -> str:
        return self.file.name


def artifact_storage() -> Storage:
    """The storage behind STORAGES["artifacts"]; a filesystem one defaults to MODEL_DIR."""
    conf = settings.STORAGES[ALIAS]
    cache_key = f"{conf!r}|{settings.MODEL_DIR}"
    if cache_key not in _STORAGE:
        options = dict(conf.get("OPTIONS", {}))
        backend = conf["BACKEND"]
        if backend.endswith("FileSystemStorage"):
            options.setdefault("location", str(settings.MODEL_DIR))
            options.setdefault("allow_overwrite", True)
        _STORAGE.clear()
        _STORAGE[cache_key] = storages.create_storage({"BACKEND": backend, "OPTIONS": options})
    return _STORAGE[cache_key]


def artifact_key(version_id: int, name: str = MODEL_FILE) -> str:
    """The storage name of a version's artifact."""
    return f"{int(version_id)}/{name}"


def version_dir(version_id: int) -> Path:
    """MODEL_DIR/<version id>/: the version's folder in the default (filesystem) store."""
    return Path(settings.MODEL_DIR) / str(version_id)


def model_path(version_id: int) -> Path:
    """Where the default (filesystem) store keeps a version's fitted model."""
    return version_dir(version_id) / MODEL_FILE


def _cache_dir() -> Path:
    return Path(settings.ARTIFACT_CACHE_DIR)


def _local_path(storage: Storage, key: str) -> Path | None:
    """The file behind ``key`` when the store is this host's filesystem."""
    return Path(storage.path(key)) if isinstance(storage, FileSystemStorage) else None


def save_artifact(version_id: int, name: str, obj: Any) -> str:
    """Pickle ``obj`` to the store as <version id>/<name> with its sha256; returns the key."""
    return save_file(
        version_id, name, lambda fh: pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    )


def save_file(version_id: int, name: str, write: Callable[[Any], Any]) -> str:
    """Store what ``write(file)`` writes as <version id>/<name> with its sha256 (the file
    object takes ``write`` calls only); returns the key."""
    key = artifact_key(version_id, name)
    storage = artifact_storage()
    _cache_dir().mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=_cache_dir(), suffix=".tmp", delete=False) as fh:
        write(_HashingWriter(fh, sha))
    digest = sha.hexdigest()
    try:
        storage.delete(key + HASH_SUFFIX)  # readers see "missing" while the bytes change
        with open(fh.name, "rb") as src:
            content = _TempFile(src) if _local_path(storage, key) else File(src)
            saved = storage.save(key, content)
        if saved != key:
            raise RuntimeError(f"artifact store saved {key!r} as {saved!r}")
        storage.save(key + HASH_SUFFIX, ContentFile(digest.encode()))
        if _local_path(storage, key) is None and os.path.exists(fh.name):
            _keep_local(key, digest, Path(fh.name))  # this host reads it next, probably
    finally:
        Path(fh.name).unlink(missing_ok=True)
    _ARTIFACT_CACHE.pop(key, None)  # readers unpickle the stored bytes, as other hosts do
    return key


class _HashingWriter:
    """A write-only file object that also feeds a hash (pickle writes through it)."""

    def __init__(self, fh, sha) -> None:
        self.fh, self.sha = fh, sha

    def write(self, data) -> int:
        self.sha.update(data)
        return self.fh.write(data)


def artifact_digest(version_id: int, name: str = MODEL_FILE) -> str:
    """The recorded sha256 of an artifact; FileNotFoundError while it is absent or unfinished."""
    key = artifact_key(version_id, name)
    storage = artifact_storage()
    try:
        with storage.open(key + HASH_SUFFIX, "rb") as fh:
            digest = fh.read().decode().strip()
    except (FileNotFoundError, OSError) as exc:
        raise FileNotFoundError(f"artifact {key} is not in the store") from exc
    if len(digest) != 64:
        raise CorruptArtifact(f"artifact {key} has a malformed hash record")
    return digest


def load_artifact(version_id: int, name: str = MODEL_FILE) -> Any:
    """Unpickle a version's artifact after checking its sha256 (cached per process and host)."""
    key = artifact_key(version_id, name)
    digest = artifact_digest(version_id, name)
    hit = _ARTIFACT_CACHE.get(key)
    if hit is not None and hit[0] == digest:
        return hit[1]
    obj = pickle.loads(_verified_bytes(key, digest))
    _remember(key, digest, obj)
    return obj


def _remember(key: str, digest: str, obj: Any) -> None:
    _ARTIFACT_CACHE.pop(key, None)
    while len(_ARTIFACT_CACHE) >= _ARTIFACT_CACHE_SIZE:
        _ARTIFACT_CACHE.pop(next(iter(_ARTIFACT_CACHE)))
    _ARTIFACT_CACHE[key] = (digest, obj)


def _cached_path(key: str, digest: str) -> Path:
    folder, name = key.split("/", 1)
    return _cache_dir() / folder / f"{digest}-{name}"


def _verified_bytes(key: str, digest: str) -> bytes:
    """The artifact's bytes, from this host's copy or the store; never ones that mismatch."""
    storage = artifact_storage()
    local = _local_path(storage, key)
    if local is None:
        cached = _cached_path(key, digest)
        if cached.is_file():
            data = cached.read_bytes()
            if hashlib.sha256(data).hexdigest() == digest:
                return data
            cached.unlink(missing_ok=True)  # damaged on this host: fetch it again
        with storage.open(key, "rb") as fh:
            data = fh.read()
    else:
        data = local.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise CorruptArtifact(f"artifact {key} does not match its sha256; it is not used")
    if local is None:
        _write_local(key, digest, data)
    return data


def _keep_local(key: str, digest: str, path: Path) -> None:
    target = _cached_path(key, digest)
    _drop_other_copies(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)


def _write_local(key: str, digest: str, data: bytes) -> None:
    """Keep a verified copy on this host (write then rename: readers never see half)."""
    target = _cached_path(key, digest)
    _drop_other_copies(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _drop_other_copies(target: Path) -> None:
    """Remove this host's copies of the same artifact with another hash."""
    name = target.name.split("-", 1)[1]
    if target.parent.is_dir():
        for old in target.parent.glob(f"*-{name}"):
            if old != target:
                old.unlink(missing_ok=True)


def local_file(version_id: int, name: str) -> Path:
    """A file on this host with an artifact's verified bytes, for readers that map it
    (numpy's memory maps) instead of loading it: the filesystem store's own file, or
    this host's cached copy of a remote one. Checked against its sha256 once per
    process and content; CorruptArtifact when it does not match."""
    key = artifact_key(version_id, name)
    digest = artifact_digest(version_id, name)
    storage = artifact_storage()
    path = _local_path(storage, key) or _cached_path(key, digest)
    if (key, digest) in _VERIFIED_FILES and path.is_file():
        return path
    if not path.is_file():  # remote, not on this host yet
        with storage.open(key, "rb") as src:
            _keep_local(key, digest, _download(src, path.parent))
    if _file_digest(path) != digest:
        if path != _local_path(storage, key):
            path.unlink(missing_ok=True)  # a damaged copy on this host: fetched again next time
        raise CorruptArtifact(f"artifact {key} does not match its sha256; it is not used")
    _VERIFIED_FILES.add((key, digest))
    return path


def _download(src, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return Path(dst.name)


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def has_artifact(version: ModelVersion) -> bool:
    """Whether the version's model is in the store, complete (its hash record written)."""
    if not version.artifact_path:
        return False
    return artifact_storage().exists(artifact_key(version.pk, MODEL_FILE) + HASH_SUFFIX)


def delete_artifact(version_id: int, name: str) -> None:
    """Remove one artifact (its hash record first: readers see it missing, never half)."""
    storage = artifact_storage()
    key = artifact_key(version_id, name)
    storage.delete(key + HASH_SUFFIX)
    storage.delete(key)
    _ARTIFACT_CACHE.pop(key, None)
    target = _cache_dir() / str(int(version_id))
    if target.is_dir():
        for old in target.glob(f"*-{name}"):
            old.unlink(missing_ok=True)


def delete_artifacts(version_id: int) -> None:
    """Remove a version's artifacts from the store and from this host's cache."""
    storage = artifact_storage()
    folder = str(int(version_id))
    try:
        _, files = storage.listdir(folder)
    except FileNotFoundError:
        files = []
    for name in files:
        storage.delete(f"{folder}/{name}")
    local = _local_path(storage, folder)
    if local is not None:
        shutil.rmtree(local, ignore_errors=True)
    shutil.rmtree(_cache_dir() / folder, ignore_errors=True)
    for key in [k for k in _ARTIFACT_CACHE if k.startswith(f"{folder}/")]:
        _ARTIFACT_CACHE.pop(key, None)
