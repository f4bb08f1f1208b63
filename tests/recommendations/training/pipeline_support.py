"""Helpers for the pipeline tests: a small event log with clear structure and a
test-only algorithm that fails while precomputing (importable by a real worker)."""

from __future__ import annotations

import random
from datetime import timedelta
from urllib.parse import quote

import numpy as np
from django.db import connection
from django.utils import timezone

from recommendations.models import Interaction
from recommendations.training.algorithms.popularity import Popularity
from recommendations.training.dataset import Dataset
from tests.factories import CategoryFactory, ProductFactory, UserFactory

FAILING = "tests.recommendations.training.pipeline_support:FailingPopularity"
SLOW = "tests.recommendations.training.pipeline_support:SlowPopularity"


class FailingPopularity(Popularity):
    """Popularity that raises when a loaded artifact scores ``fail_user``.

    Training and evaluation work (the object is fresh); precompute chunks load the
    pickled artifact, so exactly the chunk holding that shopper fails, every retry.
    """

    name = "failing"
    defaults = {"fail_user": ""}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.loaded = True

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        keys = (data if data is not None else self.data).user_keys[users]
        if getattr(self, "loaded", False) and self.params["fail_user"] in set(keys):
            raise RuntimeError(f"test failure for {self.params['fail_user']}")
        return super().score(users, data)


class SlowPopularity(Popularity):
    """Popularity whose loaded artifact takes ``delay`` seconds per score call, so a
    precompute chunk runs long enough to kill its worker in the middle of it."""

    name = "slow_popularity"
    defaults = {"delay": 2.0}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.loaded = True

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        if getattr(self, "loaded", False):
            import time

            time.sleep(float(self.params["delay"]))
        return super().score(users, data)


def seed_log(n_users: int = 30, n_groups: int = 3, per_group: int = 6, seed: int = 7) -> dict:
    """Shoppers who each stick to one category and walk its products in order.

    Group g's products are viewed in a fixed order (a chain), some are carted and
    bought together, so co-occurrence and sequence models beat popularity clearly.
    Returns {"groups": [[Product]], "users": [User], "start": datetime}.
    """
    rng = random.Random(seed)
    groups = []
    for g in range(n_groups):
        category = CategoryFactory(name=f"Group {g}", slug=f"group-{g}")
        groups.append(
            [
                ProductFactory(category=category, name=f"G{g} item {i}", brand=f"Brand{g}")
                for i in range(per_group)
            ]
        )
    start = timezone.now() - timedelta(days=10)
    users, rows = [], []
    for u in range(n_users):
        user = UserFactory(username=f"seeded{u}")
        users.append(user)
        chain = groups[u % n_groups]
        first = rng.randrange(0, 2)
        length = rng.randrange(4, per_group - first + 1)
        t = start + timedelta(hours=u)
        for step, product in enumerate(chain[first : first + length]):
            t += timedelta(minutes=5 + step)
            rows.append(Interaction(user=user, product=product, kind="view", created=t))
            if step % 2 == 1:
                rows.append(Interaction(user=user, product=product, kind="cart", created=t))
                rows.append(
                    Interaction(
                        user=user, product=product, kind="purchase", created=t, basket=f"o{u}"
                    )
                )
    Interaction.objects.bulk_create(rows)
    return {"groups": groups, "users": users, "start": start}


def shared_database_url() -> str | None:
    """DATABASE_URL of the test database for a child process, or None when the test
    database is one another process cannot open (SQLite, in memory under pytest)."""
    db = connection.settings_dict  # NAME is the test database by now
    if connection.vendor != "postgresql":
        return None
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
