"""Registers three versions of a model in a real MLflow server, the way the train DAG does:
a run with metrics mae/rmse/r2/mape and the model's artifacts under `model/` (model.onnx +
feature_spec.json from --model-dir when given, else only a feature spec), a model version from
the run, and the alias `production` on the best one (version 2). Prints the versions as JSON.

Usage: python seed_mlflow.py NAME [--model-dir DIR]   (MLFLOW_TRACKING_URI names the server)"""
import argparse
import hashlib
import json
import os

import mlflow
from mlflow import MlflowClient

ap = argparse.ArgumentParser()
ap.add_argument("name")
ap.add_argument("--model-dir")
args = ap.parse_args()
name = args.name
client = MlflowClient()
mlflow.set_experiment(name)
client.create_registered_model(name)

runs = [
    {"mae": 61234.5, "rmse": 90211.0, "r2": 0.712, "mape": 0.241},
    {"mae": 48765.25, "rmse": 71002.5, "r2": 0.803, "mape": 0.187},
    {"mae": 52310.0, "rmse": 76543.0, "r2": 0.781, "mape": 0.198},
]
out = []
for i, metrics in enumerate(runs, start=1):
    with mlflow.start_run(run_name=f"train-{i}") as run:
        mlflow.log_metrics(metrics)
        if args.model_dir:
            for f in ("model.onnx", "feature_spec.json"):
                mlflow.log_artifact(os.path.join(args.model_dir, f), artifact_path="model")
        else:
            mlflow.log_dict({"schema_version": 1, "model_name": name}, "model/feature_spec.json")
    # The checksum the model API verifies, recorded as the train DAG records it.
    tags = {}
    if args.model_dir:
        with open(os.path.join(args.model_dir, "model.onnx"), "rb") as fh:
            tags["model_sha256"] = hashlib.sha256(fh.read()).hexdigest()
    mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id, tags=tags)
    out.append({"version": str(mv.version), "run_name": f"train-{i}", "metrics": metrics})
client.set_registered_model_alias(name, "production", "2")
print(json.dumps(out))
