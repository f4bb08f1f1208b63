"""GIN index for product search on PostgreSQL. Its expression must stay identical to the
SearchVector built in shop/search.py (tests/shop/test_search.py checks the planner
uses it); other databases search by substring and get nothing here."""

from django.db import migrations

INDEX = "shop_product_search_gin"
CREATE = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON shop_product USING gin ((
    setweight(to_tsvector('english'::regconfig, COALESCE(name, '')::text), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(brand, '')::text), 'B')
    || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'C')
))
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
