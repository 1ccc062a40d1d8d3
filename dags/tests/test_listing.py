"""Cleaning rules: every shared vector of config/listing-vectors.json, then row-level reasons."""
import json
from datetime import date
from pathlib import Path

import pytest

from include import listing

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "config" / "listing-vectors.json").read_text())
REF = date.fromisoformat(VECTORS["referenceDate"])


@pytest.mark.parametrize("raw,expected", VECTORS["status"])
def test_status_vectors(raw, expected):
    assert listing.normalize_status(raw) == expected


@pytest.mark.parametrize("raw,expected", VECTORS["strings"])
def test_string_vectors(raw, expected):
    assert listing.normalize_string(raw) == expected


@pytest.mark.parametrize("raw,expected", VECTORS["zip_code"])
def test_zip_vectors(raw, expected):
    assert listing.normalize_zip(raw) == expected


@pytest.mark.parametrize("raw,expected", VECTORS["prev_sold_date"])
def test_date_vectors(raw, expected):
    assert listing.normalize_date(raw, REF) == expected


def test_every_vector_group_is_covered():
    assert set(VECTORS) - {"$comment", "referenceDate"} == {"status", "strings", "zip_code", "prev_sold_date"}


GOOD = {"brokered_by": 101, "status": "for sale", "price": 250000, "bed": 3, "bath": 2, "acre_lot": 0.25,
        "street": "123 Elm  St", "city": " Springfield", "state": "ILLINOIS", "zip_code": "62704",
        "house_size": 1500, "prev_sold_date": "2022-03-15"}


@pytest.mark.parametrize(
    "change,kept,reasons",
    [
        ({}, True, []),
        ({"price": -5}, False, ["invalid_price"]),
        ({"price": None}, False, ["missing_price"]),
        ({"price": "abc"}, False, ["invalid_price"]),
        ({"state": None}, False, ["missing_state"]),
        ({"state": "   "}, False, ["missing_state"]),
        ({"status": "pending"}, False, ["invalid_status"]),
        ({"bed": -3}, True, ["nulled_bed"]),
        ({"house_size": float("nan")}, True, ["nulled_house_size"]),
        ({"zip_code": "abcde"}, True, ["nulled_zip_code"]),
        ({"prev_sold_date": "2022-02-30"}, True, ["nulled_prev_sold_date"]),
        ({"prev_sold_date": None, "bath": None}, True, []),
        ({"price": -1, "bed": -1}, False, ["invalid_price", "nulled_bed"]),
        ({"price": "300000"}, True, []),
    ],
)
def test_clean_listing_rules(change, kept, reasons):
    row, why = listing.clean_listing({**GOOD, **change}, REF)
    assert (row is not None) == kept
    assert sorted(why) == sorted(reasons)


def test_clean_listing_normalises_every_field():
    row, why = listing.clean_listing(GOOD, REF)
    assert why == []
    assert row == {"brokered_by": 101.0, "status": "for_sale", "price": 250000.0, "bed": 3.0, "bath": 2.0,
                   "acre_lot": 0.25, "street": "123 elm st", "city": "springfield", "state": "illinois",
                   "zip_code": "62704", "house_size": 1500.0, "prev_sold_date": "2022-03-15"}


MAX = listing.spec()["strings"]["maxLength"]


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("a" * MAX, "a" * MAX),
        ("a" * (MAX + 1), None),
        ("  " + "A" * MAX + "  ", "a" * MAX),  # the bound applies to the normalised value
        ("\U0001F3E0" * MAX, "\U0001F3E0" * MAX),  # counted in code points, as the model API counts them
        ("elm\x00st", None),
        ("elm\ud800st", None),
        ("elm\udc00", None),
    ],
)
def test_strings_postgres_cannot_store_or_too_long_are_invalid(raw, expected):
    assert listing.normalize_string(raw) == expected


@pytest.mark.parametrize(
    "change,kept,reasons",
    [
        ({"street": "x" * (MAX + 1)}, True, ["nulled_street"]),
        ({"city": "spring\x00field"}, True, ["nulled_city"]),
        ({"state": "illinois\ud800"}, False, ["invalid_state"]),
        ({"status": "for sale\x00"}, False, ["invalid_status"]),
    ],
)
def test_clean_listing_unstorable_strings(change, kept, reasons):
    row, why = listing.clean_listing({**GOOD, **change}, REF)
    assert (row is not None) == kept
    assert why == reasons
