"""Locations of the shared contract files (config/listing.json, config/feature-spec.example.json).

They live in the repository's config/ folder, one definition for training and serving.
The DAGs find it beside dags/ (git-sync checks out the whole repository) unless
MLOPS_CONFIG_DIR points elsewhere (an image that copies config/ to another place).
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    return _config_dir(os.environ.get("MLOPS_CONFIG_DIR"))


@lru_cache(maxsize=None)
def _config_dir(override: str | None) -> Path:
    path = Path(override) if override else Path(__file__).resolve().parents[2] / "config"
    if not (path / "listing.json").is_file():
        raise FileNotFoundError(
            f"config/listing.json not found in {path}: set MLOPS_CONFIG_DIR to the repository's config/ folder"
        )
    return path


@lru_cache(maxsize=None)
def _load(name: str, directory: str) -> Any:
    with open(Path(directory) / name, encoding="utf-8") as handle:
        return json.load(handle)


def load_json(name: str) -> Any:
    """A parsed config file (cached per directory; callers must not mutate it)."""
    return _load(name, str(config_dir()))
