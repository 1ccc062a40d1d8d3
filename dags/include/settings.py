"""Pipeline settings from the environment (set by components/airflow.ts; see dags/README.md).

Parsed once per task into a frozen object; every problem is reported in one message
that names the variable.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    data_api_url: str
    group_number: int
    day: str
    mlflow_tracking_uri: str
    model_api_url: str | None
    # The token the model API's hook requires (a Pulumi-generated secret); None: send none.
    model_api_hook_token: str | None
    model_name: str
    test_fraction: float
    min_new_rows: int
    psi_threshold: float
    drift_min_rows: int
    promotion_metric: str
    promotion_min_improvement: float
    http_timeout: float
    train_threads: int
    # Largest model.onnx the promote step downloads (the model API's MODEL_MAX_BYTES default).
    model_max_bytes: int = 64 * 1024 * 1024


def load_settings(env: Mapping[str, str]) -> Settings:
    problems: list[str] = []

    def text(name: str, default: str | None = None) -> str | None:
        value = env.get(name, default)
        if value is None or value.strip() == "":
            if default is None:
                problems.append(f"'{name}' is required")
            return default
        return value.strip()

    def number(name: str, default: str, cast, low: float, high: float | None = None):
        raw = env.get(name, default)
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            problems.append(f"'{name}' must be a number (got {raw!r})")
            return cast(default)
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"between {low} and {high}"
            problems.append(f"'{name}' must be {bound} (got {raw!r})")
        return value

    metric = text("MLOPS_PROMOTION_METRIC", "mae")
    if metric not in ("mae", "rmse", "mape"):
        problems.append(f"'MLOPS_PROMOTION_METRIC' must be one of mae, rmse, mape (got {metric!r})")
    settings = Settings(
        data_api_url=(text("DATA_API_URL") or "").rstrip("/"),
        group_number=number("MLOPS_GROUP_NUMBER", "1", int, 0),
        day=text("MLOPS_DATA_DAY", "Tuesday") or "Tuesday",
        mlflow_tracking_uri=text("MLFLOW_TRACKING_URI") or "",
        model_api_url=(env.get("MODEL_API_URL") or "").strip().rstrip("/") or None,
        model_api_hook_token=(env.get("MODEL_API_HOOK_TOKEN") or "").strip() or None,
        model_name=text("MLOPS_MODEL_NAME", "realtor-price") or "realtor-price",
        test_fraction=number("MLOPS_TEST_FRACTION", "0.2", float, 0.05, 0.5),
        min_new_rows=number("MLOPS_MIN_NEW_ROWS", "5000", int, 1),
        psi_threshold=number("MLOPS_PSI_THRESHOLD", "0.2", float, 0.0),
        drift_min_rows=number("MLOPS_DRIFT_MIN_ROWS", "500", int, 1),
        promotion_metric=metric or "mae",
        promotion_min_improvement=number("MLOPS_PROMOTION_MIN_IMPROVEMENT", "0.0", float, 0.0, 0.99),
        http_timeout=number("MLOPS_HTTP_TIMEOUT_SECONDS", "30", float, 1.0),
        train_threads=number("MLOPS_TRAIN_THREADS", "1", int, 1),
        model_max_bytes=number("MLOPS_MODEL_MAX_BYTES", str(64 * 1024 * 1024), int, 1024),
    )
    if problems:
        raise SettingsError(f"Invalid pipeline settings ({len(problems)} problems):\n  - " + "\n  - ".join(problems))
    return settings
