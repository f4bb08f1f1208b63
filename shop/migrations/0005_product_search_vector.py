"""A stored full-text document per product on PostgreSQL, its category's name included.

An index expression cannot read another table, so the document lives in a
``search_vector`` column kept by triggers: a product's row is recomputed when its name,
brand, description or category changes, and a category's products when the category is
renamed. Triggers also fire for bulk_create and COPY, so the importers and the demo seed
need no code of their own. The GIN index moves from 0002's expression to the column (same
name). Django does not know the column (shop/search.py reads it by name): other
databases search by substring and get nothing here.
"""

from django.db import migrations

INDEX = "shop_product_search_gin"

DOCUMENT_FUNCTION = """
CREATE OR REPLACE FUNCTION shop_product_search_document(
    name text, brand text, category text, description text
) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, COALESCE(name, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, COALESCE(brand, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, COALESCE(category, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'C')
$$
"""

PRODUCT_TRIGGER = """
CREATE OR REPLACE FUNCTION shop_product_search_vector_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := shop_product_search_document(
        NEW.name, NEW.brand,
        (SELECT c.name FROM shop_category c WHERE c.id = NEW.category_id),
        NEW.description);
    RETURN NEW;
END $$;
CREATE TRIGGER shop_product_search_vector
    BEFORE INSERT OR UPDATE OF name, brand, description, category_id ON shop_product
    FOR EACH ROW EXECUTE FUNCTION shop_product_search_vector_update();
"""

CATEGORY_TRIGGER = """
CREATE OR REPLACE FUNCTION shop_category_search_vector_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shop_product p
    SET search_vector = shop_product_search_document(p.name, p.brand, NEW.name, p.description)
    WHERE p.category_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER shop_category_search_vector
    AFTER UPDATE OF name ON shop_category
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION shop_category_search_vector_update();
"""

BACKFILL = """
UPDATE shop_product p
SET search_vector = shop_product_search_document(p.name, p.brand, c.name, p.description)
FROM shop_category c WHERE c.id = p.category_id
"""

OLD_INDEX = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON shop_product USING gin ((
    setweight(to_tsvector('english'::regconfig, COALESCE(name, '')::text), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(brand, '')::text), 'B')
    || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'C')
))
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE shop_product ADD COLUMN search_vector tsvector")
    for statement in (DOCUMENT_FUNCTION, PRODUCT_TRIGGER, CATEGORY_TRIGGER, BACKFILL):
        schema_editor.execute(statement)
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"CREATE INDEX {INDEX} ON shop_product USING gin (search_vector)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS shop_category_search_vector ON shop_category;"
        "DROP TRIGGER IF EXISTS shop_product_search_vector ON shop_product;"
        "DROP FUNCTION IF EXISTS shop_category_search_vector_update();"
        "DROP FUNCTION IF EXISTS shop_product_search_vector_update();"
        "ALTER TABLE shop_product DROP COLUMN IF EXISTS search_vector;"
        "DROP FUNCTION IF EXISTS shop_product_search_document(text, text, text, text);"
    )
    schema_editor.execute(OLD_INDEX)


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_order_checkout_token")]

    operations = [migrations.RunPython(create, drop)]
