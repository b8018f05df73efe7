"""The canonical commerce entities.

Every channel payload becomes one of these records, and every outbound payload is built from
one. They are pydantic v2 models, strict where looseness would lose data:

* ids and codes are strings (an int id is refused: Shopify ids exceed 2**53);
* amounts are :class:`~accord.canonical.money.Money` (Decimal + ISO 4217 code; floats refused);
* timestamps are timezone-aware and normalised to UTC (naive ones are refused);
* quantities are non-negative ints, except where a channel legitimately goes below zero
  (inventory ``on_hand``/``available`` when oversold, adjustment ``delta``);
* unknown fields are refused: channel-only data goes in the ``extra`` bucket.

Every entity has ``external_ids`` (system name -> id in that system), ``extra`` and
``schema_version``. Fields a channel may not send are optional: an Amazon order has no totals
until it ships, a Shopify order may have no customer. Invariants that need several fields (the
order totals, refund <= captured, one currency per record) are checked only when the fields
they need are present; see :func:`accord.canonical.check_invariants`.

>>> from decimal import Context, Decimal
>>> line = OrderLine(sku="IPOD-GREEN", quantity=2,
...                  unit_price={"amount": Decimal("199.00"), "currency": "USD"})
>>> str(line.unit_price)
'199.00 USD'
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from decimal import Context, Decimal
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from accord.canonical.currencies import quantum
from accord.canonical.diagnose import INVARIANT_ERROR
from accord.canonical.money import Money
from accord.canonical.types import (
    CountryCode,
    CurrencyCode,
    Email,
    ExactDecimal,
    Id,
    Quantity,
    SignedQuantity,
    Text,
    Timestamp,
)
from accord.diagnostics import Diagnostic

__all__ = [
    "SCHEMA_VERSION",
    "Address",
    "AdjustmentReason",
    "CanonicalModel",
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
    "ShipmentStatus",
    "ShippingLine",
    "TaxLine",
    "TransactionKind",
    "TransactionStatus",
    "Variant",
    "Weight",
    "WeightUnit",
]

#: The version of the canonical model records are written against. Bumped on a breaking change.
SCHEMA_VERSION: Final = 1

# Validation context key: ``{"invariants": False}`` skips cross-field invariant checks, so a
# mapping can build a record that breaks one and report it as a diagnostic instead.
INVARIANTS_KEY: Final = "invariants"
_ZERO: Final = Decimal(0)
_WIDE: Final = Context(prec=60)


# -- enumerations -----------------------------------------------------------------------------


class FinancialStatus(enum.StrEnum):
    """Where an order's payment stands."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    EXPIRED = "expired"


class FulfillmentStatus(enum.StrEnum):
    """Where an order's shipping stands (a cancelled order also has ``cancelled_at``)."""

    UNFULFILLED = "unfulfilled"
    SCHEDULED = "scheduled"
    ON_HOLD = "on_hold"
    IN_PROGRESS = "in_progress"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    RESTOCKED = "restocked"
    UNFULFILLABLE = "unfulfillable"


class DiscountKind(enum.StrEnum):
    """How a discount's ``value`` is meant."""

    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"
    FREE_SHIPPING = "free_shipping"
    BUY_X_GET_Y = "buy_x_get_y"
    OTHER = "other"


class DiscountTarget(enum.StrEnum):
    """What a discount applies to."""

    ORDER = "order"
    LINE = "line"
    SHIPPING = "shipping"


class ProductStatus(enum.StrEnum):
    """Whether a product or variant is for sale."""

    ACTIVE = "active"
    DRAFT = "draft"
    ARCHIVED = "archived"


class WeightUnit(enum.StrEnum):
    """Units of weight the channels use."""

    G = "g"
    KG = "kg"
    OZ = "oz"
    LB = "lb"


class AdjustmentReason(enum.StrEnum):
    """Why stock changed."""

    RECEIVED = "received"
    SOLD = "sold"
    RETURNED = "returned"
    RESTOCKED = "restocked"
    DAMAGED = "damaged"
    SHRINKAGE = "shrinkage"
    LOST = "lost"
    FOUND = "found"
    CORRECTION = "correction"
    CYCLE_COUNT = "cycle_count"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    RESERVED = "reserved"
    RELEASED = "released"
    OTHER = "other"


class ShipmentStatus(enum.StrEnum):
    """Where a fulfillment (one shipment) stands."""

    PENDING = "pending"
    OPEN = "open"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReturnStatus(enum.StrEnum):
    """Where a return (RMA) stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ItemCondition(enum.StrEnum):
    """The state a returned item came back in."""

    NEW = "new"
    LIKE_NEW = "like_new"
    USED = "used"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    UNKNOWN = "unknown"


class ReturnResolution(enum.StrEnum):
    """What the merchant gives back for a return."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    STORE_CREDIT = "store_credit"
    REPLACEMENT = "replacement"
    REPAIR = "repair"
    REJECTED = "rejected"
    UNDECIDED = "undecided"


class TransactionKind(enum.StrEnum):
    """What a refund transaction did with the money."""

    REFUND = "refund"
    VOID = "void"
    STORE_CREDIT = "store_credit"


class TransactionStatus(enum.StrEnum):
    """Whether a payment transaction went through."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


# -- base -------------------------------------------------------------------------------------

_CONFIG: Final = ConfigDict(
    extra="forbid",
    use_attribute_docstrings=True,
    # Enum members stay members in python form, and serialise to their value in JSON.
    use_enum_values=False,
)


class CanonicalModel(BaseModel):
    """Base of every canonical entity: ``external_ids``, ``extra`` and ``schema_version``."""

    model_config = _CONFIG

    #: The snake_case name this entity has in ``ENTITIES``, specs and the CLI.
    entity: ClassVar[str] = ""

    external_ids: dict[Id, Id] = Field(default_factory=dict)
    """This record's id in each system, keyed by system name: ``{"shopify": "450789469"}``."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Channel-specific JSON values with no canonical home (listed under ``extra:`` in specs)."""
    schema_version: Literal[1] = SCHEMA_VERSION
    """Version of the canonical model this record follows."""

    def invariant_diagnostics(self) -> list[Diagnostic]:
        """Cross-field invariant failures of this record (empty when it holds together).

        Paths are relative to this record. Entities without invariants return ``[]``.
        """
        return []

    def _raise_invariants(self, info: ValidationInfo) -> Self:
        context = info.context
        if context is not None and context.get(INVARIANTS_KEY) is False:
            return self
        found = self.invariant_diagnostics()
        if found:
            raise PydanticCustomError(
                INVARIANT_ERROR,
                "{summary}",
                {"summary": "; ".join(d.message for d in found), "diagnostics": tuple(found)},
            )
        return self


def _diag(code: str, path: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code=code, message=f"{path}: {message}", data_path=path, hint=hint)


def _currency_diagnostics(
    items: Iterator[tuple[str, Money]], currency: str | None
) -> list[Diagnostic]:
    """CAN022 for every amount whose currency differs from the record's."""
    out: list[Diagnostic] = []
    expected = currency
    where = "the record's currency"
    for path, money in items:
        if expected is None:
            expected, where = money.currency, f"{path}'s currency"
            continue
        if money.currency != expected:
            out.append(
                _diag(
                    "CAN022",
                    f"{path}.currency",
                    f"{money.currency} differs from {where} {expected}",
                    hint="a record carries one currency; map shop or presentment money, not both",
                )
            )
    return out


# -- value objects (no ids of their own) ------------------------------------------------------


class Weight(BaseModel):
    """A weight with its unit; the value is exact (``"0.2"`` kg, never a float)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    value: ExactDecimal
    """The weight as an exact decimal (a string in JSON)."""
    unit: WeightUnit
    """``g``, ``kg``, ``oz`` or ``lb``."""


class CurrencyPrice(BaseModel):
    """A variant's price in one currency, with its struck-through "was" price if any."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    price: Money
    """The price shoppers pay in this currency."""
    compare_at_price: Money | None = None
    """The "was" price in the same currency."""


class ProductOption(BaseModel):
    """An option axis of a product (``Color`` with values ``Red``, ``Green``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: Text
    """The option's name as shown to shoppers."""
    values: list[Text] = Field(default_factory=list)
    """The values the option takes, in display order."""


# -- orders -----------------------------------------------------------------------------------


class Address(CanonicalModel):
    """A postal address (billing or shipping)."""

    entity: ClassVar[str] = "address"

    first_name: Text | None = None
    last_name: Text | None = None
    name: Text | None = None
    """The full name when the channel sends only one field (Amazon, eBay)."""
    company: Text | None = None
    line1: Text | None = None
    line2: Text | None = None
    city: Text | None = None
    province: Text | None = None
    """State, province or region as written."""
    province_code: Text | None = None
    """ISO 3166-2 subdivision code without the country prefix, when known (``CA``)."""
    postal_code: Text | None = None
    country_code: CountryCode | None = None
    """ISO 3166-1 alpha-2 code, upper case (``US``)."""
    phone: Text | None = None


class Customer(CanonicalModel):
    """A buyer. The email is trimmed and lower-cased so one person matches across channels."""

    entity: ClassVar[str] = "customer"

    id: Id | None = None
    """accord's id for the customer, when it has one."""
    email: Email | None = None
    """Email address, trimmed and lower-cased (an empty string is read as no email)."""
    phone: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    accepts_marketing: bool | None = Field(default=None, strict=True)
    """Whether the customer agreed to marketing email (``None``: the channel did not say)."""
    tags: list[Text] = Field(default_factory=list)
    default_address: Address | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class TaxLine(CanonicalModel):
    """One tax charged, on an order, a line or a shipping line."""

    entity: ClassVar[str] = "tax_line"

    title: Text | None = None
    """The tax's name (``State Tax``, ``VAT``)."""
    rate: ExactDecimal | None = None
    """The rate as a fraction (``"0.06"`` for 6%), exact."""
    amount: Money
    """The tax charged."""


class Discount(CanonicalModel):
    """A discount applied to an order, a line or shipping."""

    entity: ClassVar[str] = "discount"

    code: Text | None = None
    """The code the buyer entered, for code discounts."""
    title: Text | None = None
    kind: DiscountKind | None = None
    value: ExactDecimal | None = None
    """The discount's nominal value: a percentage (``"10"``) or an amount, per ``kind``."""
    amount: Money | None = None
    """What the discount took off, in the order's currency (a positive amount)."""
    target: DiscountTarget | None = None


class ShippingLine(CanonicalModel):
    """A shipping charge on an order."""

    entity: ClassVar[str] = "shipping_line"

    title: Text | None = None
    code: Text | None = None
    """The service code (``STANDARD``)."""
    carrier: Text | None = None
    price: Money | None = None
    """The charge before discounts."""
    discount_total: Money | None = None
    tax_lines: list[TaxLine] = Field(default_factory=list)


class OrderLine(CanonicalModel):
    """One line of an order: a quantity of one SKU at a unit price."""

    entity: ClassVar[str] = "order_line"

    sku: Text | None = None
    """The stock keeping unit; may be absent for custom or gift-card lines."""
    title: Text | None = None
    variant_title: Text | None = None
    quantity: Quantity
    """Units ordered: a non-negative int."""
    unit_price: Money | None = None
    """Price of one unit before discounts."""
    discount_total: Money | None = None
    """Discounts allocated to this line (a positive amount)."""
    tax_lines: list[TaxLine] = Field(default_factory=list)
    total: Money | None = None
    """The line's total as the channel reports it."""
    requires_shipping: bool | None = Field(default=None, strict=True)
    fulfilled_quantity: Quantity | None = None
    """Units already shipped, when the channel says."""
    refunded_quantity: Quantity | None = None
    """Units already refunded, when the channel says."""


class Order(CanonicalModel):
    """An order placed on a channel.

    Totals are optional: Amazon sends none for pending orders. When ``subtotal`` and ``total``
    are both present they must reconcile (see :meth:`invariant_diagnostics`). ``subtotal`` is
    the sum of the lines *before* discounts (Shopify's ``total_line_items_price``, not its
    ``subtotal_price``).
    """

    entity: ClassVar[str] = "order"

    id: Id
    """accord's id for the order: usually ``<channel>:<channel order id>``, always a string."""
    channel: Text | None = None
    """The channel the order was placed on (``shopify``, ``amazon``)."""
    number: Text | None = None
    """The human-facing order number (``#1001``)."""
    placed_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    currency: CurrencyCode | None = None
    """The order's currency; every amount on the order must be in it."""
    financial_status: FinancialStatus | None = None
    fulfillment_status: FulfillmentStatus | None = None
    cancelled_at: Timestamp | None = None
    cancel_reason: Text | None = None
    customer: Customer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    lines: list[OrderLine] = Field(default_factory=list)
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    tax_lines: list[TaxLine] = Field(default_factory=list)
    discounts: list[Discount] = Field(default_factory=list)
    subtotal: Money | None = None
    """Sum of line prices times quantities, before discounts, shipping and tax."""
    shipping_total: Money | None = None
    """Shipping charged, before tax."""
    tax_total: Money | None = None
    discount_total: Money | None = None
    """All discounts, as a positive amount."""
    total: Money | None = None
    """What the buyer pays: subtotal - discount_total + shipping_total (+ tax_total when taxes
    are not included in prices)."""
    captured_total: Money | None = None
    """Payment captured so far, when the channel reports it."""
    refunded_total: Money | None = None
    """Refunded so far, when the channel reports it."""
    taxes_included: bool = Field(default=False, strict=True)
    """Whether line prices and shipping already include tax (EU-style pricing)."""
    tags: list[Text] = Field(default_factory=list)
    note: Text | None = None

    def money_items(self) -> Iterator[tuple[str, Money]]:
        """Every amount on the order with its path, in document order."""
        for name in (
            "subtotal",
            "shipping_total",
            "tax_total",
            "discount_total",
            "total",
            "captured_total",
            "refunded_total",
        ):
            value = getattr(self, name)
            if value is not None:
                yield name, value
        for i, line in enumerate(self.lines):
            for name in ("unit_price", "discount_total", "total"):
                value = getattr(line, name)
                if value is not None:
                    yield f"lines[{i}].{name}", value
            for j, tax in enumerate(line.tax_lines):
                yield f"lines[{i}].tax_lines[{j}].amount", tax.amount
        for i, ship in enumerate(self.shipping_lines):
            for name in ("price", "discount_total"):
                value = getattr(ship, name)
                if value is not None:
                    yield f"shipping_lines[{i}].{name}", value
            for j, tax in enumerate(ship.tax_lines):
                yield f"shipping_lines[{i}].tax_lines[{j}].amount", tax.amount
        for i, tax in enumerate(self.tax_lines):
            yield f"tax_lines[{i}].amount", tax.amount
        for i, discount in enumerate(self.discounts):
            if discount.amount is not None:
                yield f"discounts[{i}].amount", discount.amount

    def invariant_diagnostics(self) -> list[Diagnostic]:
        """Check one currency per order, the totals, and refunded <= captured.

        Totals: when ``subtotal`` and ``total`` are present, ``subtotal - discount_total +
        shipping_total + tax_total`` must equal ``total`` to less than one minor unit of the
        currency (absent adjustments count as zero; ``tax_total`` is left out when
        ``taxes_included``). Codes: CAN022, CAN020, CAN021.
        """
        if len(self._currencies()) > 1:
            # Totals in mixed currencies cannot be compared; report each stray amount.
            return _currency_diagnostics(self.money_items(), self.currency)
        found: list[Diagnostic] = []
        totals = self.totals_diagnostic()
        if totals is not None:
            found.append(totals)
        captured, refunded = self.captured_total, self.refunded_total
        if captured is not None and refunded is not None and refunded > captured:
            found.append(
                _diag(
                    "CAN021",
                    "refunded_total",
                    f"refunded {self.refunded_total} exceeds captured {self.captured_total}",
                )
            )
        return found

    def totals_diagnostic(self) -> Diagnostic | None:
        """The CAN020 diagnostic when the totals do not reconcile, else ``None``.

        Assumes one currency (checked first by :meth:`invariant_diagnostics`).
        """
        subtotal, total = self.subtotal, self.total
        if subtotal is None or total is None:
            return None
        # Plain Decimal arithmetic: this runs for every order validated, and building Money
        # objects for the intermediate sums would cost more than the check itself.
        discount = self.discount_total.amount if self.discount_total is not None else _ZERO
        shipping = self.shipping_total.amount if self.shipping_total is not None else _ZERO
        tax = self.tax_total.amount if self.tax_total is not None else _ZERO
        # A context wider than any two amounts (42 digits each), so nothing rounds here.
        wide = _WIDE
        expected = wide.add(wide.subtract(subtotal.amount, discount), shipping)
        if not self.taxes_included:
            expected = wide.add(expected, tax)
        off = abs(wide.subtract(expected, total.amount))
        if off < quantum(total.currency):
            return None
        currency = total.currency
        convention = "taxes included in prices" if self.taxes_included else "taxes excluded"
        return _diag(
            "CAN020",
            "total",
            f"{total} does not reconcile: subtotal {subtotal.amount} - discount_total "
            f"{discount} + shipping_total {shipping}"
            + ("" if self.taxes_included else f" + tax_total {tax}")
            + f" = {expected} {currency} ({convention}); off by {off} {currency}",
            hint="check which channel field feeds subtotal (before discounts) and taxes_included",
        )

    def _currencies(self) -> set[str]:
        """The currencies on the order, fast: no paths built (see :meth:`money_items`)."""
        found: set[str] = set()
        add = found.add
        if self.currency is not None:
            add(self.currency)
        for top in (
            self.subtotal,
            self.shipping_total,
            self.tax_total,
            self.discount_total,
            self.total,
            self.captured_total,
            self.refunded_total,
        ):
            if top is not None:
                add(top.currency)
        for line in self.lines:
            for value in (line.unit_price, line.discount_total, line.total):
                if value is not None:
                    add(value.currency)
            for tax in line.tax_lines:
                add(tax.amount.currency)
        for ship in self.shipping_lines:
            for value in (ship.price, ship.discount_total):
                if value is not None:
                    add(value.currency)
            for tax in ship.tax_lines:
                add(tax.amount.currency)
        for tax in self.tax_lines:
            add(tax.amount.currency)
        for discount in self.discounts:
            if discount.amount is not None:
                add(discount.amount.currency)
        return found

    @model_validator(mode="after")
    def _check_invariants(self, info: ValidationInfo) -> Self:
        return self._raise_invariants(info)


# -- products and inventory -------------------------------------------------------------------


class Media(CanonicalModel):
    """An image or video of a product, optionally tied to some of its variants."""

    entity: ClassVar[str] = "media"

    url: Text
    alt: Text | None = None
    kind: Literal["image", "video", "model_3d", "external_video"] = "image"
    position: Quantity | None = None
    """1-based display position."""
    variant_skus: list[Text] = Field(default_factory=list)
    """SKUs of the variants this media shows (empty: the whole product)."""
    variant_ids: list[Id] = Field(default_factory=list)
    """Channel ids of the variants this media shows, when the channel links by id."""


class Variant(CanonicalModel):
    """A sellable variant of a product: one SKU."""

    entity: ClassVar[str] = "variant"

    id: Id | None = None
    sku: Text | None = None
    title: Text | None = None
    options: dict[Text, Text] = Field(default_factory=dict)
    """Option name -> value (``{"Color": "Green"}``)."""
    barcode: Text | None = None
    """GTIN, UPC, EAN or ISBN as printed (leading zeros kept: a string)."""
    price: Money | None = None
    compare_at_price: Money | None = None
    """The "was" price shown struck through."""
    prices: list[CurrencyPrice] = Field(default_factory=list)
    """The price in every currency the variant is sold in (Shopify's presentment prices), one
    entry per currency; ``price`` is the one in the shop's own currency."""
    weight: Weight | None = None
    status: ProductStatus | None = None
    requires_shipping: bool | None = Field(default=None, strict=True)
    taxable: bool | None = Field(default=None, strict=True)
    position: Quantity | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None

    def invariant_diagnostics(self) -> list[Diagnostic]:
        """``CAN022`` for a "was" price in another currency than its price, ``CAN099`` for a
        currency listed twice in ``prices``.

        >>> v = Variant.model_construct(prices=[
        ...     CurrencyPrice(price=Money("10.00", "USD"), compare_at_price=Money("12.00", "EUR")),
        ...     CurrencyPrice(price=Money("11.00", "USD"))])
        >>> [d.code for d in v.invariant_diagnostics()]
        ['CAN022', 'CAN099']
        """
        found: list[Diagnostic] = []
        seen: set[str] = set()
        for i, entry in enumerate(self.prices):
            currency = entry.price.currency
            was = entry.compare_at_price
            if was is not None and was.currency != currency:
                found.append(_diag("CAN022", f"prices[{i}].compare_at_price",
                                   f"{was} is not in the price's currency {currency}"))  # fmt: skip
            if currency in seen:
                found.append(_diag("CAN099", f"prices[{i}].price",
                                   f"a second price in {currency}"))  # fmt: skip
            seen.add(currency)
        return found

    @model_validator(mode="after")
    def _check_invariants(self, info: ValidationInfo) -> Self:
        return self._raise_invariants(info)


class Product(CanonicalModel):
    """A product with its variants, options and media."""

    entity: ClassVar[str] = "product"

    id: Id | None = None
    title: Text | None = None
    handle: Text | None = None
    """URL slug."""
    description: Text | None = None
    vendor: Text | None = None
    product_type: Text | None = None
    status: ProductStatus | None = None
    tags: list[Text] = Field(default_factory=list)
    options: list[ProductOption] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)
    media: list[Media] = Field(default_factory=list)
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class InventoryLevel(CanonicalModel):
    """Stock of one SKU at one location, as a channel or warehouse reports it.

    ``on_hand`` and ``available`` may be negative: channels that allow overselling report it.
    ``available`` is taken as reported, not derived, because each channel computes it
    differently (Shopify subtracts committed units, ShipBob subtracts allocated ones).
    """

    entity: ClassVar[str] = "inventory_level"

    sku: Text
    location: Text | None = None
    """The location's id or code in the reporting system."""
    on_hand: SignedQuantity | None = None
    reserved: Quantity | None = None
    """Units committed to orders but not yet shipped."""
    incoming: Quantity | None = None
    """Units on inbound purchase orders or transfers."""
    available: SignedQuantity | None = None
    updated_at: Timestamp | None = None


class InventoryAdjustment(CanonicalModel):
    """A change of stock: a signed delta with a reason and an idempotency key."""

    entity: ClassVar[str] = "inventory_adjustment"

    id: Id | None = None
    sku: Text
    location: Text | None = None
    delta: SignedQuantity
    """Units added (positive) or removed (negative)."""
    reason: AdjustmentReason
    reason_detail: Text | None = None
    idempotency_key: Id
    """Applying the same key twice has no further effect (the ledger keys on it)."""
    reference: Text | None = None
    """What caused it: an order id, a transfer number."""
    occurred_at: Timestamp | None = None


# -- fulfillment, returns, refunds ------------------------------------------------------------


class FulfillmentLine(CanonicalModel):
    """Units of one order line shipped in a fulfillment."""

    entity: ClassVar[str] = "fulfillment_line"

    sku: Text | None = None
    title: Text | None = None
    quantity: Quantity
    line_external_ids: dict[Id, Id] = Field(default_factory=dict)
    """``external_ids`` of the order line shipped."""


class Fulfillment(CanonicalModel):
    """One shipment of (part of) an order."""

    entity: ClassVar[str] = "fulfillment"

    id: Id | None = None
    order_id: Id | None = None
    order_external_ids: dict[Id, Id] = Field(default_factory=dict)
    status: ShipmentStatus | None = None
    lines: list[FulfillmentLine] = Field(default_factory=list)
    location: Text | None = None
    carrier: Text | None = None
    service: Text | None = None
    tracking_numbers: list[Text] = Field(default_factory=list)
    tracking_urls: list[Text] = Field(default_factory=list)
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class ReturnLine(CanonicalModel):
    """Units of one order line coming back."""

    entity: ClassVar[str] = "return_line"

    sku: Text | None = None
    quantity: Quantity
    reason_code: Text | None = None
    condition: ItemCondition | None = None
    resolution: ReturnResolution | None = None
    line_external_ids: dict[Id, Id] = Field(default_factory=dict)
    note: Text | None = None


class Return(CanonicalModel):
    """A return merchandise authorisation (RMA)."""

    entity: ClassVar[str] = "return"

    id: Id | None = None
    rma_id: Text | None = None
    """The RMA number the buyer sees."""
    order_id: Id | None = None
    order_external_ids: dict[Id, Id] = Field(default_factory=dict)
    status: ReturnStatus | None = None
    lines: list[ReturnLine] = Field(default_factory=list)
    reason_code: Text | None = None
    """The channel's reason code for the return as a whole."""
    condition: ItemCondition | None = None
    resolution: ReturnResolution | None = None
    created_at: Timestamp | None = None
    received_at: Timestamp | None = None


class RefundLine(CanonicalModel):
    """Units of one order line refunded."""

    entity: ClassVar[str] = "refund_line"

    sku: Text | None = None
    quantity: Quantity
    amount: Money | None = None
    restock: bool | None = Field(default=None, strict=True)
    line_external_ids: dict[Id, Id] = Field(default_factory=dict)


class RefundTransaction(CanonicalModel):
    """A movement of money back to the buyer (one gateway call)."""

    entity: ClassVar[str] = "refund_transaction"

    kind: TransactionKind = TransactionKind.REFUND
    status: TransactionStatus | None = None
    gateway: Text | None = None
    amount: Money
    processed_at: Timestamp | None = None


class Refund(CanonicalModel):
    """Money (and optionally stock) given back against an order.

    ``amount`` must not exceed ``captured`` when both are known; without ``amount``, the
    successful refund transactions are summed instead. Codes: CAN021, CAN022, CAN023.
    """

    entity: ClassVar[str] = "refund"

    id: Id | None = None
    order_id: Id | None = None
    order_external_ids: dict[Id, Id] = Field(default_factory=dict)
    amount: Money | None = None
    """The refunded amount (positive)."""
    captured: Money | None = None
    """What had been captured on the order when the refund was made, if known."""
    lines: list[RefundLine] = Field(default_factory=list)
    restock: bool = Field(default=False, strict=True)
    """Whether refunded units go back to stock."""
    reason: Text | None = None
    note: Text | None = None
    transactions: list[RefundTransaction] = Field(default_factory=list)
    idempotency_key: Id | None = None
    """Key that makes issuing this refund twice impossible."""
    created_at: Timestamp | None = None

    def money_items(self) -> Iterator[tuple[str, Money]]:
        """Every amount on the refund with its path."""
        if self.amount is not None:
            yield "amount", self.amount
        if self.captured is not None:
            yield "captured", self.captured
        for i, line in enumerate(self.lines):
            if line.amount is not None:
                yield f"lines[{i}].amount", line.amount
        for i, tx in enumerate(self.transactions):
            yield f"transactions[{i}].amount", tx.amount

    def refunded(self) -> Money | None:
        """``amount``, else the sum of successful refund transactions, else ``None``."""
        if self.amount is not None:
            return self.amount
        done = [
            tx.amount
            for tx in self.transactions
            if tx.kind is TransactionKind.REFUND and tx.status is TransactionStatus.SUCCESS
        ]
        return sum(done[1:], done[0]) if done else None

    def invariant_diagnostics(self) -> list[Diagnostic]:
        """One currency, a non-negative amount, and refunded <= captured."""
        found = _currency_diagnostics(self.money_items(), None)
        if found:
            return found
        if self.amount is not None and self.amount.amount < 0:
            found.append(_diag("CAN023", "amount", f"refund amount {self.amount} is negative"))
        refunded = self.refunded()
        if refunded is not None and self.captured is not None and refunded > self.captured:
            path = "amount" if self.amount is not None else "transactions"
            found.append(
                _diag(
                    "CAN021",
                    path,
                    f"refund of {refunded} exceeds the {self.captured} captured",
                    hint="a refund can return at most what was captured",
                )
            )
        return found

    @model_validator(mode="after")
    def _check_invariants(self, info: ValidationInfo) -> Self:
        return self._raise_invariants(info)
