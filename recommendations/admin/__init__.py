"""The recommendations admin, one module per room; the registrations are here.

events.py    the behaviour log (read-only); shopper.py, each shopper's inspection page
versions.py  model versions, with actions.py and the pages overview.py (charts.py),
             online.py and abtest.py (sharing pages.py)
lists.py     the precomputed per-shopper and per-product lists (tables.py, mixins.py)
users.py     the user admin, linked to each shopper's inspection page
"""

from django.contrib import admin

from ..models import Interaction, ModelVersion, RelatedProducts, UserRecommendations
from . import users  # noqa: F401 - swaps in the user admin with the shopper link
from .events import InteractionAdmin
from .lists import RelatedProductsAdmin, UserRecommendationsAdmin
from .versions import ModelVersionAdmin

admin.site.register(Interaction, InteractionAdmin)
admin.site.register(ModelVersion, ModelVersionAdmin)
admin.site.register(UserRecommendations, UserRecommendationsAdmin)
admin.site.register(RelatedProducts, RelatedProductsAdmin)
