"""MLflow side: log a trained candidate, register it, compare it with `production`, promote."""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Mapping

import requests

from .model import OnnxModel, TrainResult

log = logging.getLogger(__name__)

PRODUCTION_ALIAS = "production"
# Model version tag: sha256 of the version's model.onnx, recorded at registration; the model API
# and the promote step refuse bytes that do not match it.
MODEL_SHA256_TAG = "model_sha256"


class UntrustedModelError(RuntimeError):
    """A registered model that must not be loaded: no checksum, a wrong one, too large, or
    tensors stored outside the file (ONNX Runtime would read them from this machine)."""


def model_sha256(onnx_bytes: bytes) -> str:
    return hashlib.sha256(onnx_bytes).hexdigest()


def external_data_references(model_proto) -> list[str]:
    """`name -> location` of every tensor stored as external data, in the main graph and in
    every subgraph (If/Loop/Scan bodies), initializers and attribute tensors alike."""
    from onnx import TensorProto

    found: list[str] = []

    def tensor(t) -> None:
        if t.data_location == TensorProto.EXTERNAL or len(t.external_data) > 0:
            where = next((e.value for e in t.external_data if e.key == "location"), "?")
            found.append(f"{t.name or '<unnamed>'} -> {where}")

    def graph(g) -> None:
        for t in g.initializer:
            tensor(t)
        for st in g.sparse_initializer:
            tensor(st.values)
            tensor(st.indices)
        for node in g.node:
            for a in node.attribute:
                if a.HasField("t"):
                    tensor(a.t)
                for t in a.tensors:
                    tensor(t)
                if a.HasField("sparse_tensor"):
                    tensor(a.sparse_tensor.values)
                    tensor(a.sparse_tensor.indices)
                if a.HasField("g"):
                    graph(a.g)
                for sub in a.graphs:
                    graph(sub)

    graph(model_proto.graph)
    for f in model_proto.functions:
        for node in f.node:
            for a in node.attribute:
                if a.HasField("g"):
                    graph(a.g)
    return found


def _requirements(*names: str) -> list[str]:
    return [f"{name}=={package_version(name)}" for name in names]


def log_and_register(result: TrainResult, *, model_name: str, decision: Mapping[str, Any]) -> dict[str, Any]:
    """One MLflow run in experiment `model_name`: params, metrics (candidate and baseline),
    the sklearn model, and the ONNX model with feature_spec.json, registered as a new
    version of `model_name`. The registered version's artifacts are model.onnx,
    feature_spec.json and MLmodel (the model API reads the first two)."""
    import mlflow
    import mlflow.onnx
    import mlflow.sklearn
    import onnx
    from mlflow import MlflowClient

    mlflow.set_experiment(model_name)
    with mlflow.start_run(run_name=f"train-{result.train_rows}-rows") as run:
        mlflow.log_params({**{f"hgb.{k}": v for k, v in result.params.items()},
                           "train_rows": result.train_rows, "test_rows": result.test_rows,
                           "features": ",".join(e["name"] for e in result.spec["inputs"]),
                           "target": "log1p(price)", "decision": str(decision.get("reason"))[:500]})
        mlflow.log_metrics({**result.metrics,
                            **{f"baseline_{k}": v for k, v in result.baseline_metrics.items()},
                            "onnx_parity_max_rel": result.parity_max_rel,
                            "train_seconds": result.train_seconds})
        mlflow.log_dict(result.spec, "feature_spec.json")
        mlflow.sklearn.log_model(result.pipeline, name="sklearn-model",
                                 pip_requirements=_requirements("scikit-learn", "numpy", "pandas"))
        proto = onnx.load_from_string(result.onnx_bytes)
        # What log_model writes (onnx.save_model of this proto, no external data), hashed.
        digest = model_sha256(proto.SerializeToString())
        info = mlflow.onnx.log_model(proto, name="model",
                                     save_as_external_data=False,
                                     pip_requirements=_requirements("onnx", "onnxruntime", "numpy"))
        with tempfile.TemporaryDirectory() as tmp:
            spec_path = Path(tmp) / "feature_spec.json"
            spec_path.write_text(json.dumps(result.spec, indent=2))
            MlflowClient().log_model_artifact(info.model_id, str(spec_path))
        version = mlflow.register_model(info.model_uri, model_name,
                                        tags={"run_id": run.info.run_id, "mae": f"{result.metrics['mae']:.2f}",
                                              MODEL_SHA256_TAG: digest})
    log.info("registered %s version %s from run %s", model_name, version.version, run.info.run_id)
    return {"model_name": model_name, "version": str(version.version), "run_id": run.info.run_id,
            "model_id": info.model_id, "metrics": result.metrics, "baseline_metrics": result.baseline_metrics}


def production_version(model_name: str) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient().get_model_version_by_alias(model_name, PRODUCTION_ALIAS).version)
    except MlflowException as err:
        if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def load_onnx_version(model_name: str, version: str, *, max_bytes: int = 64 * 1024 * 1024) -> OnnxModel:
    """model.onnx and feature_spec.json of a registered version, as the model API fetches them,
    trusted only as far as the model API trusts them: at most `max_bytes`, the sha256 recorded
    at registration, no tensor stored outside the file. Raises UntrustedModelError otherwise."""
    import mlflow
    import onnx
    from mlflow import MlflowClient

    expected = MlflowClient().get_model_version(model_name, version).tags.get(MODEL_SHA256_TAG)
    if not expected:
        raise UntrustedModelError(f"{model_name} version {version} has no '{MODEL_SHA256_TAG}' tag "
                                  "(registered without a checksum); refused")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model_name}/{version}", dst_path=tmp))
        size = (local / "model.onnx").stat().st_size
        if size > max_bytes:
            raise UntrustedModelError(f"{model_name} version {version}: model.onnx is larger than the "
                                      f"{max_bytes}-byte limit: {size} bytes; refused")
        data = (local / "model.onnx").read_bytes()
        if model_sha256(data) != expected:
            raise UntrustedModelError(f"{model_name} version {version}: model.onnx does not match its "
                                      f"'{MODEL_SHA256_TAG}' tag; refused")
        refs = external_data_references(onnx.load_from_string(data))
        if refs:
            raise UntrustedModelError(f"{model_name} version {version}: tensors reference data outside the "
                                      f"model file ({', '.join(refs[:5])}); refused")
        spec = json.loads((local / "feature_spec.json").read_text())
        return OnnxModel(data, spec)


@dataclass(frozen=True)
class Comparison:
    promote: bool
    reason: str
    metric: str
    candidate_value: float
    production_value: float | None


def promotion_rule(*, metric: str, candidate: float, production: float | None, min_improvement: float) -> Comparison:
    """Promote when there is no production model, or when the candidate's error metric
    (lower is better) is below production's by more than `min_improvement` (relative).
    A tie keeps production: moving the alias must buy something."""
    if production is None:
        return Comparison(True, "no_production_model", metric, candidate, None)
    bar = production * (1.0 - min_improvement)
    if candidate < bar:
        return Comparison(True, f"{metric} {candidate:.2f} < {bar:.2f} (production {production:.2f} "
                                f"less {min_improvement:.1%})", metric, candidate, production)
    return Comparison(False, f"{metric} {candidate:.2f} >= {bar:.2f} (production {production:.2f} "
                             f"less {min_improvement:.1%})", metric, candidate, production)


def set_production(model_name: str, version: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(model_name, PRODUCTION_ALIAS, version)


def record_history(conn, *, model_name: str, candidate_version: str, production_version: str | None,
                   comparison: Comparison, test_rows: int, notified: bool | None) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO clean.model_history (model_name, candidate_version, production_version, metric,
                candidate_value, production_value, test_rows, promoted, reason, notified)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
            """,
            (model_name, candidate_version, production_version, comparison.metric, comparison.candidate_value,
             comparison.production_value, test_rows, comparison.promote, comparison.reason, notified),
        )
        row_id = cur.fetchone()[0]
    conn.commit()
    return row_id


def notify_model_api(base_url: str | None, payload: Mapping[str, Any], timeout: float = 10.0,
                     token: str | None = None) -> bool:
    """POST /hooks/model_update, with `Authorization: Bearer <token>` when the model API
    requires one (MODEL_API_HOOK_TOKEN). Best effort: the model API also polls the alias, so
    a failure here is logged and reported, never raised."""
    if not base_url:
        log.info("MODEL_API_URL not set: not notifying the model API (it polls the alias)")
        return False
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.post(f"{base_url}/hooks/model_update", json=dict(payload), headers=headers,
                                 timeout=timeout)
    except requests.RequestException as err:
        log.warning("model API notification failed (it will pick the model up by polling): %s", err)
        return False
    if response.status_code >= 300:
        log.warning("model API notification answered %s: %s", response.status_code, response.text[:300])
        return False
    return True


def as_dict(comparison: Comparison) -> dict[str, Any]:
    return asdict(comparison)
