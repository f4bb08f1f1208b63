"""A log of views only, from parallel lists: the usual input of the algorithm tests."""

import numpy as np

from recommendations.training.dataset import KIND_CODES, Dataset, build_dataset


def views_dataset(users: list, items: list, times: list, n_items: int, **kwargs) -> Dataset:
    return build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.full(len(items), KIND_CODES["view"]),
        np.array(times),
        item_ids=np.arange(n_items),
        **kwargs,
    )
