"""A version's artifacts: where they live, saving and loading them (with a per-process cache)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from django.conf import settings

from ..models import ModelVersion

# Loaded artifacts per process: path -> (mtime_ns, object). Precompute chunks of one
# version run many times in the same worker; reading a large pickle once is enough.
_ARTIFACT_CACHE: dict[str, tuple[int, Any]] = {}
_ARTIFACT_CACHE_SIZE = 4


def version_dir(version_id: int) -> Path:
    """MODEL_DIR/<version id>/ (created on save)."""
    return Path(settings.MODEL_DIR) / str(version_id)


def model_path(version_id: int) -> Path:
    """Where a version's fitted model is pickled."""
    return version_dir(version_id) / "model.pkl"


def save_artifact(version_id: int, name: str, obj: Any) -> Path:
    """Pickle ``obj`` as MODEL_DIR/<version id>/<name>, atomically (write then rename)."""
    path = version_dir(version_id) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return path


def load_artifact(path: Path) -> Any:
    """Unpickle ``path``, reusing this process's copy while the file is unchanged."""
    path = Path(path)
    mtime = path.stat().st_mtime_ns
    hit = _ARTIFACT_CACHE.get(str(path))
    if hit is not None and hit[0] == mtime:
        return hit[1]
    with open(path, "rb") as fh:
        obj = pickle.load(fh)
    while len(_ARTIFACT_CACHE) >= _ARTIFACT_CACHE_SIZE:
        _ARTIFACT_CACHE.pop(next(iter(_ARTIFACT_CACHE)))
    _ARTIFACT_CACHE[str(path)] = (mtime, obj)
    return obj


def has_artifact(version: ModelVersion) -> bool:
    """Whether the version's model file exists."""
    return bool(version.artifact_path) and Path(version.artifact_path).is_file()
