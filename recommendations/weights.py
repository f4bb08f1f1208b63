"""How much events weigh, for training and for trending alike (no Django imports)."""

# Implicit-feedback weight of one event of each kind (view < cart < purchase).
KIND_WEIGHTS: dict[str, float] = {"view": 1.0, "cart": 3.0, "purchase": 5.0}
# The most one shopper's events can weigh on one product (four purchases, or twenty
# views): a client that repeats one event a thousand times (the API accepts 1,000 a
# day) must not outweigh the crowd in popularity or in any model.
CELL_WEIGHT_CAP = 20.0
