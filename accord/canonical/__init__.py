"""The canonical commerce model: exact money, the entities, validation and introspection.

Other stages use this API:

* :data:`ENTITIES` -- every entity class by snake_case name (``"order"``, ``"order_line"``...);
* :func:`validate_record` -- python form or JSON form in, a model out, or a
  :class:`~accord.errors.ValidationError` with one ``CAN`` diagnostic per failing field;
* :func:`check_invariants` -- the cross-field invariants as diagnostics (flagging, no raise);
* :func:`to_json` / :func:`from_json` -- the JSON form (amounts and ids as strings, ``Z`` times);
* :mod:`accord.canonical.introspect` -- a typed description for static checkers;
* :mod:`accord.canonical.schema` -- JSON Schema export.

See ``docs/canonical.md``.
"""

from accord.canonical.currencies import CURRENCIES, minor_units
from accord.canonical.diagnose import CODES
from accord.canonical.models import (
    SCHEMA_VERSION,
    Address,
    AdjustmentReason,
    CanonicalModel,
    CurrencyPrice,
    Customer,
    Discount,
    DiscountKind,
    DiscountTarget,
    FinancialStatus,
    Fulfillment,
    FulfillmentLine,
    FulfillmentStatus,
    InventoryAdjustment,
    InventoryLevel,
    ItemCondition,
    Media,
    Order,
    OrderLine,
    Product,
    ProductOption,
    ProductStatus,
    Refund,
    RefundLine,
    RefundTransaction,
    Return,
    ReturnLine,
    ReturnResolution,
    ReturnStatus,
    ShipmentStatus,
    ShippingLine,
    TaxLine,
    TransactionKind,
    TransactionStatus,
    Variant,
    Weight,
    WeightUnit,
)
from accord.canonical.money import Money, Rounding
from accord.canonical.records import (
    ENTITIES,
    check_invariants,
    from_json,
    to_json,
    validate_record,
)

__all__ = [
    "CODES",
    "CURRENCIES",
    "ENTITIES",
    "SCHEMA_VERSION",
    "Address",
    "AdjustmentReason",
    "CanonicalModel",
    "CurrencyPrice",
    "Customer",
    "Discount",
    "DiscountKind",
    "DiscountTarget",
    "FinancialStatus",
    "Fulfillment",
    "FulfillmentLine",
    "FulfillmentStatus",
    "InventoryAdjustment",
    "InventoryLevel",
    "ItemCondition",
    "Media",
    "Money",
    "Order",
    "OrderLine",
    "Product",
    "ProductOption",
    "ProductStatus",
    "Refund",
    "RefundLine",
    "RefundTransaction",
    "Return",
    "ReturnLine",
    "ReturnResolution",
    "ReturnStatus",
    "Rounding",
    "ShipmentStatus",
    "ShippingLine",
    "TaxLine",
    "TransactionKind",
    "TransactionStatus",
    "Variant",
    "Weight",
    "WeightUnit",
    "check_invariants",
    "from_json",
    "minor_units",
    "to_json",
    "validate_record",
]
