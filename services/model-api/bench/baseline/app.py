"""The old way, kept faithfully for the benchmark: a FastAPI server that unpickles the
scikit-learn pipeline (joblib) at start and predicts with it per request.

Same payloads and answers as services/model-api: {"features": listing} -> {"price", "model"},
{"instances": [...]} -> {"prices", "model"}. Pydantic validates the fields; strings are
normalised like config/listing.json says (lower, trim, collapse spaces; status separators to
'_'; prev_sold_date -> year) before the pipeline sees them.

Run: MODEL_DIR=<dir with model.joblib> uvicorn app:app --port 8000
"""
import datetime as dt
import os
import re
from typing import List, Literal, Optional, Union

import joblib
import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel, Field

MODEL_DIR = os.environ["MODEL_DIR"]
pipeline = joblib.load(os.path.join(MODEL_DIR, "model.joblib"))
NUMERIC = ["bed", "bath", "acre_lot", "house_size", "prev_sold_year"]
STRINGS = ["status", "state", "city", "zip_code"]

app = FastAPI(title="realtor-price (FastAPI baseline)")


class Listing(BaseModel):
    brokered_by: Optional[float] = Field(default=None, ge=0)
    status: str
    bed: Optional[float] = Field(default=None, ge=0)
    bath: Optional[float] = Field(default=None, ge=0)
    acre_lot: Optional[float] = Field(default=None, ge=0)
    street: Optional[str] = None
    city: Optional[str] = None
    state: str
    zip_code: Optional[Union[str, int]] = None
    house_size: Optional[float] = Field(default=None, ge=0)
    prev_sold_date: Optional[dt.date] = None


class Single(BaseModel):
    features: Listing


class Batch(BaseModel):
    instances: List[Listing] = Field(max_length=1000)


def _s(v):
    return re.sub(r"\s+", " ", v.strip()).lower() if isinstance(v, str) else v


def to_frame(listings: List[Listing]) -> pd.DataFrame:
    rows = []
    for x in listings:
        zip_code = str(x.zip_code).strip()[:5].zfill(5) if x.zip_code is not None else ""
        rows.append({
            "bed": x.bed, "bath": x.bath, "acre_lot": x.acre_lot, "house_size": x.house_size,
            "prev_sold_year": float(x.prev_sold_date.year) if x.prev_sold_date else np.nan,
            "status": re.sub(r"[ -]", "_", _s(x.status)), "state": _s(x.state),
            "city": _s(x.city) or "", "zip_code": zip_code,
        })
    df = pd.DataFrame(rows, columns=NUMERIC + STRINGS)
    df[NUMERIC] = df[NUMERIC].astype(float)
    return df


MODEL = {"name": "realtor-price", "version": "baseline"}


@app.post("/predict")
def predict(body: Union[Single, Batch]):
    if isinstance(body, Single):
        price = float(np.expm1(pipeline.predict(to_frame([body.features]))[0]))
        return {"price": price, "model": MODEL}
    prices = np.expm1(pipeline.predict(to_frame(body.instances)))
    return {"prices": [float(p) for p in prices], "model": MODEL}


@app.get("/health")
def health():
    return {"status": "ok"}
