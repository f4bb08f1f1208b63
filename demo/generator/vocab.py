"""Word lists the demo catalogue and shoppers are built from (fictional brands)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NounSpec:
    """One product type in a category: how it is named and priced."""

    name: str
    price_factor: float  # times the category's median price
    descriptors: tuple[str, ...]  # words that fit in front of this noun
    sizes: tuple[str, ...] = ()  # pack sizes for consumables, smallest first
    consumable: bool = False  # bought again and in quantities


@dataclass(frozen=True)
class CategorySpec:
    """One catalogue category with its vocabulary, brands and price level."""

    name: str
    code: str  # SKU prefix
    description: str
    median_price: float
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    nouns: tuple[NounSpec, ...]
    models: tuple[str, ...]
    tags: tuple[str, ...]
    sentences: tuple[str, ...]  # description templates; see catalogue.describe()
    related: tuple[str, ...] = field(default=())  # complementary category names
    colours: bool = True  # whether a colour variant makes sense in a product name


def N(  # noqa: N802  (reads like a table row)
    name: str,
    price: float,
    descriptors: str,
    sizes: str = "",
    consumable: bool = False,
) -> NounSpec:
    """Compact constructor for NounSpec rows below."""
    return NounSpec(
        name=name,
        price_factor=price,
        descriptors=tuple(d.strip() for d in descriptors.split(",") if d.strip()),
        sizes=tuple(s.strip() for s in sizes.split(",") if s.strip()),
        consumable=consumable,
    )


def _t(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        name="Kitchen",
        code="KIT",
        description="Knives, pans and tools for people who cook every day.",
        median_price=34.0,
        brands=_t("Hearthstone, Copperfield, Maple & Main, Ironvale, Saltbox, Larder Theory"),
        adjectives=_t("Professional, Everyday, Classic, Compact, Heavy-Duty, Nonstick, Nordic"),
        nouns=(
            N("Chef's Knife", 1.6, "8-Inch, Damascus, Forged, Japanese-Style"),
            N("Cutting Board", 0.9, "End-Grain, Walnut, Bamboo, Olive Wood"),
            N("Knife Sharpener", 0.8, "Whetstone, Two-Stage, Ceramic"),
            N("Cast Iron Skillet", 1.2, "Pre-Seasoned, 10-Inch, 12-Inch, Enamelled"),
            N("Saucepan", 1.1, "Tri-Ply, Stainless, Copper-Core"),
            N("Dutch Oven", 2.6, "Enamelled, 5-Quart, Cast Iron"),
            N("Mixing Bowl Set", 0.8, "Stainless, Glass, Nesting"),
            N("Oven Mitts", 0.4, "Silicone, Quilted Cotton, Heat-Proof"),
            N("Digital Kitchen Scale", 0.8, "Slim, Precision, Glass-Top"),
            N("Olive Oil", 0.45, "Extra Virgin, Cold-Pressed, Early Harvest", "500 ml, 1 l", True),
        ),
        models=_t("Pro, Chef Series, Home, Mk II, Signature, Artisan"),
        tags=_t("cooking, kitchen, gift idea, dishwasher safe, everyday, home chef"),
        sentences=(
            "Balanced in the hand and easy to clean after a long evening of cooking.",
            "Built to handle daily use in a busy kitchen without losing its edge.",
            "A favourite of home cooks who want restaurant results on a weeknight.",
            "Pairs well with the rest of the {brand} range.",
        ),
        related=_t("Coffee & Tea, Books, Garden"),
    ),
    CategorySpec(
        name="Coffee & Tea",
        code="COF",
        description="Beans, leaves, grinders and brewers for a better cup at home.",
        median_price=22.0,
        brands=_t("Brewline, Roastwell, Steep & Sip, Morning Ritual, Crema Co., Highland Estate"),
        adjectives=_t("Barista, Slow, Artisan, Smooth, Bold, Morning, Small-Batch"),
        nouns=(
            N("Burr Grinder", 4.0, "Conical, Flat, Hand, Electric"),
            N(
                "Whole Bean Coffee",
                0.7,
                "Ethiopian, Colombian, Espresso Blend, Decaf, Sumatra",
                "250 g, 500 g, 1 kg",
                True,
            ),
            N("Pour-Over Dripper", 1.1, "Ceramic, Glass, Copper"),
            N("Paper Filters", 0.3, "Unbleached, Cone, Flat-Bottom", "100 pack, 300 pack", True),
            N("Gooseneck Kettle", 2.4, "Electric, Stovetop, Temperature-Control"),
            N("French Press", 1.3, "Double-Wall, Glass, Stainless"),
            N("Espresso Machine", 12.0, "Dual-Boiler, Compact, Semi-Automatic"),
            N(
                "Loose Leaf Tea",
                0.6,
                "Earl Grey, Sencha, Assam, Chamomile, Oolong",
                "50 g, 100 g, 250 g",
                True,
            ),
            N("Tea Infuser", 0.5, "Mesh, Glass, Bamboo-Lid"),
            N("Travel Mug", 1.0, "Insulated, Leak-Proof, Ceramic-Lined"),
        ),
        models=_t("Origin, One, Classic, Duo, Pro, Nomad"),
        tags=_t("coffee, tea, brewing, morning, barista, gift idea"),
        sentences=(
            "Brings out sweetness and clarity in every cup.",
            "Designed for a calm morning ritual and quick to clean.",
            "Roasters and tea blenders recommend it for consistent results.",
            "Works with the {brand} brewing range and most standard gear.",
        ),
        related=_t("Kitchen, Books, Home Office"),
    ),
    CategorySpec(
        name="Home Office",
        code="OFF",
        description="Desks, chairs and stationery for a workspace you enjoy.",
        median_price=39.0,
        brands=_t("Deskcraft, Penhaven, Workwell, Ledger & Line, Northdesk, Studio Nine"),
        adjectives=_t("Ergonomic, Minimal, Adjustable, Compact, Premium, Quiet"),
        nouns=(
            N("Standing Desk", 9.0, "Electric, Dual-Motor, Oak-Top, Bamboo-Top"),
            N("Office Chair", 6.5, "Mesh, Task, High-Back"),
            N("Monitor Arm", 2.0, "Gas-Spring, Dual, Single"),
            N("Desk Mat", 0.7, "Felt, Leather, Cork"),
            N("Mechanical Keyboard", 2.4, "Wireless, Tenkeyless, Low-Profile"),
            N("Wrist Rest", 0.5, "Memory Foam, Walnut, Gel"),
            N("Notebook", 0.4, "Dotted, Ruled, Hardcover, A5", "single, 3-pack", True),
            N("Fountain Pen", 1.3, "Brass, Resin, Aluminium"),
            N("Ink Cartridges", 0.25, "Blue-Black, Black, Royal Blue", "6 pack, 20 pack", True),
            N("Footrest", 0.9, "Tilting, Foam, Wooden"),
        ),
        models=_t("Flow, Studio, Pro, Air, Classic, S2"),
        tags=_t("work from home, desk setup, ergonomic, stationery, productivity"),
        sentences=(
            "Keeps long working days comfortable and your desk uncluttered.",
            "A clean design that fits a home office or a shared studio.",
            "Tested through thousands of hours of everyday desk work.",
            "Completes a {brand} desk setup.",
        ),
        related=_t("Lighting, Books, Coffee & Tea, Audio"),
    ),
    CategorySpec(
        name="Outdoor",
        code="OUT",
        description="Tents, packs and camp kit for weekends away from the city.",
        median_price=55.0,
        brands=_t("Ridgeway, Summit & Pine, Trailhand, Northfold, Wildcamp, Cairn"),
        adjectives=_t("Ultralight, Waterproof, Packable, Rugged, Four-Season, Trail"),
        nouns=(
            N("Tent", 4.0, "Two-Person, Backpacking, Family, Tunnel"),
            N("Sleeping Bag", 2.2, "Down, Synthetic, Three-Season"),
            N("Sleeping Pad", 1.3, "Inflatable, Foam, Self-Inflating"),
            N("Camping Stove", 1.0, "Compact, Canister, Two-Burner"),
            N("Gas Canister", 0.15, "Butane Mix, Winter Blend", "230 g, 450 g", True),
            N("Headlamp", 0.6, "Rechargeable, 400-Lumen, Red-Light"),
            N("Hiking Backpack", 2.0, "35 L, 50 L, Daypack"),
            N("Water Filter", 0.8, "Squeeze, Pump, Straw"),
            N("Camp Chair", 0.9, "Folding, Low, Packable"),
        ),
        models=_t("Ascent, Ranger, Ridge, Venture, Base, Alto"),
        tags=_t("camping, hiking, outdoors, waterproof, lightweight, adventure"),
        sentences=(
            "Packs down small and stands up to wind and rain.",
            "Field-tested on long-distance trails in every season.",
            "Simple to set up after a long day on your feet.",
            "Part of the {brand} camp system.",
        ),
        related=_t("Running, Cycling, Books"),
    ),
    CategorySpec(
        name="Running",
        code="RUN",
        description="Shoes, clothing and gadgets for runners of every distance.",
        median_price=38.0,
        brands=_t("Strideon, Pacewell, Tempo Athletics, Fellrunner, Kinetic Nine, Milestone"),
        adjectives=_t("Lightweight, Cushioned, Breathable, Responsive, Trail, Race-Day"),
        nouns=(
            N("Running Shoes", 3.3, "Road, Trail, Carbon-Plate, Stability"),
            N("Running Socks", 0.35, "Merino, Cushioned, Anti-Blister", "single, 3-pack", True),
            N("Running Shorts", 0.9, "5-Inch, Split, Lined"),
            N("Running Jacket", 2.2, "Waterproof, Windproof, Reflective"),
            N("GPS Watch", 7.0, "Multisport, Solar, AMOLED"),
            N("Heart Rate Strap", 1.6, "Chest, Bluetooth, Dual-Band"),
            N("Hydration Vest", 2.0, "5 L, 12 L, Race"),
            N("Soft Flask", 0.5, "500 ml, 250 ml, Collapsible"),
            N("Energy Gels", 0.4, "Caffeine, Citrus, Salted Caramel", "6 pack, 24 pack", True),
        ),
        models=_t("Glide, Tempo, Pulse, Endure, Sprint, Volt"),
        tags=_t("running, marathon, trail, training, fitness, race day"),
        sentences=(
            "Built for daily miles and fast race days alike.",
            "Runners praise the fit and how little they notice it on the road.",
            "Light, breathable and easy to care for.",
            "Pairs with other {brand} running kit.",
        ),
        related=_t("Yoga & Fitness, Outdoor, Audio"),
    ),
    CategorySpec(
        name="Cycling",
        code="CYC",
        description="Helmets, lights and spares for commuting and weekend rides.",
        median_price=42.0,
        brands=_t("Spokesmith, Veloce Supply, Chainline, Roadhouse Cycles, Freewheel, Cadenza"),
        adjectives=_t("Aero, Commuter, Road, Gravel, Lightweight, All-Weather"),
        nouns=(
            N("Bike Helmet", 1.9, "MIPS, Urban, Road, Ventilated"),
            N("Bike Lights", 1.0, "USB-Rechargeable, 800-Lumen, Front and Rear"),
            N("Inner Tube", 0.2, "700c, 650b, 29er", "single, 2-pack", True),
            N("Mini Pump", 0.6, "CO2, Frame, High-Pressure"),
            N("Bike Lock", 1.2, "D-Lock, Folding, Chain"),
            N("Cycling Jersey", 1.6, "Merino, Short-Sleeve, Thermal"),
            N("Bib Shorts", 2.0, "Padded, Thermal, Cargo"),
            N("Chain Lube", 0.25, "Wet, Dry, Ceramic", "120 ml, 500 ml", True),
            N("Bike Computer", 4.5, "GPS, Colour, Compact"),
        ),
        models=_t("Apex, Tour, City, Aero, Climb, Vento"),
        tags=_t("cycling, commuting, road bike, gravel, bike maintenance"),
        sentences=(
            "Ready for wet commutes and long summer rides.",
            "Mechanics and club riders rate it for reliability.",
            "Quick to fit and built to last many seasons.",
            "Works with the rest of the {brand} cycling line.",
        ),
        related=_t("Outdoor, Running, Audio"),
    ),
    CategorySpec(
        name="Garden",
        code="GAR",
        description="Tools, seeds and planters for balconies, beds and allotments.",
        median_price=24.0,
        brands=_t("Greenhollow, Fieldmark, Shedworks Co., Bramble & Bloom, Tillwell"),
        adjectives=_t("Heavy-Duty, Ergonomic, Organic, Weatherproof, Compact, Heritage"),
        nouns=(
            N("Pruning Shears", 1.2, "Bypass, Anvil, Ratchet"),
            N("Gardening Gloves", 0.5, "Leather, Nitrile, Thorn-Proof"),
            N("Garden Hose", 1.6, "Expandable, 25 m, Kink-Free"),
            N("Hose Nozzle", 0.6, "Brass, 7-Pattern, Adjustable"),
            N(
                "Vegetable Seeds",
                0.15,
                "Tomato, Heritage Salad, Chilli, Courgette",
                "single packet, collection",
                True,
            ),
            N(
                "Potting Compost",
                0.5,
                "Peat-Free, Seed and Cutting, Multi-Purpose",
                "10 l, 40 l",
                True,
            ),
            N("Planter", 1.3, "Terracotta, Self-Watering, Raised"),
            N("Watering Can", 0.9, "Galvanised, 9 l, Long-Reach"),
            N("Trowel", 0.6, "Stainless, Ash-Handle, Transplanting"),
        ),
        models=_t("Classic, Grow, Allotment, Pro, Patio, Heritage"),
        tags=_t("gardening, grow your own, outdoor, balcony, plants"),
        sentences=(
            "Made for seasons of digging, planting and harvesting.",
            "Gardeners love how comfortable it is for long sessions.",
            "Tough enough for the allotment, neat on a balcony.",
            "A good match for other {brand} tools.",
        ),
        related=_t("Outdoor, Kitchen, Books"),
    ),
    CategorySpec(
        name="Books",
        code="BOK",
        description="Practical guides and cookbooks from independent publishers.",
        median_price=16.0,
        brands=_t("Larkspur Press, Quayside Books, Halcyon House, Fernleaf, Tidewater Press"),
        adjectives=_t("Illustrated, Complete, Pocket, Essential, Updated, Hardback"),
        nouns=(
            N("Cookbook", 1.3, "Sourdough, Weeknight, Vegetarian, Mediterranean"),
            N("Coffee Guide", 1.1, "Home Barista, Specialty, Brewing"),
            N("Running Handbook", 1.0, "Marathon, Trail, Beginner's"),
            N("Gardening Handbook", 1.1, "Kitchen Garden, Balcony, Seasonal"),
            N("Field Guide", 0.9, "Wildflower, Bird, Mushroom"),
            N("Travel Guide", 1.0, "Coastal Walks, City Weekends, Mountain Huts"),
            N("Novel", 0.7, "Literary, Crime, Historical, Sci-Fi"),
            N("Productivity Guide", 0.9, "Deep Work, Habits, Remote Work"),
        ),
        models=_t("Second Edition, Collector's Edition, Revised Edition, Anniversary Edition"),
        tags=_t("books, reading, gift idea, guide, bookshelf"),
        sentences=(
            "Clear, beautifully laid out and full of practical advice.",
            "Readers call it the one book on the subject worth owning.",
            "Written by practitioners, with photographs throughout.",
            "Published by {brand}.",
        ),
        related=_t("Kitchen, Coffee & Tea, Garden, Running, Outdoor"),
        colours=False,
    ),
    CategorySpec(
        name="Audio",
        code="AUD",
        description="Headphones, speakers and turntables for listening at home and away.",
        median_price=79.0,
        brands=_t("Sonora, Fidelio Labs, Waveform, Northtone, Vinyl House, Acoustica"),
        adjectives=_t("Wireless, Studio, Noise-Cancelling, Compact, Hi-Fi, Portable"),
        nouns=(
            N("Headphones", 2.4, "Over-Ear, On-Ear, Open-Back"),
            N("Earbuds", 1.4, "True Wireless, Sport, Noise-Cancelling"),
            N("Ear Tips", 0.12, "Foam, Silicone, Memory Foam", "3 pairs, 6 pairs", True),
            N("Headphone Stand", 0.35, "Walnut, Aluminium, Dual"),
            N("Bookshelf Speakers", 3.0, "Powered, Passive, Bluetooth"),
            N("Turntable", 3.6, "Belt-Drive, Direct-Drive, USB"),
            N("Record Cleaning Kit", 0.3, "Carbon Brush, Wet-Clean, Anti-Static"),
            N("Portable Speaker", 1.2, "Waterproof, Pocket, Party"),
        ),
        models=_t("One, Studio, Air, Max, Q3, Reference"),
        tags=_t("audio, music, hi-fi, wireless, bluetooth, vinyl"),
        sentences=(
            "Tuned for detail and a natural, fatigue-free sound.",
            "Reviewers single it out for build quality at the price.",
            "Sets up in minutes and sounds great straight out of the box.",
            "Designed to work with other {brand} gear.",
        ),
        related=_t("Home Office, Running, Cycling"),
    ),
    CategorySpec(
        name="Toys & Games",
        code="TOY",
        description="Board games, puzzles and building sets for family evenings.",
        median_price=26.0,
        brands=_t("Meeple & Co., Brightbox, Puzzlewood, Tinker Town, Rainy Day Studio"),
        adjectives=_t("Family, Cooperative, Strategy, Classic, Deluxe, Pocket"),
        nouns=(
            N("Board Game", 1.5, "Worker-Placement, Deck-Building, Trading, Dungeon"),
            N("Card Game", 0.6, "Party, Trick-Taking, Two-Player"),
            N("Card Sleeves", 0.3, "Standard, Premium, Matte", "100 pack, 300 pack", True),
            N("Jigsaw Puzzle", 0.8, "1000-Piece, 500-Piece, Panoramic"),
            N("Puzzle Mat", 0.9, "Roll-Up, Felt, Portfolio"),
            N("Building Set", 2.0, "Castle, Spaceship, Harbour"),
            N("Storage Box", 0.7, "Stackable, Wooden, Clear"),
            N("Wooden Train Set", 1.8, "Starter, Figure-of-Eight, Mountain"),
        ),
        models=_t("Deluxe Edition, Big Box, Travel Edition, Anniversary Edition"),
        tags=_t("games, family, kids, gift idea, puzzles, game night"),
        sentences=(
            "Quick to learn and different every time you play.",
            "A family favourite that comes out at every gathering.",
            "Sturdy components that survive years of play.",
            "From the makers at {brand}.",
        ),
        related=_t("Books, Baby"),
    ),
    CategorySpec(
        name="Bath & Body",
        code="BAT",
        description="Gentle soaps, oils and towels for a calmer bathroom.",
        median_price=14.0,
        brands=_t("Seabrook Apothecary, Wildmint, Lather & Lye, Ossa Botanics, Driftwood & Salt"),
        adjectives=_t("Natural, Soothing, Unscented, Botanical, Refillable, Vegan"),
        nouns=(
            N("Shampoo", 0.9, "Rosemary, Argan, Sulphate-Free", "250 ml, 500 ml", True),
            N("Conditioner", 0.9, "Rosemary, Argan, Sulphate-Free", "250 ml, 500 ml", True),
            N("Body Wash", 0.8, "Sea Salt, Lavender, Cedar", "250 ml, 500 ml", True),
            N("Loofah", 0.4, "Natural, Exfoliating, Sisal"),
            N("Bath Salts", 0.9, "Epsom, Eucalyptus, Magnesium", "500 g, 1 kg", True),
            N("Scented Candle", 1.4, "Fig, Cedarwood, Sea Breeze"),
            N("Bath Towel", 1.9, "Organic Cotton, Waffle, Linen"),
            N("Hand Cream", 0.7, "Shea, Unscented, Oat", "50 ml, 100 ml", True),
        ),
        models=_t("Classic, Refill, Travel, Gift Set, No. 3, Signature"),
        tags=_t("bath, skincare, self care, natural, gift idea, vegan"),
        sentences=(
            "Gentle on skin and kind to the planet.",
            "Made in small batches with plant-based ingredients.",
            "Turns an ordinary evening into a small ritual.",
            "Pairs with the rest of the {brand} collection.",
        ),
        related=_t("Lighting, Baby"),
    ),
    CategorySpec(
        name="Pets",
        code="PET",
        description="Food, beds and toys for dogs and cats.",
        median_price=21.0,
        brands=_t("Wagtail & Whisker, Good Boy Goods, Purrfect Supply, Hound & Hearth, Pawsome"),
        adjectives=_t("Durable, Orthopaedic, Grain-Free, Washable, Reflective, Calming"),
        nouns=(
            N("Dog Food", 1.4, "Salmon, Chicken, Senior, Puppy", "2 kg, 6 kg, 12 kg", True),
            N("Dog Bowl", 0.6, "Stainless, Ceramic, Slow-Feeder"),
            N("Dog Lead", 0.8, "Rope, Leather, Hands-Free"),
            N("Dog Collar", 0.7, "Leather, Padded, Reflective"),
            N("Dog Bed", 2.6, "Memory Foam, Donut, Bolster"),
            N("Dog Toy", 0.45, "Rope, Squeaky, Puzzle"),
            N("Cat Litter", 0.6, "Clumping, Wood Pellet, Tofu", "5 l, 10 l", True),
            N("Litter Tray", 1.0, "Hooded, Corner, Top-Entry"),
            N("Cat Scratcher", 1.2, "Sisal, Cardboard, Tower"),
        ),
        models=_t("Comfort, Trail, Home, Plus, Classic, Adventure"),
        tags=_t("pets, dogs, cats, pet care, walks"),
        sentences=(
            "Vets and owners recommend it for everyday comfort.",
            "Built to survive enthusiastic pets and frequent washing.",
            "A simple upgrade for a happier pet.",
            "Goes well with other {brand} pet essentials.",
        ),
        related=_t("Garden, Outdoor"),
    ),
    CategorySpec(
        name="Yoga & Fitness",
        code="FIT",
        description="Mats, weights and recovery tools for training at home.",
        median_price=30.0,
        brands=_t("Asana Works, Corefit, Balance Lab, Iron & Oak, Flowstate"),
        adjectives=_t("Non-Slip, Eco, Adjustable, Studio, Travel, Pro-Grade"),
        nouns=(
            N("Yoga Mat", 1.3, "Cork, Natural Rubber, 6 mm, Travel"),
            N("Yoga Block", 0.4, "Cork, Foam, Bamboo"),
            N("Foam Roller", 0.8, "Textured, Vibrating, High-Density"),
            N("Massage Ball", 0.3, "Peanut, Spiky, Lacrosse"),
            N("Kettlebell", 1.5, "Cast Iron, Competition, Vinyl"),
            N("Resistance Bands", 0.6, "Loop, Fabric, Tube"),
            N("Adjustable Dumbbells", 6.0, "Dial, Plate, Compact"),
            N("Protein Powder", 0.9, "Vanilla, Chocolate, Unflavoured", "500 g, 1 kg, 2 kg", True),
        ),
        models=_t("Studio, Pro, Home, Flow, Core, Elite"),
        tags=_t("yoga, fitness, home gym, recovery, strength, stretching"),
        sentences=(
            "Grippy, stable and comfortable through a full session.",
            "Physiotherapists recommend it for recovery and mobility.",
            "Takes up little space in a flat and stores away easily.",
            "Works with the whole {brand} training range.",
        ),
        related=_t("Running, Bath & Body, Audio"),
    ),
    CategorySpec(
        name="Lighting",
        code="LIT",
        description="Lamps, bulbs and string lights for every room.",
        median_price=45.0,
        brands=_t("Lumen & Co., Glowhouse, Brightwell, Halden Lighting, Lantern Lane"),
        adjectives=_t("Dimmable, Warm-White, Smart, Minimal, Industrial, Scandinavian"),
        nouns=(
            N("Desk Lamp", 1.2, "LED, Architect, Brass, Clamp"),
            N("Floor Lamp", 2.5, "Arc, Tripod, Uplighter"),
            N("Pendant Light", 1.9, "Rattan, Glass, Enamel"),
            N("LED Bulb", 0.15, "E27, GU10, Filament", "single, 4-pack", True),
            N("String Lights", 0.6, "Festoon, Fairy, Solar"),
            N("Table Lamp", 1.3, "Ceramic, Mushroom, Linen-Shade"),
            N("Night Light", 0.4, "Plug-In, Motion-Sensor, Rechargeable"),
        ),
        models=_t("Halo, Arc, Nova, Orbit, Classic, Line"),
        tags=_t("lighting, home decor, LED, energy saving, cosy"),
        sentences=(
            "Casts a warm, even light that is easy on the eyes.",
            "Designers love its clean lines and quality finish.",
            "Energy-efficient and simple to install.",
            "Complements other pieces from {brand}.",
        ),
        related=_t("Home Office, Bath & Body, Garden"),
    ),
    CategorySpec(
        name="Baby",
        code="BAB",
        description="Everyday essentials for new parents and little ones.",
        median_price=19.0,
        brands=_t("Little Acorn, Snugglebug, Tiny Harbour, Cot & Cradle, Bramblekin"),
        adjectives=_t("Gentle, Organic, Soft, Sensitive, Anti-Colic, Travel"),
        nouns=(
            N("Nappies", 0.8, "Size 2, Size 3, Size 4, Eco", "40 pack, 120 pack", True),
            N(
                "Baby Wipes",
                0.3,
                "Water-Based, Fragrance-Free, Biodegradable",
                "single, 12-pack",
                True,
            ),
            N("Baby Bottle", 0.6, "Glass, Anti-Colic, Wide-Neck"),
            N("Bottle Brush", 0.3, "Silicone, Two-in-One, Sponge"),
            N("Swaddle Blanket", 1.1, "Muslin, Bamboo, Organic Cotton"),
            N("Baby Carrier", 4.0, "Ergonomic, Wrap, Hip-Seat"),
            N("Teething Toy", 0.4, "Silicone, Wooden, Natural Rubber"),
            N("Changing Mat", 1.0, "Foldable, Wipe-Clean, Contoured"),
        ),
        models=_t("Comfort, Newborn, Plus, Classic, Travel, First"),
        tags=_t("baby, new parents, nursery, gift idea, gentle"),
        sentences=(
            "Gentle enough for newborn skin and simple for tired parents.",
            "Parents recommend it as a nursery essential.",
            "Made from safe, tested materials.",
            "Part of the {brand} everyday range.",
        ),
        related=_t("Toys & Games, Bath & Body"),
    ),
    CategorySpec(
        name="Photography",
        code="PHO",
        description="Bags, tripods and accessories for photographers on the move.",
        median_price=48.0,
        brands=_t("Aperture Supply, Lightroom Goods, Focal Point, Shutterbox, Halide & Co."),
        adjectives=_t("Travel, Compact, Weather-Sealed, Professional, Carbon, Everyday"),
        nouns=(
            N("Tripod", 2.4, "Carbon Fibre, Aluminium, Tabletop"),
            N("Camera Bag", 1.8, "Sling, Backpack, Messenger"),
            N("Memory Card", 0.6, "128 GB, 256 GB, V90", "single, 2-pack", True),
            N("Camera Strap", 0.6, "Leather, Quick-Release, Rope"),
            N("Lens Filter", 0.9, "ND, Polariser, UV"),
            N("Cleaning Kit", 0.35, "Lens Pen, Blower, Microfibre"),
            N("Spare Battery", 0.8, "USB-C, High-Capacity, Twin"),
        ),
        models=_t("Traveller, Pro, Mini, Street, Studio, Field"),
        tags=_t("photography, camera, travel, creator, accessories"),
        sentences=(
            "Made to be carried all day and used in any weather.",
            "Working photographers trust it on location.",
            "Small details make it quick to use when the light is right.",
            "Fits neatly into a {brand} kit.",
        ),
        related=_t("Outdoor, Cycling, Audio"),
    ),
)

# Product types people buy in one basket: ((category, noun), (category, noun)).
COMPLEMENTS: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (
    (("Coffee & Tea", "Burr Grinder"), ("Coffee & Tea", "Whole Bean Coffee")),
    (("Coffee & Tea", "Espresso Machine"), ("Coffee & Tea", "Whole Bean Coffee")),
    (("Coffee & Tea", "French Press"), ("Coffee & Tea", "Whole Bean Coffee")),
    (("Coffee & Tea", "Pour-Over Dripper"), ("Coffee & Tea", "Paper Filters")),
    (("Coffee & Tea", "Gooseneck Kettle"), ("Coffee & Tea", "Pour-Over Dripper")),
    (("Coffee & Tea", "Loose Leaf Tea"), ("Coffee & Tea", "Tea Infuser")),
    (("Coffee & Tea", "Whole Bean Coffee"), ("Books", "Coffee Guide")),
    (("Kitchen", "Chef's Knife"), ("Kitchen", "Cutting Board")),
    (("Kitchen", "Chef's Knife"), ("Kitchen", "Knife Sharpener")),
    (("Kitchen", "Cast Iron Skillet"), ("Kitchen", "Oven Mitts")),
    (("Kitchen", "Dutch Oven"), ("Kitchen", "Oven Mitts")),
    (("Kitchen", "Saucepan"), ("Kitchen", "Olive Oil")),
    (("Books", "Cookbook"), ("Kitchen", "Chef's Knife")),
    (("Books", "Cookbook"), ("Kitchen", "Digital Kitchen Scale")),
    (("Home Office", "Standing Desk"), ("Home Office", "Monitor Arm")),
    (("Home Office", "Standing Desk"), ("Home Office", "Desk Mat")),
    (("Home Office", "Office Chair"), ("Home Office", "Footrest")),
    (("Home Office", "Mechanical Keyboard"), ("Home Office", "Wrist Rest")),
    (("Home Office", "Fountain Pen"), ("Home Office", "Ink Cartridges")),
    (("Home Office", "Fountain Pen"), ("Home Office", "Notebook")),
    (("Home Office", "Standing Desk"), ("Lighting", "Desk Lamp")),
    (("Books", "Productivity Guide"), ("Home Office", "Notebook")),
    (("Outdoor", "Tent"), ("Outdoor", "Sleeping Bag")),
    (("Outdoor", "Sleeping Bag"), ("Outdoor", "Sleeping Pad")),
    (("Outdoor", "Camping Stove"), ("Outdoor", "Gas Canister")),
    (("Outdoor", "Tent"), ("Outdoor", "Headlamp")),
    (("Outdoor", "Hiking Backpack"), ("Outdoor", "Water Filter")),
    (("Books", "Field Guide"), ("Outdoor", "Hiking Backpack")),
    (("Running", "Running Shoes"), ("Running", "Running Socks")),
    (("Running", "GPS Watch"), ("Running", "Heart Rate Strap")),
    (("Running", "Hydration Vest"), ("Running", "Soft Flask")),
    (("Running", "Hydration Vest"), ("Running", "Energy Gels")),
    (("Running", "Running Shoes"), ("Yoga & Fitness", "Foam Roller")),
    (("Books", "Running Handbook"), ("Running", "Running Shoes")),
    (("Cycling", "Bike Helmet"), ("Cycling", "Bike Lights")),
    (("Cycling", "Inner Tube"), ("Cycling", "Mini Pump")),
    (("Cycling", "Cycling Jersey"), ("Cycling", "Bib Shorts")),
    (("Cycling", "Bike Computer"), ("Running", "Heart Rate Strap")),
    (("Cycling", "Bike Lock"), ("Cycling", "Bike Lights")),
    (("Garden", "Pruning Shears"), ("Garden", "Gardening Gloves")),
    (("Garden", "Garden Hose"), ("Garden", "Hose Nozzle")),
    (("Garden", "Vegetable Seeds"), ("Garden", "Potting Compost")),
    (("Garden", "Planter"), ("Garden", "Potting Compost")),
    (("Books", "Gardening Handbook"), ("Garden", "Vegetable Seeds")),
    (("Audio", "Headphones"), ("Audio", "Headphone Stand")),
    (("Audio", "Earbuds"), ("Audio", "Ear Tips")),
    (("Audio", "Turntable"), ("Audio", "Bookshelf Speakers")),
    (("Audio", "Turntable"), ("Audio", "Record Cleaning Kit")),
    (("Toys & Games", "Board Game"), ("Toys & Games", "Card Sleeves")),
    (("Toys & Games", "Card Game"), ("Toys & Games", "Card Sleeves")),
    (("Toys & Games", "Jigsaw Puzzle"), ("Toys & Games", "Puzzle Mat")),
    (("Toys & Games", "Building Set"), ("Toys & Games", "Storage Box")),
    (("Bath & Body", "Shampoo"), ("Bath & Body", "Conditioner")),
    (("Bath & Body", "Body Wash"), ("Bath & Body", "Loofah")),
    (("Bath & Body", "Bath Salts"), ("Bath & Body", "Scented Candle")),
    (("Bath & Body", "Bath Towel"), ("Bath & Body", "Body Wash")),
    (("Pets", "Dog Food"), ("Pets", "Dog Bowl")),
    (("Pets", "Dog Lead"), ("Pets", "Dog Collar")),
    (("Pets", "Dog Bed"), ("Pets", "Dog Toy")),
    (("Pets", "Cat Litter"), ("Pets", "Litter Tray")),
    (("Yoga & Fitness", "Yoga Mat"), ("Yoga & Fitness", "Yoga Block")),
    (("Yoga & Fitness", "Foam Roller"), ("Yoga & Fitness", "Massage Ball")),
    (("Yoga & Fitness", "Kettlebell"), ("Yoga & Fitness", "Resistance Bands")),
    (("Yoga & Fitness", "Adjustable Dumbbells"), ("Yoga & Fitness", "Protein Powder")),
    (("Lighting", "Desk Lamp"), ("Lighting", "LED Bulb")),
    (("Lighting", "Pendant Light"), ("Lighting", "LED Bulb")),
    (("Lighting", "Floor Lamp"), ("Lighting", "LED Bulb")),
    (("Baby", "Nappies"), ("Baby", "Baby Wipes")),
    (("Baby", "Baby Bottle"), ("Baby", "Bottle Brush")),
    (("Baby", "Changing Mat"), ("Baby", "Nappies")),
    (("Baby", "Teething Toy"), ("Toys & Games", "Wooden Train Set")),
    (("Photography", "Tripod"), ("Photography", "Camera Bag")),
    (("Photography", "Memory Card"), ("Photography", "Spare Battery")),
    (("Photography", "Lens Filter"), ("Photography", "Cleaning Kit")),
    (("Photography", "Camera Bag"), ("Photography", "Camera Strap")),
)

COLOURS = _t("Slate, Sand, Forest, Charcoal, Ivory, Navy, Terracotta, Sage, Black, Stone")

FIRST_NAMES = _t(
    "Olivia, Amelia, Isla, Ava, Mia, Ivy, Lily, Freya, Grace, Emily, Sophie, Ella, Ruby, "
    "Chloe, Alice, Evie, Poppy, Hannah, Maya, Zara, Aisha, Priya, Leila, Nora, Clara, "
    "Noah, Oliver, George, Leo, Arthur, Oscar, Harry, Jack, Charlie, Theo, Finn, Henry, "
    "Thomas, Samuel, Joshua, Daniel, Adam, Omar, Ravi, Mateo, Luca, Felix, Hugo, Ethan, "
    "Isaac, Max, Ben, Tom, Kai, Sam, Joe, Niamh, Siobhan, Rhys, Cerys, Megan, Jamie"
)
LAST_NAMES = _t(
    "Smith, Jones, Taylor, Brown, Williams, Wilson, Johnson, Davies, Patel, Robinson, "
    "Wright, Thompson, Evans, Walker, White, Roberts, Green, Hall, Wood, Jackson, Clarke, "
    "Khan, Hughes, Edwards, Turner, Lewis, Hill, Moore, Cooper, Ward, Morris, King, Baker, "
    "Harrison, Morgan, Allen, Young, Scott, Mitchell, Kelly, Carter, Shaw, Murphy, Ahmed, "
    "Singh, Fraser, Reid, Campbell, Murray, Kaur, Nguyen, Rossi, Novak, O'Brien, Byrne"
)
STREETS = _t(
    "High Street, Station Road, Church Lane, Mill Road, Park Avenue, Victoria Road, "
    "Queen Street, Orchard Close, Meadow Way, Harbour Road, Chapel Street, Market Place, "
    "Riverside, Elm Grove, Kings Road, The Crescent, Hillside Drive, Greenway"
)
TOWNS = _t(
    "Bristol, Leeds, Manchester, York, Norwich, Brighton, Cardiff, Glasgow, Edinburgh, "
    "Bath, Exeter, Oxford, Cambridge, Sheffield, Nottingham, Belfast, Leicester, Durham"
)
