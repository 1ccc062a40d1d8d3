"""The pipeline's steps, one function per DAG task, still without Airflow.

Each takes the database connection parameters and the settings (the DAG reads them from
the Airflow connection and the environment) and returns a small JSON-able summary (the
task's XCom).
"""
from __future__ import annotations

import io
import json
import logging
from datetime import date
from typing import Any, Mapping

import pandas as pd

from . import clean, db, drift, ingest, model, registry
from .listing import field_names
from .settings import Settings

log = logging.getLogger(__name__)

def _numeric_fields() -> list[str]:
    from .listing import spec

    return [name for name, rule in spec()["fields"].items() if rule["type"] == "number"]


def read_clean(conn, *, split: str | None = None, max_id: int | None = None, min_id: int | None = None,
               columns: list[str] | None = None) -> pd.DataFrame:
    """clean.listings rows as a DataFrame, through COPY (fast for 100k+ rows)."""
    cols = columns or ["id", *field_names(), "split"]
    where, args = [], []
    if split:
        where.append("split = %s"); args.append(split)
    if max_id is not None:
        where.append("id <= %s"); args.append(max_id)
    if min_id is not None:
        where.append("id > %s"); args.append(min_id)
    with conn.cursor() as cur:
        query = cur.mogrify(f"SELECT {', '.join(cols)} FROM clean.listings"
                            f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id", args).decode()
        buffer = io.StringIO()
        cur.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
    buffer.seek(0)
    numeric = {c: "float64" for c in _numeric_fields() if c in cols}
    text = {c: "object" for c in cols if c not in numeric and c != "id"}
    return pd.read_csv(buffer, dtype={**numeric, **text}, keep_default_na=False, na_values={c: [""] for c in cols})


def ingest_step(db_params: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Raises ingest.NoMoreData (after logging it) when the API has no new batch."""
    db.migrate(dict(db_params))
    with db.connect(dict(db_params)) as conn:
        try:
            batch = ingest.fetch_batch(settings.data_api_url, settings.group_number, settings.day,
                                       timeout=settings.http_timeout)
        except ingest.NoMoreData:
            ingest.record_no_data(conn, settings.group_number, settings.day)
            raise
        return ingest.load_batch(conn, batch)


def clean_step(db_params: Mapping[str, Any], settings: Settings, today: date) -> dict[str, Any]:
    db.migrate(dict(db_params))
    with db.connect(dict(db_params)) as conn:
        return clean.clean_new_rows(conn, today, settings.test_fraction)


def decide_step(db_params: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Decide whether to train and record the decision with its numbers, either way."""
    production = registry.production_version(settings.model_name)
    with db.connect(dict(db_params)) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT coalesce(max(id), 0), count(*) FROM clean.listings")
            max_id, total = cur.fetchone()
            cur.execute("SELECT max_clean_id FROM clean.training_decisions WHERE trained_version IS NOT NULL "
                        "ORDER BY id DESC LIMIT 1")
            last = cur.fetchone()
        last_max = last[0] if last else 0
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM clean.listings WHERE id > %s", (last_max,))
            new_rows = cur.fetchone()[0]
        psi: dict[str, float] = {}
        if last and new_rows >= settings.drift_min_rows:
            reference = read_clean(conn, max_id=last_max, columns=["id", *drift.DRIFT_FEATURES])
            current = read_clean(conn, min_id=last_max, columns=["id", *drift.DRIFT_FEATURES])
            psi = {f: round(drift.psi(reference[f].to_numpy(), current[f].to_numpy()), 6)
                   for f in drift.DRIFT_FEATURES}
        decision = drift.decide_training(has_production=production is not None, total_rows=total,
                                         new_rows=new_rows, psi_by_feature=psi,
                                         min_new_rows=settings.min_new_rows, psi_threshold=settings.psi_threshold)
        with conn.cursor() as cur:
            cur.execute(
                """
                INSERT INTO clean.training_decisions (train, reason, new_rows, total_rows, max_clean_id, psi,
                    production_version) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id
                """,
                (decision.train, decision.reason, new_rows, total, max_id, json.dumps(psi), production),
            )
            decision_id = cur.fetchone()[0]
        conn.commit()
    log.info("training decision %s: train=%s (%s)", decision_id, decision.train, decision.reason)
    return {**decision.as_dict(), "decision_id": decision_id, "max_clean_id": max_id,
            "production_version": production}


def train_step(db_params: Mapping[str, Any], settings: Settings, decision: Mapping[str, Any]) -> dict[str, Any]:
    """Train on the clean rows the decision saw, log to MLflow, register a version."""
    with db.connect(dict(db_params)) as conn:
        frame = read_clean(conn, max_id=int(decision["max_clean_id"]))
        train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
        if len(test) == 0 or len(train) == 0:
            raise ValueError(f"cannot train: {len(train)} train rows, {len(test)} test rows")
        result = model.train_model(train, test, threads=settings.train_threads)
        log.info("trained on %d rows in %.1fs: candidate %s, baseline (GammaRegressor) %s, parity %.2e",
                 result.train_rows, result.train_seconds, result.metrics, result.baseline_metrics,
                 result.parity_max_rel)
        registered = registry.log_and_register(result, model_name=settings.model_name, decision=decision)
        with conn.cursor() as cur:
            cur.execute("UPDATE clean.training_decisions SET trained_version = %s WHERE id = %s",
                        (registered["version"], decision["decision_id"]))
        conn.commit()
    return {**registered, "train_rows": result.train_rows, "test_rows": result.test_rows,
            "train_seconds": round(result.train_seconds, 3), "parity_max_rel": result.parity_max_rel}


def promote_step(db_params: Mapping[str, Any], settings: Settings, candidate: Mapping[str, Any]) -> dict[str, Any]:
    """Compare the candidate with `production` on the current test split (both through their
    registered ONNX artifacts, as served), move the alias if the rule says so, record it."""
    name, version = settings.model_name, str(candidate["version"])
    current = registry.production_version(name)
    with db.connect(dict(db_params)) as conn:
        test = read_clean(conn, split="test")
        y = test["price"].to_numpy(float)
        cand = registry.load_onnx_version(name, version, max_bytes=settings.model_max_bytes)
        cand_value = model.metrics(y, cand.predict_price(model.features_frame(test, cand.spec)))[settings.promotion_metric]
        prod_value = None
        if current is not None and current != version:
            prod = registry.load_onnx_version(name, current, max_bytes=settings.model_max_bytes)
            prod_value = model.metrics(y, prod.predict_price(model.features_frame(test, prod.spec)))[settings.promotion_metric]
        if current == version:  # a retried task whose first try already moved the alias
            comparison = registry.Comparison(False, "already_production", settings.promotion_metric,
                                             cand_value, cand_value)
        else:
            comparison = registry.promotion_rule(metric=settings.promotion_metric, candidate=cand_value,
                                                 production=prod_value,
                                                 min_improvement=settings.promotion_min_improvement)
        notified = None
        if comparison.promote:
            registry.set_production(name, version)
            notified = registry.notify_model_api(settings.model_api_url,
                                                 {"name": name, "version": version, "alias": registry.PRODUCTION_ALIAS},
                                                 timeout=settings.http_timeout,
                                                 token=settings.model_api_hook_token)
        history_id = registry.record_history(conn, model_name=name, candidate_version=version,
                                             production_version=current, comparison=comparison,
                                             test_rows=len(test), notified=notified)
    log.info("promotion of %s v%s: %s (%s)", name, version, comparison.promote, comparison.reason)
    return {**registry.as_dict(comparison), "candidate_version": version, "production_version_before": current,
            "history_id": history_id, "notified": notified, "test_rows": int(len(test))}
