"""The listing normalisation rules of config/listing.json, in Python.

The model API implements the same rules in TypeScript from the same file; both test
themselves against config/listing-vectors.json, so training and serving agree.
Each normaliser returns the normalised value, or None when the value is missing or invalid.
"""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Mapping

from .contract import load_json

_WS = re.compile(r"\s+")
# U+0000 and unpaired surrogates: Postgres stores neither (text or jsonb). json.loads joins a
# valid surrogate pair into one code point, so any surrogate left in a str is unpaired.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ZIP = re.compile(r"^(\d{1,5})(?:-\d{4})?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def spec() -> Mapping[str, Any]:
    return load_json("listing.json")


def normalize_string(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    rules = spec()["strings"]
    text = value if isinstance(value, str) else str(value)
    if rules.get("trim", True):
        text = text.strip()
    if rules.get("collapseWhitespace", True):
        text = _WS.sub(" ", text)
    if rules.get("lowercase", True):
        text = text.lower()
    if _UNSTORABLE.search(text):
        return None
    if "maxLength" in rules and len(text) > rules["maxLength"]:
        return None
    return text or None


def normalize_status(value: Any) -> str | None:
    text = normalize_string(value)
    if text is None:
        return None
    rules = spec()["status"]
    for sep in rules["separatorsToUnderscore"]:
        text = text.replace(sep, "_")
    return text if text in rules["values"] else None


def normalize_zip(value: Any) -> str | None:
    length = spec()["zip_code"]["length"]
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            return None
        number = int(value)
        if number < 0 or number >= 10**length:
            return None
        return str(number).zfill(length)
    if not isinstance(value, str):
        return None
    match = _ZIP.match(value.strip())
    return match.group(1).zfill(length) if match else None


def normalize_date(value: Any, reference: date) -> str | None:
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if not match:
        return None
    try:
        parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    if parsed < date.fromisoformat(spec()["prev_sold_date"]["min"]) or parsed > reference:
        return None
    return parsed.isoformat()


def to_number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def field_names() -> list[str]:
    return list(spec()["fields"].keys())


def clean_listing(record: Mapping[str, Any], reference: date) -> tuple[dict[str, Any] | None, list[str]]:
    """Normalise one raw listing.

    Returns (clean row or None, reasons). A non-nullable field that is missing or invalid
    drops the row (reason `missing_<field>` / `invalid_<field>`); an invalid value in a
    nullable field is fixed by setting it to null (reason `nulled_<field>`), so the row
    keeps its other information. A missing nullable value is not a reason.
    """
    fields = spec()["fields"]
    row: dict[str, Any] = {}
    reasons: list[str] = []
    dropped = False
    for name, rule in fields.items():
        raw = record.get(name)
        kind = rule["type"]
        if kind == "number":
            value = to_number(raw)
            if value is not None and "min" in rule and value < rule["min"]:
                value = None
        elif kind == "category":
            value = normalize_status(raw)
        elif kind == "zip":
            value = normalize_zip(raw)
        elif kind == "date":
            value = normalize_date(raw, reference)
        else:
            value = normalize_string(raw)
        missing = raw is None or (isinstance(raw, str) and raw.strip() == "")
        if value is None and not missing:
            if rule.get("nullable", True):
                reasons.append(f"nulled_{name}")
            else:
                reasons.append(f"invalid_{name}")
                dropped = True
        elif value is None and not rule.get("nullable", True):
            reasons.append(f"missing_{name}")
            dropped = True
        row[name] = value
    return (None if dropped else row), reasons
