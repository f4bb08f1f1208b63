"""How much training says: TensorFlow's own logs and the training loggers.

TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` once, when it is first imported, and even at
level 3 its CUDA probe writes "Could not find cuda drivers" and absl's "All log
messages before absl::InitializeLog()" to the process's stderr while it loads. So:

- ``quiet_tensorflow_import`` wraps the one place training imports TensorFlow
  (``algorithms/two_tower_model.py``): unless the level asks for TensorFlow's logs
  (0), native stderr goes to /dev/null for the import alone, and TensorFlow's and
  absl's Python loggers are set to ERROR. Python errors raised by the import still
  surface (they are printed after stderr is back).
- ``command_logging`` is what a management command does with its ``-v``: TensorFlow's
  logs and training's INFO lines at 2, DEBUG lines (metric dictionaries, epochs) at
  3; at 0 and 1 only warnings and errors, the command printing its own summary.

The Celery worker never calls ``command_logging``: it imports TensorFlow quietly
(level 3 unless ``TF_CPP_MIN_LOG_LEVEL`` is set) and logs at ``LOG_LEVEL``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TF_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
QUIET = "3"  # errors too: without a GPU the CUDA probe logs "failed call to cuInit" as one
# Loggers a training command turns down (their news is in the command's summary).
TRAINING_LOGGERS = ("recommendations.training", "recommendations.registry")


def tensorflow_verbosity(verbosity: int) -> None:
    """Set TensorFlow's C++ log level for a command's ``-v`` before TensorFlow loads."""
    if verbosity >= 2:
        os.environ[TF_LEVEL] = "0"
    else:
        os.environ.setdefault(TF_LEVEL, QUIET)
    if "tensorflow" in sys.modules:  # loaded already (tests): only its Python loggers follow
        _python_loggers(quiet=verbosity < 2)


def _python_loggers(quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.INFO
    logging.getLogger("tensorflow").setLevel(level)
    logging.getLogger("absl").setLevel(level)
    try:
        from absl import logging as absl_logging
    except ImportError:  # absl ships with TensorFlow; nothing to quieten without it
        return
    absl_logging.set_verbosity(absl_logging.ERROR if quiet else absl_logging.INFO)


@contextmanager
def _native_stderr_to_devnull() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (C++ writes bypass ``sys.stderr``)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextmanager
def quiet_tensorflow_import() -> Iterator[None]:
    """Around ``import tensorflow``: silence its start-up logs unless level 0 asks for them."""
    os.environ.setdefault(TF_LEVEL, QUIET)
    quiet = os.environ[TF_LEVEL].strip() not in ("", "0")
    if quiet and "tensorflow" not in sys.modules:
        with _native_stderr_to_devnull():
            yield
    else:
        yield
    _python_loggers(quiet)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def training_log_level(verbosity: int) -> int:
    """Level of the training loggers for a command's ``-v``."""
    return {2: logging.INFO, 3: logging.DEBUG}.get(min(verbosity, 3), logging.WARNING)


@contextmanager
def command_logging(verbosity: int, progress: logging.Handler | None = None) -> Iterator[None]:
    """Within: TensorFlow and training log as ``-v`` asks; ``progress`` (if given) alone
    shows the pipeline's stage records, which then do not reach the log as well."""
    from recommendations.registry import progress_log

    tf_level = os.environ.get(TF_LEVEL)  # put back after: TensorFlow has read it by then
    tensorflow_verbosity(verbosity)
    saved: list[tuple[logging.Logger, Any]] = [
        (logger, logger.level) for logger in map(logging.getLogger, TRAINING_LOGGERS)
    ]
    for logger, _ in saved:
        logger.setLevel(training_log_level(verbosity))
    progress_state = progress_log.level, progress_log.propagate
    if progress is not None:
        progress_log.addHandler(progress)
        progress_log.setLevel(logging.INFO)  # shown even when LOG_LEVEL is higher
        progress_log.propagate = verbosity >= 2
    try:
        yield
    finally:
        _restore_env(TF_LEVEL, tf_level)
        for logger, level in saved:
            logger.setLevel(level)
        if progress is not None:
            progress_log.removeHandler(progress)
        progress_log.setLevel(progress_state[0])
        progress_log.propagate = progress_state[1]


def run_pipeline_for_command(stderr: Any, verbosity: int, **kwargs: Any):
    """``graph.start(sync=True, **kwargs)`` for a command: a bar per stage on
    ``stderr`` (off stdout's summary) and logs as ``-v`` asks."""
    from config.progress import StageHandler

    from .graph import start

    handler = StageHandler(stderr)
    try:
        with command_logging(verbosity, progress=handler):
            return start(sync=True, **kwargs)  # the task graph, step by step in this process
    finally:
        handler.finish()
