"""A shopper in a real (headless Chromium) browser: browse, add to cart, check out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from shop.models import Order
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browse_add_to_cart_and_check_out(live_server, browser):
    lamps = CategoryFactory(name="Lamps", slug="lamps")
    lamp = ProductFactory(
        name="Brass Desk Lamp", slug="brass-desk-lamp", category=lamps, price=Decimal("45.00")
    )
    ProductFactory(name="Paper Lantern", category=lamps, stock=3)
    wait = WebDriverWait(browser, 15)

    browser.get(live_server.url + "/")
    assert "Shopwise" in browser.title
    browser.find_element(
        By.CSS_SELECTOR, f'.category-tiles a[href="/category/{lamps.slug}/"]'
    ).click()
    wait.until(ec.title_contains("Lamps"))

    browser.find_element(By.XPATH, "//h3[text()='Brass Desk Lamp']").click()
    wait.until(ec.title_contains("Brass Desk Lamp"))
    assert "£45.00" in browser.find_element(By.CSS_SELECTOR, ".product-price").text
    image = browser.find_element(By.CSS_SELECTOR, ".product-gallery img")
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 0

    quantity = browser.find_element(By.NAME, "quantity")
    quantity.clear()
    quantity.send_keys("2")
    browser.find_element(By.CSS_SELECTOR, ".add-to-cart button[type=submit]").click()
    wait.until(ec.title_contains("Your cart"))
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-count]").text == "2"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-total]").text == "£90.00"

    browser.find_element(By.LINK_TEXT, "Go to checkout").click()
    wait.until(ec.title_contains("Checkout"))
    browser.find_element(By.NAME, "full_name").send_keys("Ada Lovelace")
    browser.find_element(By.NAME, "email").send_keys("ada@example.com")
    browser.find_element(By.NAME, "address").send_keys("12 St James's Square\nLondon")
    browser.find_element(By.CSS_SELECTOR, ".checkout-form button[type=submit]").click()
    wait.until(ec.title_contains("confirmed"))

    order = Order.objects.get()
    assert (
        browser.find_element(By.CSS_SELECTOR, "[data-testid=order-number]").text == f"#{order.pk}"
    )
    assert order.full_name == "Ada Lovelace"
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [(lamp.pk, 2)]
    lamp.refresh_from_db()
    assert lamp.stock == 8
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-count]").text == "0"
