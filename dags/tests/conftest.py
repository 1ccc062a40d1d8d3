import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1]
if str(DAGS) not in sys.path:
    sys.path.insert(0, str(DAGS))

# Airflow reads its home at first import: keep tests away from ~/airflow, and leave nothing behind.
if "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
    atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from tests.support.servers import start_postgres  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def empty_db(postgres, request):
    """A fresh, empty database per test (named after it), owned by its own role, as the
    platform's setup Job makes database `mlops` owned by role `mlops`."""
    import secrets

    name = f"t_{secrets.token_hex(3)}_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    password = secrets.token_urlsafe(12)
    postgres.create_database(name, password)
    return postgres.params(dbname=name, user=name, password=password)


@pytest.fixture
def mlops_db(empty_db):
    """A fresh database per test, migrated to the latest revision (include/migrations)."""
    from include import db

    db.migrate(empty_db)
    return empty_db
