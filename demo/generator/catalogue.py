"""A believable catalogue: names, prices, stock and the item structure shoppers follow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.utils.text import slugify

from .sampling import GroupSampler, cumulative_choice
from .vocab import CATEGORIES, COLOURS, COMPLEMENTS, CategorySpec, NounSpec

DAY = 86_400.0
NEIGHBOURS = 6  # per product: 3 of the same type, 2 of the same brand, 1 of the category
PARTNERS = 3  # complementary products bought with it
SIZE_PRICE = (1.0, 1.8, 3.2)  # price multiplier of the 1st, 2nd, 3rd pack size
# Tiny words a description may say more than once; any other word is said once.
STOP_WORDS = frozenset(
    ["a", "an", "and", "at", "by", "for", "from", "in", "it", "its", "of", "on", "or", "the"]
    + ["to", "with"]
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


@dataclass
class Catalogue:
    """Products as parallel arrays (index = position in the lists) plus their groups."""

    specs: list[CategorySpec]
    category: np.ndarray  # int, index into specs
    noun: np.ndarray  # int, global product-type id
    brand: np.ndarray  # int, global brand id
    price_cents: np.ndarray  # int64
    price_z: np.ndarray  # log price standardised within the category
    popularity: np.ndarray  # sampling weight; 0 for new arrivals (no history yet)
    consumable: np.ndarray  # bool
    stock: np.ndarray  # int
    active: np.ndarray  # bool
    created_offset: np.ndarray  # seconds relative to the anchor (negative)
    neighbours: np.ndarray  # (n, NEIGHBOURS) product indices browsed next
    partners: np.ndarray  # (n, PARTNERS) product indices bought together
    sku: list[str]
    name: list[str]
    slug: list[str]
    description: list[str]
    tags: list[str]
    brand_names: list[str]
    brand_category: np.ndarray  # category of each global brand id
    by_category: GroupSampler

    def __len__(self) -> int:
        return len(self.sku)


@lru_cache(maxsize=4096)
def _soft_lower(text: str) -> str:
    """Lower-case words except acronyms (GPS, LED, USB-C)."""
    return " ".join(w if w.isupper() else w.lower() for w in text.split())


def _allocate(rng: np.random.Generator, total: int, n_groups: int) -> np.ndarray:
    """Split ``total`` into ``n_groups`` uneven positive parts."""
    shares = rng.dirichlet(np.full(n_groups, 6.0))
    return rng.multinomial(total - n_groups, shares) + 1


def build_catalogue(
    rng: np.random.Generator, n_products: int, n_categories: int, days: int
) -> Catalogue:
    """Generate ``n_products`` products over the first ``n_categories`` category specs."""
    specs = list(CATEGORIES[:n_categories])
    noun_base = np.cumsum([0] + [len(s.nouns) for s in specs])
    brand_base = np.cumsum([0] + [len(s.brands) for s in specs])
    brand_names = [b for s in specs for b in s.brands]
    brand_category = np.repeat(np.arange(len(specs)), [len(s.brands) for s in specs])
    # Premium and budget brands: a per-brand price level and a per-brand pull.
    brand_level = rng.lognormal(0.0, 0.25, len(brand_names))
    brand_pull = rng.lognormal(0.0, 0.5, len(brand_names))

    counts = _allocate(rng, n_products, len(specs))
    category = np.repeat(np.arange(len(specs)), counts)
    items = _draw_products(rng, specs, counts, noun_base, brand_base)
    noun, brand = items.noun, items.brand
    items.price *= brand_level[brand] * items.spread
    price_cents, price_z = _prices(rng, items.price, category, counts)
    popularity, created_offset, stock, active = _arrivals(
        rng, brand_pull[brand], items.rank, counts[category], days
    )

    by_category = GroupSampler(category, popularity, len(specs))
    by_noun = GroupSampler(noun, popularity, int(noun_base[-1]))
    by_brand = GroupSampler(brand, popularity, len(brand_names))
    neighbours = _neighbours(rng, category, noun, brand, by_category, by_noun, by_brand)
    partners = _partners(rng, specs, noun_base, category, noun, by_category, by_noun)

    return Catalogue(
        specs=specs,
        category=category,
        noun=noun,
        brand=brand,
        price_cents=price_cents,
        price_z=price_z,
        popularity=popularity,
        consumable=items.consumable,
        stock=stock,
        active=active,
        created_offset=created_offset,
        neighbours=neighbours,
        partners=partners,
        sku=items.skus,
        name=items.names,
        slug=_unique_slugs(items.names),
        description=items.descriptions,
        tags=items.tags,
        brand_names=brand_names,
        brand_category=brand_category,
        by_category=by_category,
    )


@dataclass
class _Drawn:
    """Products as drawn per category: type, brand, texts and a base price."""

    noun: np.ndarray
    brand: np.ndarray
    price: np.ndarray  # before the brand's price level and the product's spread
    spread: np.ndarray  # per-product price spread
    consumable: np.ndarray
    rank: np.ndarray  # popularity rank within its category
    names: list[str]
    skus: list[str]
    descriptions: list[str]
    tags: list[str]


def _draw_products(
    rng: np.random.Generator,
    specs: list[CategorySpec],
    counts: np.ndarray,
    noun_base: np.ndarray,
    brand_base: np.ndarray,
) -> _Drawn:
    """Each category's ``counts`` products: a type and brand each, named and described."""
    n = int(counts.sum())
    out = _Drawn(
        noun=np.empty(n, dtype=np.int64),
        brand=np.empty(n, dtype=np.int64),
        price=np.empty(n),
        spread=np.empty(0),
        consumable=np.zeros(n, dtype=bool),
        rank=np.empty(n),
        names=[],
        skus=[],
        descriptions=[],
        tags=[],
    )
    seen: set[str] = set()
    u = rng.random((n, 8)).tolist()
    out.spread = rng.lognormal(0.0, 0.35, n)
    i = 0
    for c, spec in enumerate(specs):
        k = counts[c]
        local_noun = rng.integers(0, len(spec.nouns), k)
        local_brand = cumulative_choice(rng.dirichlet(np.full(len(spec.brands), 2.0)), k, rng)
        out.rank[i : i + k] = rng.permutation(k)
        out.noun[i : i + k] = noun_base[c] + local_noun
        out.brand[i : i + k] = brand_base[c] + local_brand
        for j, (ln, lb) in enumerate(zip(local_noun.tolist(), local_brand.tolist(), strict=True)):
            _add_product(out, i, spec, spec.nouns[ln], spec.brands[lb], u[i], seen)
            out.skus.append(f"{spec.code}-{j + 1:06d}")
            i += 1
    return out


def _add_product(
    out: _Drawn,
    i: int,
    spec: CategorySpec,
    nspec: NounSpec,
    brand: str,
    row: list[float],
    seen: set[str],
) -> None:
    """Name, describe, tag and price product ``i`` from its uniform draws ``row``."""
    name, size_idx, descriptor, adjective = _name(spec, nspec, brand, row, seen)
    seen.add(name)
    out.names.append(name)
    out.descriptions.append(_describe(spec, nspec, brand, adjective, row, size_idx))
    out.tags.append(_tags(spec, nspec, descriptor, row))
    out.consumable[i] = nspec.consumable
    out.price[i] = (
        spec.median_price * nspec.price_factor * (SIZE_PRICE[size_idx] if size_idx >= 0 else 1.0)
    )


def _prices(
    rng: np.random.Generator, price: np.ndarray, category: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(price in cents ending in 99 or 49, log price standardised within its category)."""
    ending = np.where(rng.random(len(price)) < 0.7, 99, 49)
    price_cents = np.floor(price).astype(np.int64) * 100 + ending
    logp = np.log(price_cents / 100.0)
    mean = np.bincount(category, weights=logp) / counts
    sd = np.sqrt(np.bincount(category, weights=(logp - mean[category]) ** 2) / counts)
    price_z = (logp - mean[category]) / np.where(sd > 0, sd, 1.0)[category]
    return price_cents, price_z


def _arrivals(
    rng: np.random.Generator,
    pull: np.ndarray,
    rank: np.ndarray,
    category_size: np.ndarray,
    days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(popularity, created offset, stock, active) per product: Zipf popularity within
    the category bent by the brand's ``pull``; a few new arrivals without history."""
    n = len(rank)
    popularity = pull / (rank + 1.0) ** 0.9
    new = (rng.random(n) < 0.02) & (category_size >= 10) & (rank > 0)
    popularity[new] = 0.0
    created_offset = np.where(
        new,
        -rng.uniform(0.5, 6.0, n) * DAY,
        -(days + rng.uniform(1.0, 400.0, n)) * DAY,
    )
    out_of_stock = rng.random(n) < 0.03
    stock = np.where(out_of_stock, 0, np.ceil(rng.lognormal(3.2, 0.9, n))).astype(np.int64)
    active = (rng.random(n) >= 0.01) | new
    return popularity, created_offset, stock, active


def _pick(options: tuple[str, ...], x: float) -> str:
    return options[min(int(x * len(options)), len(options) - 1)]


def _words(text: str) -> set[str]:
    """The words of ``text``, lower-cased ("chef's" is one word, "glass-top" two)."""
    return set(_WORD.findall(text.lower()))


def _name(
    spec: CategorySpec, nspec: NounSpec, brand: str, row: list[float], seen: set[str]
) -> tuple[str, int, str, str]:
    """A product name, its pack-size index (-1 if none), descriptor and adjective.

    The brand, type and pack size are always named; a model, descriptor, adjective or
    colour only when it adds a word the name does not have yet.
    """
    size_idx = min(int(row[5] * len(nspec.sizes)), len(nspec.sizes) - 1) if nspec.sizes else -1
    for attempt in range(8):
        x = [(v + attempt * 0.618034) % 1.0 for v in row]  # deterministic re-rolls on a clash
        descriptor = _pick(nspec.descriptors, x[0]) if nspec.descriptors else ""
        adjective = _pick(spec.adjectives, x[1])
        model = _pick(spec.models, x[2])
        style = int(x[3] * 3)
        size = nspec.sizes[size_idx] if size_idx >= 0 else ""
        used = _words(f"{brand} {nspec.name} {size}")
        front = [model] if spec.colours and x[4] < 0.4 else []
        front += [[descriptor], [adjective, descriptor], [adjective]][style]
        words = [brand, *_new_words(front, used), nspec.name]
        name = " ".join(words)
        if size:
            name += f", {size[0].upper()}{size[1:]}"
        elif not spec.colours and x[4] < 0.3:
            name += "".join(f", {m}" for m in _new_words([model], used))
        elif spec.colours and x[6] < 0.25:
            name += "".join(f", {c}" for c in _new_words([_pick(COLOURS, x[7])], used))
        if name not in seen:
            return name, size_idx, descriptor, adjective
    number = 2
    while f"{name} No. {number}" in seen:
        number += 1
    return f"{name} No. {number}", size_idx, descriptor, adjective


def _new_words(options: list[str], used: set[str]) -> list[str]:
    """The ``options`` that share no word with ``used`` or an earlier one (added to it)."""
    kept = []
    for option in options:
        words = _words(option)
        if words and not words & used:
            kept.append(option)
            used |= words
    return kept


def _describe(
    spec: CategorySpec, nspec: NounSpec, brand: str, adjective: str, row: list[float], size_idx: int
) -> str:
    """Two or three sentences: what it is, then category copy; no word said twice
    (but STOP_WORDS), so copy that would repeat one gives way to the next sentence."""
    noun = _soft_lower(nspec.name)
    used = _words(f"{noun} {brand}")
    adjective = _soft_lower(_fresh_adjective(spec, adjective, used))
    used |= _words(adjective)
    article = "An" if adjective[0] in "aeiou" else "A"
    a = int(row[2] * len(spec.sentences)) % len(spec.sentences)
    b = (a + 1 + int(row[3] * (len(spec.sentences) - 1))) % len(spec.sentences)
    starts = [a, b] if row[6] < 0.6 else [a]
    copy, names_brand = [], False
    for start in starts:
        for k in range(len(spec.sentences)):
            template = spec.sentences[(start + k) % len(spec.sentences)]
            words = _words(template.format(brand="")) - STOP_WORDS
            if template in copy or words & used or (names_brand and "{brand}" in template):
                continue
            copy.append(template)
            used |= words
            names_brand |= "{brand}" in template
            break
    if row[6] >= 0.6 and size_idx >= 0:
        sizes = f"Available in: {_size_list(nspec.sizes)}."
        if not (_words(sizes) - STOP_WORDS) & used:
            copy.append(sizes)
    # The brand is named once: in the copy that names it, else in the first sentence.
    first = f"{article} {adjective} take on the {noun}" + (
        "." if names_brand else f", from {brand}."
    )
    sentences = [first, *(t.format(brand=brand) for t in copy)]
    return " ".join(sentences).replace("..", ".")  # brands such as "Crema Co."


def _fresh_adjective(spec: CategorySpec, adjective: str, used: set[str]) -> str:
    """``adjective``, or the next of the category's that shares no word with ``used``."""
    at = spec.adjectives.index(adjective)
    for k in range(len(spec.adjectives)):
        option = spec.adjectives[(at + k) % len(spec.adjectives)]
        if not _words(option) & used:
            return option
    return adjective


def _size_list(sizes: tuple[str, ...]) -> str:
    """Pack sizes with each unit said once: "250/500 g, 1 kg"."""
    groups: list[tuple[list[str], str]] = []
    for size in sizes:
        amount, _, unit = size.partition(" ")
        if not (unit and amount.isdigit()):
            groups.append(([size], ""))
        elif groups and groups[-1][1] == unit:
            groups[-1][0].append(amount)
        else:
            groups.append(([amount], unit))
    return ", ".join(f"{'/'.join(amounts)} {unit}".strip() for amounts, unit in groups)


def _tags(spec: CategorySpec, nspec: NounSpec, descriptor: str, row: list[float]) -> str:
    pool = spec.tags
    first = int(row[4] * len(pool)) % len(pool)
    second = (first + 1 + int(row[7] * (len(pool) - 1))) % len(pool)
    words = [pool[first], pool[second], nspec.name.lower(), descriptor.lower()]
    return ", ".join(w for w in dict.fromkeys(words) if w)


def _unique_slugs(names: list[str]) -> list[str]:
    used: dict[str, int] = {}
    slugs = []
    for name in names:
        base = slugify(name)[:270] or "product"
        count = used.get(base, 0) + 1
        used[base] = count
        slugs.append(base if count == 1 else f"{base}-{count}")
    return slugs


def _neighbours(rng, category, noun, brand, by_category, by_noun, by_brand) -> np.ndarray:
    """Products browsed after each product: same type, same brand, same category."""
    n = len(category)
    cols = []
    noun_ok = by_noun.sizes[noun] >= 2
    brand_ok = by_brand.sizes[brand] >= 2
    for kind in ("noun", "noun", "noun", "brand", "brand", "category"):
        picks = by_category.sample(category, rng)
        if kind == "noun":
            picks[noun_ok] = by_noun.sample(noun[noun_ok], rng)
        elif kind == "brand":
            picks[brand_ok] = by_brand.sample(brand[brand_ok], rng)
        # Avoid "next item = this item": one re-draw from the category.
        same = picks == np.arange(n)
        picks[same] = by_category.sample(category[same], rng)
        cols.append(picks)
    return np.stack(cols, axis=1)


def _partners(rng, specs, noun_base, category, noun, by_category, by_noun) -> np.ndarray:
    """Complementary products per product, from the COMPLEMENTS pairs when present,
    else from related categories, else from the product's own category."""
    index = {s.name: c for c, s in enumerate(specs)}
    noun_id = {
        (s.name, ns.name): noun_base[c] + k
        for c, s in enumerate(specs)
        for k, ns in enumerate(s.nouns)
    }
    pair_options: dict[int, list[int]] = {}
    for a, b in COMPLEMENTS:
        if a in noun_id and b in noun_id:
            ga, gb = noun_id[a], noun_id[b]
            if by_noun.nonempty[gb]:
                pair_options.setdefault(ga, []).append(gb)
            if by_noun.nonempty[ga]:
                pair_options.setdefault(gb, []).append(ga)
    n = len(category)
    out = np.empty((n, PARTNERS), dtype=np.int64)
    for g in np.unique(noun):
        members = np.flatnonzero(noun == g)
        c = category[members[0]]
        nouns = pair_options.get(int(g), [])
        cats = [index[r] for r in specs[c].related if r in index and by_category.nonempty[index[r]]]
        for col in range(PARTNERS):
            if nouns and (col < 2 or not cats):
                choice = np.asarray(nouns)[rng.integers(0, len(nouns), len(members))]
                out[members, col] = by_noun.sample(choice, rng)
            else:
                options = np.asarray(cats or [c])
                choice = options[rng.integers(0, len(options), len(members))]
                out[members, col] = by_category.sample(choice, rng)
    return out
