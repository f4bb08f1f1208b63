"""bench/tf_caps.py raises exactly the caps each TensorFlow model has."""

import sys

from recommendations.training.algorithms import algorithm_class
from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from tf_caps import raised_caps  # noqa: E402


def test_raised_caps_multiply_each_models_own_caps():
    two_tower = algorithm_class("two_tower").defaults
    lightgcn = algorithm_class("lightgcn").defaults
    assert raised_caps("two_tower", 4) == {"max_examples": two_tower["max_examples"] * 4}
    assert raised_caps("lightgcn", 2.5) == {
        "max_examples": int(lightgcn["max_examples"] * 2.5),
        "max_graph_work": int(lightgcn["max_graph_work"] * 2.5),
    }
