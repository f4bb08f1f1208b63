"""The recommendations admin, one module per room; the registrations are here.

events.py    the behaviour log and the lists shown (read-only); shopper.py, each
             shopper's inspection page
versions.py  model versions and their actions (actions.py); its pages overview.py
             (SVG from charts.py), online.py and abtest.py share pages.py
lists.py     the precomputed per-shopper and per-product lists
users.py     Django's user admin plus a link to each shopper's inspection page
tables.py, mixins.py  display helpers and behaviours the model admins share
"""

from django.contrib import admin
from django.contrib.auth.models import User

from ..models import Impression, Interaction, ModelVersion, RelatedProducts, UserRecommendations
from .events import ImpressionAdmin, InteractionAdmin
from .lists import RelatedProductsAdmin, UserRecommendationsAdmin
from .users import ShopperUserAdmin
from .versions import ModelVersionAdmin

admin.site.register(Interaction, InteractionAdmin)
admin.site.register(Impression, ImpressionAdmin)
admin.site.register(ModelVersion, ModelVersionAdmin)
admin.site.register(UserRecommendations, UserRecommendationsAdmin)
admin.site.register(RelatedProducts, RelatedProductsAdmin)

# Ours subclasses auth's UserAdmin, whose import registered it whatever the app order.
admin.site.unregister(User)
admin.site.register(User, ShopperUserAdmin)
