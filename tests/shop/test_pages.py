"""Every storefront page answers with real data; unknown things are 404s."""

from decimal import Decimal

import pytest
from django.urls import reverse

from shop.views.common import PER_PAGE
from tests.factories import CategoryFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_home_shows_categories_new_arrivals_and_bestsellers(client, product):
    OrderLineFactory(product=product, quantity=3)
    ProductFactory(name="Hidden Thing", active=False)
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Kitchen" in html
    assert "Blue Enamel Mug" in html
    assert "Best sellers" in html
    assert "Hidden Thing" not in html
    assert product.get_absolute_url() in html


def _between(html: str, start: str, end: str) -> str:
    """The part of ``html`` from the first ``start`` to the next ``end``."""
    head = html.index(start)
    return html[head : html.index(end, head)]


def test_every_category_with_products_is_in_the_menus(client):
    """The bar shows the first few, "More categories" the rest; the home page all."""
    stocked = [CategoryFactory(name=f"Aisle {n:02d}") for n in range(12)]
    stocked.append(CategoryFactory(name="Pets", slug="pets"))
    for n, cat in enumerate(stocked):
        ProductFactory.create_batch(1 + n % 3, category=cat)
    empty = CategoryFactory(name="Empty Shelf")
    retired = CategoryFactory(name="Retired Range")
    ProductFactory(category=retired, active=False)
    html = client.get(reverse("shop:home")).content.decode()
    nav = _between(html, '<nav class="category-nav"', "</nav>")
    tiles = _between(html, '<ul class="category-tiles">', "</ul>")
    more = _between(nav, '<details class="category-more">', "</details>")
    for cat in stocked:
        link = f'href="{cat.get_absolute_url()}"'
        assert nav.count(link) == 1, cat.name
        assert link in tiles, cat.name
    assert f'href="{stocked[-1].get_absolute_url()}"' in more  # "Pets" sorts last
    for cat in (empty, retired):
        assert cat.get_absolute_url() not in html


def test_home_with_an_empty_shop(client):
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    assert "No products yet" in response.content.decode()


def test_catalog_lists_active_products_only(client, product):
    ProductFactory(name="Retired Teapot", active=False)
    ProductFactory(name="Sold Out Bowl", stock=0)
    response = client.get(reverse("shop:catalog"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Blue Enamel Mug" in html
    assert "Sold Out Bowl" in html  # out of stock products stay visible, marked sold out
    assert "Sold out" in html
    assert "Retired Teapot" not in html


def test_catalog_paginates_24_per_page(client, category):
    ProductFactory.create_batch(PER_PAGE + 5, category=category)
    first = client.get(reverse("shop:catalog"))
    second = client.get(reverse("shop:catalog"), {"page": 2})
    assert len(first.context["page"].object_list) == PER_PAGE
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()
    # Junk page numbers fall back to a real page instead of an error.
    assert client.get(reverse("shop:catalog"), {"page": "abc"}).status_code == 200
    assert client.get(reverse("shop:catalog"), {"page": 999}).context["page"].number == 2


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Apple", "Banana", "Cherry"]),
        ("price", ["Cherry", "Apple", "Banana"]),
        ("-price", ["Banana", "Apple", "Cherry"]),
        ("newest", ["Cherry", "Banana", "Apple"]),
        ("bogus", ["Apple", "Banana", "Cherry"]),
    ],
)
def test_catalog_sorting(client, category, sort, expected):
    for name, price in [("Apple", "5.00"), ("Banana", "9.00"), ("Cherry", "1.00")]:
        ProductFactory(name=name, price=Decimal(price), category=category)
    response = client.get(reverse("shop:catalog"), {"sort": sort})
    assert [p.name for p in response.context["page"].object_list] == expected


def test_category_page_lists_only_that_category(client, product):
    other = ProductFactory(name="Garden Trowel", category=CategoryFactory(name="Garden"))
    response = client.get(reverse("shop:category", args=[product.category.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Blue Enamel Mug" in html
    assert other.name not in html
    assert "Things for cooking." in html


def test_product_page(client, product):
    response = client.get(product.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    for text in [
        "Blue Enamel Mug",
        "£8.50",
        "Hearth",
        "Kitchen",
        "A sturdy mug for tea.",
        "Only 5",
    ]:
        assert text in html
    assert reverse("shop:cart_add", args=[product.pk]) in html
    assert 'name="quantity"' in html
    assert "csrfmiddlewaretoken" in html


def test_out_of_stock_product_page_has_no_add_form(client):
    item = ProductFactory(stock=0)
    response = client.get(item.get_absolute_url())
    assert response.status_code == 200
    assert "Out of stock" in response.content.decode()
    assert reverse("shop:cart_add", args=[item.pk]) not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/products/no-such-product/",
        "/category/no-such-category/",
        "/products/no-such-product/image.svg",
        "/checkout/done/999999/",
    ],
)
def test_unknown_things_are_404_with_the_shop_layout(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "We couldn" in response.content.decode()


def test_inactive_product_page_is_404(client):
    item = ProductFactory(active=False)
    assert client.get(item.get_absolute_url()).status_code == 404


def test_500_template_renders_without_request_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html


def test_product_list_query_count_does_not_grow_with_products(
    client, category, django_assert_max_num_queries
):
    ProductFactory.create_batch(PER_PAGE, category=category)
    ProductFactory.create_batch(10, category=CategoryFactory())
    client.get(reverse("shop:catalog"))  # warm the session
    with django_assert_max_num_queries(6):
        assert client.get(reverse("shop:catalog")).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(reverse("shop:category", args=[category.slug])).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(reverse("shop:search"), {"q": "Product"}).status_code == 200


def test_home_and_product_page_query_counts(
    client, product, django_assert_max_num_queries, settings
):
    """The shop's own queries (widgets are counted in tests/recommendations/test_widgets.py)."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGETS": False}
    ProductFactory.create_batch(12, category=product.category)
    OrderLineFactory(product=product)
    client.get(product.get_absolute_url())  # creates the session
    client.get(reverse("shop:home"))  # caches the best-seller ranking
    with django_assert_max_num_queries(6):
        client.get(reverse("shop:home"))
    # Includes whatever the product_viewed receivers write (one event row).
    with django_assert_max_num_queries(10):
        client.get(product.get_absolute_url())
