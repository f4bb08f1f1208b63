"""A guest in headless Chromium views three products and the home page's list follows."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from selenium.webdriver.common.by import By

from tests.recommendations.serving_support import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def for_you(browser) -> tuple[list[str], list[str]]:
    items = browser.find_elements(By.CSS_SELECTOR, '[data-widget="for-you"] [data-product]')
    return (
        [item.get_attribute("data-product") for item in items],
        [item.find_element(By.CSS_SELECTOR, ".rec-reason").text for item in items],
    )


def test_three_views_change_the_home_list_with_a_reason(live_server, browser, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGET_SIZE": 4}
    cache.clear()
    world = build_world(10)
    browser.get(live_server.url + "/")
    before, reasons = for_you(browser)
    assert before and set(reasons) == {"Trending now"}
    viewed = world.kitchen[4:7]
    for product in viewed:
        browser.get(live_server.url + product.get_absolute_url())
        assert product.name in browser.title
    browser.get(live_server.url + "/")
    after, reasons = for_you(browser)
    assert after != before
    names = {p.name for p in viewed}
    assert any(r.removeprefix("Because you viewed ") in names for r in reasons), reasons
    cache.clear()
