"""A/B tests: which version serves which shopper; start, stop, promote the challenger."""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from ..models import ABTest, ModelVersion
from .versions import LIVE, _end_tests, active_version, cleanup_retired, delete_rows, promote

log = logging.getLogger(__name__)
Status = ModelVersion.Status
TestStatus = ABTest.Status


def live_test() -> ABTest | None:
    """The A/B test starting or running, if any (there is one at a time)."""
    return ABTest.objects.filter(status__in=LIVE).select_related("challenger", "control").first()


def running_test() -> ABTest | None:
    """The A/B test whose challenger serves its share of shoppers now, if any."""
    return (
        ABTest.objects.filter(status=TestStatus.RUNNING, challenger__status=Status.CHALLENGER)
        .select_related("challenger")
        .first()
    )


def in_challenger_arm(
    test_id: int, share: float, user_id: int | None, anonymous_id: str = ""
) -> bool:
    """Whether a shopper is in test ``test_id``'s challenger share: the same on every call.

    SHA-256 of the test id and the shopper key ("u:<user id>" or "a:<anonymous id>") read
    as a fraction of 2**64, below ``share``. A guest who signs in is hashed anew as the
    user; a shopper with no identity is always in the control arm.
    """
    if user_id is not None:
        key = f"u:{user_id}"
    elif anonymous_id:
        key = f"a:{anonymous_id}"
    else:
        return False
    digest = hashlib.sha256(f"{test_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def serving_version_for(user_id: int | None = None, anonymous_id: str = "") -> ModelVersion | None:
    """The version that serves this shopper now: a running test's challenger, else the active.

    Uncached (admin, reports, tests); serving.cache keeps a short per-process copy.
    """
    test = running_test()
    if test is not None and in_challenger_arm(test.pk, test.share, user_id, anonymous_id):
        return test.challenger
    return active_version()


def start_ab_test(version_id: int, share: float) -> ABTest:
    """Record a starting test of ``version_id`` against the active version.

    Nobody is served from it until its lists are precomputed beside the active ones
    (training.promotion.start_challenger, then ``challenger_ready``). ValueError when
    there is no active version, the version cannot be a challenger, or a test is live.
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"the challenger's share must be above 0 and at most 1, not {share}")
    with transaction.atomic():  # the active row is the lock: one start at a time
        control = ModelVersion.objects.select_for_update().filter(status=Status.ACTIVE).first()
        if control is None:
            raise ValueError("there is no active version to test a challenger against")
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if version.pk == control.pk:
            raise ValueError(f"#{version.pk} is the active version; choose another challenger")
        if version.status not in (Status.EVALUATED, Status.RETIRED):
            raise ValueError(
                f"#{version.pk} is {version.status}; only an evaluated or retired version "
                "can be a challenger"
            )
        live = live_test()
        if live is not None:
            raise ValueError(f"A/B test #{live.pk} is {live.status}; stop it first")
        test = ABTest.objects.create(challenger=version, control=control, share=share)
    log.info("A/B test #%s started: #%s vs #%s", test.pk, version.pk, control.pk)
    return test


def challenger_ready(version: ModelVersion) -> ModelVersion:
    """The challenger's lists are complete: its test runs from now on.

    If its test was stopped meanwhile, the lists are deleted and the version goes back
    to evaluated (precompute.finalize_version calls this instead of activating).
    """
    with transaction.atomic():
        test = (
            ABTest.objects.select_for_update()
            .filter(challenger_id=version.pk, status=TestStatus.STARTING)
            .first()
        )
        if test is None:
            delete_rows(version.pk)
            version.move_to(
                Status.EVALUATED,
                "Precomputed as an A/B challenger after its test ended; its lists were deleted.",
            )
            return version
        version.refreshed = None  # the refresh watermark restarts with these lists
        version.move_to(
            Status.CHALLENGER,
            f"A/B challenger of test #{test.pk}: serves {test.share:.0%} of shoppers.",
            fields=["refreshed"],
        )
        test.status = TestStatus.RUNNING
        test.running_since = timezone.now()
        test.save(update_fields=["status", "running_since"])
    log.info("A/B test #%s running", test.pk)
    return version


def stop_ab_test(test_id: int, note: str = "Stopped from the admin.") -> ABTest:
    """End a live test: the challenger's lists are deleted, the version stays (evaluated).

    A challenger still precomputing is cleaned up when its precompute finishes
    (``challenger_ready``) or fails.
    """
    with transaction.atomic():
        test = ABTest.objects.select_for_update().get(pk=test_id)
        if not test.live:
            raise ValueError(f"A/B test #{test.pk} is {test.status}; there is nothing to stop")
        challenger = ModelVersion.objects.select_for_update().get(pk=test.challenger_id)
        if challenger.status == Status.CHALLENGER:
            delete_rows(challenger.pk)
            challenger.move_to(
                Status.EVALUATED, f"A/B test #{test.pk} stopped; its lists were deleted."
            )
        _end_tests(challenger.pk, TestStatus.STOPPED, note)
        test.refresh_from_db()
    log.info("A/B test #%s stopped", test.pk)
    return test


def promote_challenger(test_id: int, note: str = "") -> ModelVersion:
    """Make a running test's challenger the active version (``promote`` ends the test)."""
    test = ABTest.objects.select_related("challenger").get(pk=test_id)
    if test.status != TestStatus.RUNNING:
        raise ValueError(
            f"A/B test #{test.pk} is {test.status}; only a running test's "
            "challenger can be promoted"
        )
    version = promote(test.challenger, note or f"Promoted from A/B test #{test.pk}.")
    cleanup_retired()
    return version


def end_tests_of(version_id: int, note: str) -> int:
    """Stop the live tests of a challenger that failed; returns how many."""
    with transaction.atomic():
        return _end_tests(version_id, TestStatus.STOPPED, note)
