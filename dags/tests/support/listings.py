"""Seeded synthetic listings with the shape of the US real-estate listings file:
per-state price levels, size/price correlation, beds and baths from size, and a share of
dirty rows (negative and missing values, bad dates and zips, odd spellings)."""
from __future__ import annotations

import math
import random
from typing import Any

STATES = {  # state -> (price per sq ft level, [(city, zip prefix), ...])
    "california": (420.0, [("los angeles", "900"), ("san diego", "921"), ("fresno", "937")]),
    "new york": (380.0, [("new york", "100"), ("buffalo", "142"), ("albany", "122")]),
    "texas": (160.0, [("houston", "770"), ("austin", "787"), ("dallas", "752")]),
    "illinois": (170.0, [("springfield", "627"), ("chicago", "606"), ("shelbyville", "625")]),
    "florida": (230.0, [("miami", "331"), ("tampa", "336"), ("orlando", "328")]),
    "ohio": (130.0, [("columbus", "432"), ("cleveland", "441")]),
    "massachusetts": (350.0, [("boston", "021"), ("worcester", "016")]),
    "washington": (300.0, [("seattle", "981"), ("spokane", "992")]),
}
STATUS_SPELLINGS = ["for_sale", "for sale", "For Sale", "sold", "SOLD", "ready_to_build"]


def listing(rng: random.Random, *, price_factor: float = 1.0, dirty_share: float = 0.05) -> dict[str, Any]:
    state = rng.choice(list(STATES))
    level, cities = STATES[state]
    city, prefix = rng.choice(cities)
    size = round(math.exp(rng.gauss(7.45, 0.4)))
    bed = max(1, min(8, round(size / 550 + rng.gauss(0, 0.7))))
    bath = max(1, min(6, round(bed * 0.7 + rng.gauss(0, 0.5))))
    acre = round(abs(rng.gauss(0.25, 0.2)) + 0.01, 2)
    sold_year = rng.randint(1995, 2024)
    age_factor = 1 + (sold_year - 1995) * 0.01
    price = round(level * size**0.95 * (1 + acre * 0.3) * age_factor * math.exp(rng.gauss(0, 0.18)) * price_factor, -2)
    row: dict[str, Any] = {
        "brokered_by": rng.randint(1, 120000),
        "status": rng.choice(STATUS_SPELLINGS),
        "price": price,
        "bed": bed,
        "bath": bath,
        "acre_lot": acre,
        "street": f"{rng.randint(1, 9999)} {rng.choice(['elm', 'oak', 'main', 'pine'])} {rng.choice(['st', 'ave', 'rd'])}",
        "city": city if rng.random() > 0.1 else city.title(),
        "state": state if rng.random() > 0.1 else f"  {state.upper()} ",
        "zip_code": f"{prefix}{rng.randint(0, 99):02d}",
        "house_size": size,
        "prev_sold_date": f"{sold_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }
    if rng.random() < 0.05:
        row["prev_sold_date"] = None
    if rng.random() < dirty_share:
        fault = rng.choice(["neg_price", "no_price", "no_state", "bad_status", "bad_date", "bad_zip", "neg_bed"])
        if fault == "neg_price":
            row["price"] = -row["price"]
        elif fault == "no_price":
            row["price"] = None
        elif fault == "no_state":
            row["state"] = None
        elif fault == "bad_status":
            row["status"] = "pending"
        elif fault == "bad_date":
            row["prev_sold_date"] = "2022-02-30"
        elif fault == "bad_zip":
            row["zip_code"] = "abcde"
        else:
            row["bed"] = -3
    return row


def batch(seed: int, size: int, **kwargs: Any) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [listing(rng, **kwargs) for _ in range(size)]
