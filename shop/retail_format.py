"""The Online Retail data set's conventions (UCI, Chen 2015), in one place for the
catalogue importer, the event importer and the offline evaluation loader. No Django
imports, so the pure-numpy evaluation can use it without settings."""

RETAIL_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
)

# Codes that are postage, fees or manual adjustments, not products (compare upper-cased).
RETAIL_FEE_CODES = frozenset(
    {"POST", "M", "D", "DOT", "BANK CHARGES", "C2", "AMAZONFEE", "CRUK", "S", "B", "PADS"}
)


def is_retail_fee(code: str) -> bool:
    """True for Online Retail postage/fee/adjustment codes (not products)."""
    return code.strip().upper() in RETAIL_FEE_CODES


def is_cancellation(invoice: str) -> bool:
    """Invoices starting with C cancel an earlier order (negative quantities)."""
    return invoice.strip().upper().startswith("C")
