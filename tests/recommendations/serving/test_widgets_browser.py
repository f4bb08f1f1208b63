"""The widgets as a shopper sees them in headless Chromium: the home list follows what a
guest views, a page's rows never repeat each other, and rows are whole at common widths."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from django.core.cache import cache
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.factories import OrderLineFactory
from tests.recommendations.serving.serving_support import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Set to a directory to keep the screenshots the grid test takes (to look at them).
SHOTS = os.environ.get("WIDGET_SCREENSHOTS", "")


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def items(browser, widget: str) -> list[str]:
    found = browser.find_elements(By.CSS_SELECTOR, f'[data-widget="{widget}"] [data-product]')
    return [item.get_attribute("data-product") for item in found]


def reasons(browser, widget: str) -> list[str]:
    found = browser.find_elements(By.CSS_SELECTOR, f'[data-widget="{widget}"] .rec-reason')
    return [item.text for item in found]


def test_three_views_change_the_home_list_with_a_reason(live_server, browser, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGET_SIZE": 4}
    world = build_world(10)
    browser.get(live_server.url + "/")
    assert not items(browser, "for-you") and items(browser, "trending")  # one cold-start row
    viewed = world.kitchen[4:7]
    for product in viewed:
        browser.get(live_server.url + product.get_absolute_url())
        assert product.name in browser.title
    browser.get(live_server.url + "/")
    assert items(browser, "for-you")
    names = {p.name for p in viewed}
    said = reasons(browser, "for-you")
    assert any(r.removeprefix("Because you viewed ") in names for r in said), said


def test_a_guests_home_repeats_nothing(live_server, browser):
    world = build_world(14)
    for product in world.garden[:4]:  # best sellers that are trending too
        OrderLineFactory(product=product, quantity=2)
    browser.get(live_server.url + "/")
    titles = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".section-head h2")]
    assert "Recommended for you" not in titles and "Trending now" in titles
    best = browser.find_element(By.XPATH, "//section[.//h2[text()='Best sellers']]")
    links = best.find_elements(By.CSS_SELECTOR, ".product-card-link")
    best_slugs = [a.get_attribute("href").split("/products/")[1].split("/")[0] for a in links]
    trending = browser.find_elements(By.CSS_SELECTOR, '[data-widget="trending"] .product-card-link')
    trend_slugs = [a.get_attribute("href").split("/products/")[1].split("/")[0] for a in trending]
    assert len(trend_slugs) == 8 and len(best_slugs) == 4
    assert not set(trend_slugs) & set(best_slugs)
    assert [r for r in reasons(browser, "trending") if r] == []  # the title says it


def rows(browser, widget: str) -> list[int]:
    """How many cards each visual row of the widget holds."""
    cards = browser.find_elements(By.CSS_SELECTOR, f'[data-widget="{widget}"] .rec-item')
    tops = Counter(round(card.rect["y"]) for card in cards)
    return [tops[y] for y in sorted(tops)]


def section_rows(browser, heading: str) -> list[int]:
    """How many cards each visual row of the home section titled ``heading`` holds."""
    section = browser.find_element(By.XPATH, f"//section[.//h2[text()='{heading}']]")
    cards = section.find_elements(By.CSS_SELECTOR, ".product-card")
    tops = Counter(round(card.rect["y"]) for card in cards)
    return [tops[y] for y in sorted(tops)]


@pytest.mark.parametrize(("width", "columns"), [(1280, 4), (1920, 4), (412, 2)])
def test_eight_item_widgets_fill_whole_rows(live_server, browser, width, columns):
    world = build_world(14)
    kettle = world.kitchen[0]
    browser.set_window_size(width, 2600)  # tall: pictures of whole widgets
    pages = {
        "home": ("/", ["trending"]),
        "product": (kettle.get_absolute_url(), ["similar", "bought-together"]),
    }
    for name, (url, shown) in pages.items():
        browser.get(live_server.url + url)
        for widget in shown:
            assert rows(browser, widget) == [columns] * (8 // columns), (width, widget)
            shoot(browser, widget, f"{name}-{widget}-{width}.png")
        if name == "home":  # the shop's own eight-product sections line up the same way
            assert section_rows(browser, "New arrivals") == [columns] * (8 // columns), width
    # the same reason is said once over a row of "similar", in short
    said = reasons(browser, "similar")
    assert said.count(f"Similar to {kettle.name}") == 1
    add = browser.find_element(By.CSS_SELECTOR, ".add-to-cart button[type=submit]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", add)
    add.click()
    WebDriverWait(browser, 15).until(ec.title_contains("Your cart"))  # added, redirected
    assert rows(browser, "complete-order") == [columns] * (8 // columns)
    shoot(browser, "complete-order", f"cart-{width}.png")


def shoot(browser, widget: str, name: str) -> None:
    """Keep a picture of the widget in SHOTS (if set)."""
    if SHOTS:
        section = browser.find_element(By.CSS_SELECTOR, f'[data-widget="{widget}"]')
        section.screenshot(os.path.join(SHOTS, name))
