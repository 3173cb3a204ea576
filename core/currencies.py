"""ISO 4217 currency codes, for validating the organisation's currency.

The active national and regional currencies of the ISO 4217 list (the funds, precious metals,
testing and "no currency" X-codes left out: an organisation keeps its books in none of them).
Kept here rather than a dependency: a few hundred bytes of data that change every few years."""

from django.core.exceptions import ValidationError

MSG_UNKNOWN_CURRENCY = (
    "“{code}” is not an ISO 4217 currency code. Use three letters, e.g. EUR, USD or GBP."
)

_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
ISO_4217_CODES = frozenset(_CODES.split())


def validate_currency(value: object) -> None:
    """The validator of a currency field (model or form): an upper-case ISO 4217 code."""
    if not isinstance(value, str) or value not in ISO_4217_CODES:
        raise ValidationError(MSG_UNKNOWN_CURRENCY.format(code=value), code="unknown_currency")
