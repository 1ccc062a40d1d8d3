"""The pipeline's migrations (include/migrations, Alembic) against a real PostgreSQL, each
case on its own database owned by its own role (as in the cluster): a fresh database, an install
made by the previous schema (the CREATE ... IF NOT EXISTS the DAGs ran before versioned
migrations, kept in tests/fixtures/previous_schema.sql) with rows in every table, a second run,
concurrent runs, and the advisory lock."""
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from include import clean, db, ingest, registry

ALL = ["0001"]
PREVIOUS_SCHEMA = (Path(__file__).parent / "fixtures" / "previous_schema.sql").read_text()
TABLES = ["raw.listings", "raw.ingest_log", "clean.listings", "clean.rejected_listings", "clean.cleaning_log",
          "clean.training_decisions", "clean.model_history"]


def rows(params, sql, *args):
    with db.connect(params) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def versions(params):
    return [r[0] for r in rows(params, f"SELECT version_num FROM {db.VERSION_TABLE}")]


def shape(params):
    """What a reader of the catalog sees of schemas raw and clean: columns, indexes, constraints."""
    return {
        "columns": rows(params, """SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default
                                   FROM information_schema.columns WHERE table_schema IN ('raw', 'clean')
                                   ORDER BY table_schema, table_name, ordinal_position"""),
        "indexes": rows(params, "SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE schemaname IN ('raw', 'clean') ORDER BY 1, 2"),
        "constraints": rows(params, """SELECT n.nspname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                                       JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname IN ('raw', 'clean')
                                       ORDER BY 1, 2"""),
    }


def snapshot(params):
    return {t: rows(params, f"SELECT * FROM {t} ORDER BY 1") for t in TABLES}


GOOD = {"status": "For Sale", "price": 100000, "state": "Texas", "zip_code": 2108, "bed": 3,
        "house_size": 1200, "prev_sold_date": "2020-01-02T00:00:00"}


def fill(params, batch_number):
    """Rows in every table, written by the pipeline's own functions."""
    listings = [{**GOOD, "price": 100000 + i} for i in range(200)] + [{**GOOD, "price": -1}, {**GOOD, "state": None}]
    with db.connect(params) as conn:
        ingest.load_batch(conn, ingest.Batch(1, "Tuesday", batch_number, listings))
        ingest.record_no_data(conn, 1, "Wednesday")
        clean.clean_new_rows(conn, date(2026, 11, 27), 0.2)
        comparison = registry.promotion_rule(metric="mae", candidate=90.0, production=100.0, min_improvement=0.0)
        registry.record_history(conn, model_name="realtor-price", candidate_version=str(batch_number),
                                production_version="1", comparison=comparison, test_rows=10, notified=False)
        with conn.cursor() as cur:
            cur.execute("""INSERT INTO clean.training_decisions (train, reason, new_rows, total_rows, max_clean_id, psi)
                           VALUES (true, 'no production model', 200, 200, 200, '{}')""")


def test_the_revisions_form_one_line_in_file_order():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [ALL[-1]]
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == ALL
    files = sorted(p.name for p in (db.MIGRATIONS / "versions").glob("*.py"))
    assert [f.split("_")[0] for f in files] == ALL


def test_a_fresh_database_migrates_to_the_latest_revision(empty_db):
    assert db.migrate(empty_db) == ALL
    assert versions(empty_db) == [ALL[-1]]
    tables = rows(empty_db, """SELECT table_schema || '.' || table_name FROM information_schema.tables
                               WHERE table_schema IN ('raw', 'clean', 'public') ORDER BY 1""")
    assert [t for (t,) in tables] == sorted([*TABLES, f"public.{db.VERSION_TABLE}"])


def test_revision_0001_is_the_previous_schema_exactly(postgres, empty_db):
    import secrets

    by_fixture = empty_db
    with db.connect(by_fixture) as conn, conn.cursor() as cur:
        cur.execute(PREVIOUS_SCHEMA)
    name = f"t_{secrets.token_hex(3)}_by_migration"
    postgres.create_database(name, "pw")
    by_migration = postgres.params(dbname=name, user=name, password="pw")
    assert db.migrate(by_migration, "0001") == ["0001"]
    assert shape(by_migration) == shape(by_fixture)


def test_an_install_made_by_the_previous_schema_is_adopted_with_every_row(empty_db):
    with db.connect(empty_db) as conn, conn.cursor() as cur:
        cur.execute(PREVIOUS_SCHEMA)
    fill(empty_db, batch_number=1)
    before = snapshot(empty_db)
    assert {t: len(r) for t, r in before.items()} == {
        "raw.listings": 202, "raw.ingest_log": 2, "clean.listings": 200, "clean.rejected_listings": 2,
        "clean.cleaning_log": 1, "clean.training_decisions": 1, "clean.model_history": 1}

    assert db.migrate(empty_db) == ALL
    assert versions(empty_db) == [ALL[-1]]
    assert snapshot(empty_db) == before
    # The pipeline goes on where it was: the next batch lands after the old rows.
    fill(empty_db, batch_number=2)
    assert rows(empty_db, "SELECT min(id), count(*) FROM raw.listings WHERE batch_number = 2") == [(203, 202)]
    assert db.migrate(empty_db) == []


def test_running_the_migrations_again_applies_nothing(empty_db):
    assert db.migrate(empty_db) == ALL
    assert db.migrate(empty_db) == []
    assert db.migrate(empty_db) == []
    assert versions(empty_db) == [ALL[-1]]


def _migrate_when_all_ready(params, barrier, results):
    barrier.wait()
    results.put(db.migrate(params))


def test_six_tasks_starting_at_once_on_a_fresh_database_one_applies_the_others_wait(empty_db):
    # Processes, as Airflow runs tasks: each with its own Alembic and its own connection.
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_migrate_when_all_ready, args=(empty_db, barrier, results)) for _ in range(6)]
    for p in procs:
        p.start()
    try:
        got = [results.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * 6
    assert sorted(got, key=len) == [[]] * 5 + [ALL]
    assert versions(empty_db) == [ALL[-1]]


def test_it_waits_while_another_session_holds_the_lock_key_and_only_on_its_own(postgres, empty_db):
    import psycopg2
    import secrets

    def hold(params, key):
        conn = psycopg2.connect(**params)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (key,))
        return conn

    # The model API's key (...01) and the data API's (...02), held in the same database, do not hold it up.
    name = f"t_{secrets.token_hex(3)}_other_keys"
    postgres.create_database(name, "pw")
    other = postgres.params(dbname=name, user=name, password="pw")
    holders = [hold(other, db.MIGRATION_LOCK_KEY - 2), hold(other, db.MIGRATION_LOCK_KEY - 1)]
    try:
        assert db.migrate(other) == ALL
    finally:
        for conn in holders:
            conn.close()

    holder = hold(empty_db, db.MIGRATION_LOCK_KEY)
    try:
        with ThreadPoolExecutor(1) as pool:
            run = pool.submit(db.migrate, empty_db)
            time.sleep(1.0)
            assert not run.done()
            assert rows(empty_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == [(1,)]
            assert rows(empty_db, "SELECT to_regclass(%s)::text", db.VERSION_TABLE) == [(None,)]
            with holder.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (db.MIGRATION_LOCK_KEY,))
            assert run.result(timeout=30) == ALL
    finally:
        holder.close()
