"""The shop's admin pages load for staff."""

import pytest
from django.urls import reverse

from tests.factories import OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "admin:shop_category_changelist",
        "admin:shop_product_changelist",
        "admin:shop_order_changelist",
        "admin:shop_product_add",
    ],
)
def test_changelists(client, name):
    OrderLineFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(reverse(name))
    assert response.status_code == 200


def test_order_change_page_shows_lines(client):
    line = OrderLineFactory(product__name="Copper Kettle")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(reverse("admin:shop_order_change", args=[line.order.pk]))
    assert response.status_code == 200
    assert "Copper Kettle" in response.content.decode()


def test_category_changelist_counts_products(client):
    line = OrderLineFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(reverse("admin:shop_category_changelist"))
    counts = {c.pk: c._product_count for c in response.context["cl"].result_list}
    assert counts[line.product.category_id] == 1
