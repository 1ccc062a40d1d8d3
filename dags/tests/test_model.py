"""Features per the spec, the candidate against the GammaRegressor baseline, ONNX parity."""
import json
from datetime import date
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest

from include import model
from include.clean import split_of
from include.listing import clean_listing
from tests.support.listings import batch

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "config" / "feature-spec.example.json").read_text())


@pytest.fixture(scope="module")
def frames():
    rows = []
    for i, raw in enumerate(batch(11, 6000)):
        row, _ = clean_listing(raw, date(2026, 11, 27))
        if row:
            rows.append({**row, "split": split_of(1, "Tuesday", 1, i, 0.2)})
    df = pd.DataFrame(rows)
    return df[df.split == "train"], df[df.split == "test"]


@pytest.fixture(scope="module")
def trained(frames):
    return model.train_model(*frames, params={"max_iter": 120})


def test_feature_spec_is_the_contract_file():
    assert model.feature_spec() == {k: v for k, v in EXAMPLE.items() if not k.startswith("$")}


def test_features_frame_applies_only_spec_transforms():
    listings = pd.DataFrame([{"bed": 3.0, "bath": None, "acre_lot": 0.25, "house_size": 1500.0,
                              "prev_sold_date": "2022-03-15", "status": "for_sale", "state": "illinois",
                              "city": None, "zip_code": "62704"}])
    x = model.features_frame(listings, model.feature_spec())
    assert list(x.columns) == [e["name"] for e in EXAMPLE["inputs"]]
    assert x["prev_sold_year"].iloc[0] == 2022.0 and x["prev_sold_year"].dtype == np.float32
    assert np.isnan(x["bath"].iloc[0]) and x["city"].iloc[0] == ""


def test_candidate_beats_the_gamma_baseline(trained):
    assert trained.metrics["mae"] < trained.baseline_metrics["mae"]
    assert trained.metrics["r2"] > 0.6
    assert set(trained.metrics) == {"mae", "rmse", "r2", "mape"}


def test_onnx_graph_has_the_spec_inputs_and_output(trained):
    graph = onnx.load_from_string(trained.onnx_bytes).graph
    elem = {"float32": onnx.TensorProto.FLOAT, "string": onnx.TensorProto.STRING}
    assert [(i.name, i.type.tensor_type.elem_type) for i in graph.input] == [
        (e["name"], elem[e["dtype"]]) for e in EXAMPLE["inputs"]]
    assert [o.name for o in graph.output] == [EXAMPLE["output"]["name"]]
    assert trained.parity_max_rel <= 1e-4


def test_onnx_handles_unknown_categories_and_missing_numbers(trained, frames):
    one = frames[1].head(1).copy()
    one["city"], one["zip_code"], one["bed"] = "atlantis", "00000", np.nan
    x = model.features_frame(one, trained.spec)
    onnx_price = model.OnnxModel(trained.onnx_bytes, trained.spec).predict_price(x)[0]
    assert onnx_price == pytest.approx(np.expm1(trained.pipeline.predict(x)[0]), rel=1e-4)


def test_parity_check_rejects_a_different_model(trained, frames):
    other = model.build_pipeline(trained.spec, {"max_iter": 5})
    train_x = model.features_frame(frames[0], trained.spec)
    other.fit(train_x, np.log1p(frames[0]["price"].to_numpy(float)))
    with pytest.raises(model.ParityError):
        model.check_parity(other, model.OnnxModel(trained.onnx_bytes, trained.spec),
                           model.features_frame(frames[1], trained.spec))


def test_metrics_known_values():
    m = model.metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert m["mae"] == 15.0 and m["rmse"] == pytest.approx(np.sqrt(250)) and m["mape"] == pytest.approx(0.1)
    assert m["r2"] == pytest.approx(1 - 500 / 5000)


def test_snapping_thresholds_keeps_predictions_and_makes_them_float32(frames):
    spec = model.feature_spec()
    train = frames[0].copy()
    # Distinct values that round to neighbouring float32s: the case that broke parity.
    base = np.float32(1.44)
    train["acre_lot"] = np.where(np.arange(len(train)) % 2 == 0, float(base), float(np.nextafter(base, np.float32(2))))
    x = model.features_frame(train, spec)
    pipe = model.build_pipeline(spec, {"max_iter": 30})
    pipe.fit(x, np.log1p(train["price"].to_numpy(float)))
    before = pipe.predict(x)
    model.snap_thresholds_to_float32(pipe)
    assert np.array_equal(pipe.predict(x), before)
    for per_iteration in pipe[-1]._predictors:
        for predictor in per_iteration:
            t = predictor.nodes["num_threshold"][predictor.nodes["is_leaf"] == 0]
            assert np.array_equal(t.astype(np.float32).astype(np.float64), t)
    onnx_model = model.OnnxModel(model.to_onnx(pipe, spec), spec)
    assert model.check_parity(pipe, onnx_model, x) <= 1e-4
