"""Model registry, the bottom of the stack: artifacts, the active version, promote, cleanup,
and A/B tests (which version serves which shopper; start, stop, promote the challenger).

Serving reads only the *active* version's rows (and, during an A/B test, the challenger's
for its share of shoppers), so swapping versions is one small transaction (old active ->
retired, new -> active) and nothing half-written is visible.
Imports only models: promotion that refits or precomputes lives in training.promotion.

Split by job: artifacts.py (files and their cache), versions.py (active version,
progress, promote, cleanup), abtests.py (tests and their arms), locks.py (one
pipeline run at a time). Callers use the names below:
``from recommendations import registry; registry.promote(...)``.
"""

from .abtests import (
    challenger_ready,
    end_tests_of,
    in_challenger_arm,
    live_test,
    promote_challenger,
    running_test,
    serving_version_for,
    start_ab_test,
    stop_ab_test,
)
from .artifacts import (
    MODEL_FILE,
    CorruptArtifact,
    artifact_digest,
    artifact_key,
    artifact_storage,
    delete_artifact,
    delete_artifacts,
    has_artifact,
    load_artifact,
    model_path,
    save_artifact,
    version_dir,
)
from .locks import AlreadyRunning, acquire, attach_versions, holder, release, release_for_version
from .versions import (
    active_version,
    cleanup_retired,
    delete_rows,
    fail_stale,
    has_rows,
    primary_metric,
    progress_log,
    promote,
    set_progress,
)

__all__ = [
    "AlreadyRunning",
    "acquire",
    "attach_versions",
    "holder",
    "release",
    "release_for_version",
    "MODEL_FILE",
    "CorruptArtifact",
    "artifact_digest",
    "artifact_key",
    "artifact_storage",
    "delete_artifact",
    "delete_artifacts",
    "active_version",
    "challenger_ready",
    "cleanup_retired",
    "delete_rows",
    "end_tests_of",
    "fail_stale",
    "has_artifact",
    "has_rows",
    "in_challenger_arm",
    "live_test",
    "load_artifact",
    "model_path",
    "primary_metric",
    "progress_log",
    "promote",
    "promote_challenger",
    "running_test",
    "save_artifact",
    "serving_version_for",
    "set_progress",
    "start_ab_test",
    "stop_ab_test",
    "version_dir",
]
