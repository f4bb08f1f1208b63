"""``{% product_cards products %}``: a grid's cards (shop/cards.py), one CSRF field for all."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from shop.cards import csrf_field, product_cards

register = template.Library()


@register.simple_tag(takes_context=True, name="product_cards")
def render_product_cards(context, products) -> SafeString:
    return mark_safe("\n".join(product_cards(products, csrf=csrf_field(context))))
