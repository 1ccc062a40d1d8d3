import pytest

from include.settings import SettingsError, load_settings

BASE = {"DATA_API_URL": "http://data-api/", "MLFLOW_TRACKING_URI": "http://mlflow:5000"}


def test_defaults():
    s = load_settings(BASE)
    assert (s.data_api_url, s.group_number, s.day, s.model_name) == ("http://data-api", 1, "Tuesday", "realtor-price")
    assert (s.test_fraction, s.min_new_rows, s.psi_threshold, s.promotion_metric) == (0.2, 5000, 0.2, "mae")
    assert s.model_api_url is None
    assert s.model_api_hook_token is None


def test_every_problem_in_one_message():
    with pytest.raises(SettingsError) as err:
        load_settings({"MLOPS_GROUP_NUMBER": "x", "MLOPS_TEST_FRACTION": "0.9", "MLOPS_PROMOTION_METRIC": "r2"})
    text = str(err.value)
    assert "(5 problems)" in text
    for name in ("DATA_API_URL", "MLFLOW_TRACKING_URI", "MLOPS_GROUP_NUMBER", "MLOPS_TEST_FRACTION",
                 "MLOPS_PROMOTION_METRIC"):
        assert f"'{name}'" in text


def test_overrides():
    s = load_settings({**BASE, "MLOPS_GROUP_NUMBER": "3", "MODEL_API_URL": "http://model-api:8989/",
                       "MLOPS_PROMOTION_MIN_IMPROVEMENT": "0.02", "MODEL_API_HOOK_TOKEN": " t0ken "})
    assert (s.group_number, s.model_api_url, s.promotion_min_improvement) == (3, "http://model-api:8989", 0.02)
    assert s.model_api_hook_token == "t0ken"
