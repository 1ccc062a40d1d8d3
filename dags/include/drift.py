"""train's first question: is training warranted? Population stability index and the rule."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np

# Numeric features whose distribution shift most changes the price model.
DRIFT_FEATURES = ("price", "house_size", "bed", "bath", "acre_lot")


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of `current` against `reference`.

    Bins are the reference's quantiles (so each holds ~1/bins of it); missing values form
    one more bin, so a rise in missing values counts as drift too. 0 = same distribution;
    the usual reading is < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if reference.size == 0 or current.size == 0:
        raise ValueError("psi needs non-empty reference and current samples")
    ref_ok, cur_ok = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if ref_ok.size:
        edges = np.unique(np.quantile(ref_ok, np.linspace(0, 1, bins + 1)[1:-1]))
        ref_counts = np.bincount(np.searchsorted(edges, ref_ok, side="right"), minlength=edges.size + 1)
        cur_counts = np.bincount(np.searchsorted(edges, cur_ok, side="right"), minlength=edges.size + 1)
    else:
        ref_counts = cur_counts = np.zeros(0, dtype=int)
    ref_dist = np.append(ref_counts, reference.size - ref_ok.size) / reference.size
    cur_dist = np.append(cur_counts, current.size - cur_ok.size) / current.size
    ref_dist, cur_dist = np.clip(ref_dist, eps, None), np.clip(cur_dist, eps, None)
    return float(np.sum((cur_dist - ref_dist) * np.log(cur_dist / ref_dist)))


@dataclass(frozen=True)
class Decision:
    train: bool
    reason: str
    new_rows: int
    total_rows: int
    max_psi: float | None
    psi: dict[str, float]

    def as_dict(self) -> dict:
        return asdict(self)


def decide_training(*, has_production: bool, total_rows: int, new_rows: int, psi_by_feature: Mapping[str, float],
                    min_new_rows: int, psi_threshold: float, min_train_rows: int = 100) -> Decision:
    """Train when there is no production model, when enough new clean rows arrived since
    the last training, or when a key feature drifted beyond the threshold; otherwise not.
    Too few rows to fit a model at all is a reason not to train, whatever else holds."""
    max_psi = max(psi_by_feature.values()) if psi_by_feature else None
    common = dict(new_rows=new_rows, total_rows=total_rows, max_psi=max_psi, psi=dict(psi_by_feature))
    if total_rows < min_train_rows:
        return Decision(False, f"too_few_rows: {total_rows} < {min_train_rows}", **common)
    if not has_production:
        return Decision(True, "no_production_model", **common)
    if new_rows >= min_new_rows:
        return Decision(True, f"new_rows: {new_rows} >= {min_new_rows}", **common)
    if max_psi is not None and max_psi >= psi_threshold:
        feature = max(psi_by_feature, key=psi_by_feature.get)
        return Decision(True, f"drift: psi({feature}) = {max_psi:.3f} >= {psi_threshold}", **common)
    detail = f"psi {max_psi:.3f} < {psi_threshold}" if max_psi is not None else "psi not computed"
    return Decision(False, f"not_warranted: {new_rows} new rows < {min_new_rows}, {detail}", **common)
