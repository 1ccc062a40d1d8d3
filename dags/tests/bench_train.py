"""Benchmark: train on N synthetic listings (default 100,000) the way the `train` task does
(clean -> split -> fit -> ONNX export -> parity check) and print the candidate beside the
old GammaRegressor baseline. Usage (from dags/): python -m tests.bench_train [ROWS]"""
from __future__ import annotations

import sys
import time
from datetime import date

import pandas as pd

from include import model
from include.clean import split_of
from include.listing import clean_listing
from tests.support.listings import batch


def main(rows: int) -> None:
    t = time.perf_counter()
    raw = batch(2026, rows)
    clean = []
    for i, record in enumerate(raw):
        row, _ = clean_listing(record, date.today())
        if row:
            clean.append({**row, "split": split_of(1, "Tuesday", i // 1000, i % 1000, 0.2)})
    frame = pd.DataFrame(clean)
    clean_seconds = time.perf_counter() - t
    train, test = frame[frame.split == "train"], frame[frame.split == "test"]
    t = time.perf_counter()
    result = model.train_model(train, test)
    total = time.perf_counter() - t
    print(f"rows generated {rows}, clean {len(frame)} (train {len(train)}, test {len(test)}); cleaning {clean_seconds:.1f}s")
    print(f"{'model':<34}{'fit s':>8}{'mae':>12}{'rmse':>12}{'r2':>8}{'mape':>8}")
    for name, secs, m in (("HistGradientBoosting (candidate)", result.train_seconds, result.metrics),
                          ("GammaRegressor (old baseline)", result.baseline_seconds, result.baseline_metrics)):
        print(f"{name:<34}{secs:>8.1f}{m['mae']:>12.0f}{m['rmse']:>12.0f}{m['r2']:>8.3f}{m['mape']:>8.3f}")
    print(f"train step total (both fits + ONNX export + parity on {len(test)} rows): {total:.1f}s; "
          f"ONNX parity max relative difference {result.parity_max_rel:.1e}; ONNX size {len(result.onnx_bytes) / 1e6:.2f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
