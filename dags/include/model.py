"""train's model: features per the feature spec, a scikit-learn pipeline, ONNX export, parity.

The feature list is config/feature-spec.example.json (the training/serving contract): one
ONNX input per entry, [N,1] float32 or string, and the output is log1p(price) (`expm1`).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .contract import load_json

HGB_PARAMS = {"max_iter": 300, "learning_rate": 0.08, "max_leaf_nodes": 63, "min_samples_leaf": 20,
              "l2_regularization": 1.0, "random_state": 0}


class ParityError(AssertionError):
    pass


def feature_spec() -> dict[str, Any]:
    """The feature spec written next to model.onnx: the contract file without comments."""
    spec = copy.deepcopy(load_json("feature-spec.example.json"))
    return {k: v for k, v in spec.items() if not k.startswith("$")}


def _inputs(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    return list(spec["inputs"])


def features_frame(listings: pd.DataFrame, spec: Mapping[str, Any]) -> pd.DataFrame:
    """Model inputs from normalised listings, with exactly the transforms the spec allows
    outside the graph (the model API applies the same ones): none and year."""
    out = {}
    for entry in _inputs(spec):
        source = listings[entry["from"]]
        if entry["transform"] == "year":
            values = pd.to_datetime(source, errors="coerce").dt.year.astype("float64")
        elif entry["transform"] == "none":
            values = source
        else:
            raise ValueError(f"feature spec: unknown transform {entry['transform']!r} for {entry['name']}")
        if entry["dtype"] == "float32":
            out[entry["name"]] = pd.to_numeric(values, errors="coerce").astype(np.float32)
        elif entry["dtype"] == "string":
            out[entry["name"]] = values.where(values.notna(), "").astype(str).astype(object)
        else:
            raise ValueError(f"feature spec: unknown dtype {entry['dtype']!r} for {entry['name']}")
    return pd.DataFrame(out, index=listings.index)


def _columns(spec: Mapping[str, Any], dtype: str) -> list[str]:
    return [e["name"] for e in _inputs(spec) if e["dtype"] == dtype]


def build_pipeline(spec: Mapping[str, Any], params: Mapping[str, Any] | None = None):
    """Ordinal-encoded strings (unknown -> -1) and raw numbers (NaN kept: the trees route
    missing values) into gradient-boosted trees on log1p(price)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    pre = ColumnTransformer(
        [
            ("num", "passthrough", _columns(spec, "float32")),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32),
             _columns(spec, "string")),
        ]
    )
    return Pipeline([("pre", pre), ("model", HistGradientBoostingRegressor(**{**HGB_PARAMS, **(params or {})}))])


def build_baseline(spec: Mapping[str, Any]):
    """The old DAGs' model: scaled numbers and one-hot categories into a GammaRegressor on price."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import GammaRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), _columns(spec, "float32")),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["status", "state"]),
        ]
    )
    return Pipeline([("pre", pre), ("model", GammaRegressor(alpha=1e-4, max_iter=500))])


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    positive = y_true > 0
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": float(1 - np.sum(err**2) / ss_tot) if ss_tot > 0 else 0.0,
        "mape": float(np.mean(np.abs(err[positive]) / y_true[positive])) if positive.any() else float("nan"),
    }


def snap_thresholds_to_float32(pipeline) -> int:
    """Make the fitted trees' split thresholds float32 values without changing a single
    prediction on float32 inputs (which is all the model ever gets: the spec's inputs are
    float32). For a float32 x, `x <= t` holds exactly when `x <= t32`, t32 being the largest
    float32 not above t. ONNX stores thresholds as float32; left as float64, a threshold
    rounded *up* on export flips the split for an x just above it (two data values that
    round to neighbouring float32s), and ONNX disagrees with scikit-learn on that row.
    Returns the number of thresholds moved."""
    moved = 0
    for per_iteration in pipeline[-1]._predictors:
        for predictor in per_iteration:
            nodes = predictor.nodes
            inner = nodes["is_leaf"] == 0
            t = nodes["num_threshold"][inner]
            t32 = t.astype(np.float32)
            down = np.where(t32.astype(np.float64) > t, np.nextafter(t32, np.float32(-np.inf)), t32)
            moved += int(np.count_nonzero(down.astype(np.float64) != t))
            nodes["num_threshold"][inner] = down.astype(np.float64)
    return moved


def to_onnx(pipeline, spec: Mapping[str, Any]) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [(e["name"], FloatTensorType([None, 1]) if e["dtype"] == "float32" else StringTensorType([None, 1]))
             for e in _inputs(spec)]
    onx = convert_sklearn(pipeline, initial_types=types, target_opset={"": 17, "ai.onnx.ml": 3},
                          final_types=[(spec["output"]["name"], FloatTensorType([None, 1]))])
    return onx.SerializeToString()


def onnx_feeds(frame: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, np.ndarray]:
    feeds = {}
    for e in _inputs(spec):
        column = frame[e["name"]].to_numpy()
        feeds[e["name"]] = (column.astype(np.float32) if e["dtype"] == "float32" else column.astype(str).astype(object)).reshape(-1, 1)
    return feeds


class OnnxModel:
    """An ONNX model and its spec, predicting prices the way the model API does."""

    def __init__(self, onnx_bytes: bytes, spec: Mapping[str, Any]):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self.spec = spec

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        out = self.session.run([self.spec["output"]["name"]], onnx_feeds(frame, self.spec))[0]
        return np.asarray(out, dtype=np.float64).reshape(-1)

    def predict_price(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self.predict_raw(frame)
        return np.expm1(raw) if self.spec["output"]["transform"] == "expm1" else raw


def check_parity(pipeline, onnx_model: OnnxModel, frame: pd.DataFrame, rtol: float = 1e-4) -> float:
    """Max relative difference between the sklearn pipeline's and ONNX's prices; raises
    ParityError above `rtol`, so a model that would serve different numbers is never logged."""
    sk = pipeline.predict(frame).astype(np.float64)
    if onnx_model.spec["output"]["transform"] == "expm1":
        sk = np.expm1(sk)
    ox = onnx_model.predict_price(frame)
    rel = np.abs(ox - sk) / np.maximum(np.abs(sk), 1e-9)
    worst = float(rel.max()) if rel.size else 0.0
    if worst > rtol:
        i = int(rel.argmax())
        raise ParityError(f"ONNX differs from scikit-learn by {worst:.3g} relative (> {rtol}) on row {i}: "
                          f"{ox[i]!r} vs {sk[i]!r}")
    return worst


@dataclass
class TrainResult:
    pipeline: Any
    onnx_bytes: bytes
    spec: dict[str, Any]
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    parity_max_rel: float
    train_rows: int
    test_rows: int
    train_seconds: float
    baseline_seconds: float
    params: dict[str, Any]


def train_model(train: pd.DataFrame, test: pd.DataFrame, params: Mapping[str, Any] | None = None,
                threads: int = 1) -> TrainResult:
    """Fit the candidate and the baseline on `train`, score both on `test` (prices), export
    the candidate to ONNX and check parity on the test rows."""
    spec = feature_spec()
    x_train, x_test = features_frame(train, spec), features_frame(test, spec)
    y_train, y_test = train["price"].to_numpy(float), test["price"].to_numpy(float)

    from threadpoolctl import threadpool_limits

    # OpenMP threads beyond the cores a worker really gets make tree fitting crawl on a
    # shared machine (spin-waiting threads); the count is a setting (MLOPS_TRAIN_THREADS).
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        pipeline = build_pipeline(spec, params)
        pipeline.fit(x_train, np.log1p(y_train))
        snap_thresholds_to_float32(pipeline)
        train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    baseline = build_baseline(spec)
    baseline.fit(x_train, np.maximum(y_train, 1.0))
    baseline_seconds = time.perf_counter() - start

    onnx_bytes = to_onnx(pipeline, spec)
    onnx_model = OnnxModel(onnx_bytes, spec)
    parity = check_parity(pipeline, onnx_model, x_test)
    return TrainResult(
        pipeline=pipeline,
        onnx_bytes=onnx_bytes,
        spec=spec,
        metrics=metrics(y_test, onnx_model.predict_price(x_test)),
        baseline_metrics=metrics(y_test, baseline.predict(x_test)),
        parity_max_rel=parity,
        train_rows=len(train),
        test_rows=len(test),
        train_seconds=train_seconds,
        baseline_seconds=baseline_seconds,
        params={**HGB_PARAMS, **(params or {})},
    )
