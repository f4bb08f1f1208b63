"""Generated product names and descriptions read like a shop's: no word said twice."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from demo.generator.catalogue import build_catalogue
from demo.generator.vocab import CATEGORIES

# Tiny words a description may repeat ("the", "and", ...); names may repeat none.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "at",
        "by",
        "for",
        "from",
        "in",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    ]
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def repeated(text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The words of ``text`` said more than once (case-insensitive, anywhere)."""
    counts = Counter(w for w in _WORD.findall(text.lower()) if w not in ignore)
    return sorted(w for w, n in counts.items() if n > 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_name_or_description_repeats_a_word(seed):
    catalogue = build_catalogue(np.random.default_rng(seed), 2000, len(CATEGORIES), 90)
    names = {n: repeated(n) for n in catalogue.name if repeated(n)}
    assert not names, f"{len(names)} names repeat a word, e.g. {list(names.items())[:5]}"
    texts = {d: repeated(d, STOP_WORDS) for d in catalogue.description}
    texts = {d: r for d, r in texts.items() if r}
    assert not texts, f"{len(texts)} descriptions repeat a word, e.g. {list(texts.items())[:3]}"


def test_repeated_finds_words_said_twice():
    assert repeated("Studio Nine Studio Wrist Rest") == ["studio"]
    assert repeated("Heritage heritage Compost, 10 l") == ["heritage"]
    assert repeated("A take on the mug, from Brewline.", STOP_WORDS) == []
    assert repeated("Chef's Knife for a chef") == []  # "chef's" is its own word


def test_vocabulary_leaves_room_for_names_without_repeats():
    """A brand never shares a word with its category's product types (both are always
    named), and no description template says a word twice."""
    for spec in CATEGORIES:
        for brand in spec.brands:
            for noun in spec.nouns:
                assert not repeated(f"{brand} {noun.name}"), (brand, noun.name)
        for sentence in spec.sentences:
            assert not repeated(sentence, STOP_WORDS), sentence
