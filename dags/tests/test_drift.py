"""Split determinism, population stability index, and the training decision."""
import numpy as np
import pytest

from include.clean import split_of
from include.drift import decide_training, psi


def test_split_is_deterministic_and_about_the_fraction():
    keys = [(1, "Tuesday", b, r) for b in range(1, 6) for r in range(2000)]
    first = [split_of(*k, 0.2) for k in keys]
    assert first == [split_of(*k, 0.2) for k in reversed(keys)][::-1]
    share = first.count("test") / len(first)
    assert 0.19 < share < 0.21
    # A row's split depends on its key only, not on which other rows exist.
    assert split_of(1, "Tuesday", 3, 17, 0.2) == first[keys.index((1, "Tuesday", 3, 17))]
    # A larger fraction only moves rows into test, never out of it.
    assert all(split_of(*k, 0.3) == "test" for k, s in zip(keys, first) if s == "test")


def test_psi_same_distribution_is_small_and_shift_is_large():
    rng = np.random.default_rng(0)
    ref = rng.lognormal(12, 0.5, 20000)
    assert psi(ref, rng.lognormal(12, 0.5, 5000)) < 0.01
    assert psi(ref, rng.lognormal(12.6, 0.5, 5000)) > 0.25


def test_psi_counts_missing_values_as_drift():
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, 10000)
    cur = rng.normal(0, 1, 5000)
    cur[:2000] = np.nan
    assert psi(ref, cur) > 0.25


def test_psi_rejects_empty_samples():
    with pytest.raises(ValueError):
        psi(np.array([]), np.array([1.0]))


COMMON = dict(min_new_rows=1000, psi_threshold=0.2)


@pytest.mark.parametrize(
    "has_prod,total,new,psis,train,reason",
    [
        (False, 50, 50, {}, False, "too_few_rows"),
        (False, 5000, 5000, {}, True, "no_production_model"),
        (True, 9000, 1000, {"price": 0.01}, True, "new_rows"),
        (True, 9000, 999, {"price": 0.01, "bed": 0.35}, True, "drift: psi(bed)"),
        (True, 9000, 999, {"price": 0.19}, False, "not_warranted"),
        (True, 9000, 10, {}, False, "not_warranted"),
    ],
)
def test_decide_training(has_prod, total, new, psis, train, reason):
    d = decide_training(has_production=has_prod, total_rows=total, new_rows=new, psi_by_feature=psis, **COMMON)
    assert d.train is train
    assert d.reason.startswith(reason)
    assert d.as_dict()["new_rows"] == new and d.psi == psis
