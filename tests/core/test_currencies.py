import pytest
from django.core.exceptions import ValidationError

from core.currencies import ISO_4217_CODES, MSG_UNKNOWN_CURRENCY, validate_currency


@pytest.mark.parametrize("code", ["EUR", "USD", "GBP", "JPY", "CHF", "XOF"])
def test_iso_4217_codes_are_valid(code):
    validate_currency(code)


@pytest.mark.parametrize("code", ["eur", "EURO", "EU", "XXX", "XAU", "ABC", "", None, "€"])
def test_anything_else_is_refused_with_a_clear_message(code):
    with pytest.raises(ValidationError) as exc:
        validate_currency(code)
    assert exc.value.messages == [MSG_UNKNOWN_CURRENCY.format(code=code)]


def test_every_code_is_three_capital_letters():
    assert all(len(c) == 3 and c.isascii() and c.isupper() for c in ISO_4217_CODES)
    assert len(ISO_4217_CODES) > 150
