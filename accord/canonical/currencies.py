"""ISO 4217 currencies and their minor units.

The table holds every active ISO 4217 code that is a currency (or a fund code priced like one)
with a defined minor unit. Codes whose minor unit ISO lists as "N.A." (precious metals, bond
market units, SDR, the testing code ``XTS`` and ``XXX``) are left out on purpose: nothing in
commerce is priced in them, and an amount in them has no "cent" to round or allocate to.

>>> minor_units("JPY"), minor_units("USD"), minor_units("KWD")
(0, 2, 3)
>>> is_currency("usd")
False
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Final

__all__ = ["CURRENCIES", "is_currency", "minor_units", "quantum"]

# Minor units differ from 2 for these; every other code below has 2.
_NOT_TWO: Final = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3,
    "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip

# Active codes (ISO 4217 list one). HRK left in 2023; ZWG (2024) and XCG (2025) are new;
# ANG, SLL and ZWL stay while payments in them still circulate.
_CODES: Final = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
ZWL
""".split()  # noqa: SIM905 - a table of 169 codes reads better as text than as a list

#: Every supported currency code mapped to its number of minor-unit digits.
CURRENCIES: Final = MappingProxyType({code: _NOT_TWO.get(code, 2) for code in _CODES})

# The smallest amount of each currency as a Decimal exponent (USD -> 0.01), for quantize().
_QUANTUM: Final = MappingProxyType(
    {code: Decimal(1).scaleb(-digits) for code, digits in CURRENCIES.items()}
)


def is_currency(code: str) -> bool:
    """True when ``code`` is a supported ISO 4217 code (upper case, exactly as ISO spells it)."""
    return code in CURRENCIES


def minor_units(code: str) -> int:
    """Digits after the decimal point in ``code``'s minor unit; ``KeyError`` if unknown."""
    return CURRENCIES[code]


def quantum(code: str) -> Decimal:
    """The currency's smallest unit as a Decimal (``Decimal('0.01')`` for USD).

    >>> quantum("USD"), quantum("JPY"), quantum("BHD")
    (Decimal('0.01'), Decimal('1'), Decimal('0.001'))
    """
    return _QUANTUM[code]
