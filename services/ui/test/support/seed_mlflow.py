"""Registers three versions of a model in a real MLflow server, the way the train DAG does:
a run with metrics mae/rmse/r2/mape and the feature spec as an artifact, a model version from
the run, and the alias `production` on the best one (version 2). Prints the versions as JSON."""
import json
import sys

import mlflow
from mlflow import MlflowClient

name = sys.argv[1]
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
        mlflow.log_dict({"schema_version": 1, "model_name": name}, "model/feature_spec.json")
    mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    out.append({"version": str(mv.version), "run_name": f"train-{i}", "metrics": metrics})
client.set_registered_model_alias(name, "production", "2")
print(json.dumps(out))
