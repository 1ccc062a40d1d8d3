"""Against a real PostgreSQL: schema, idempotent bulk insert, the 400 of the data API,
cleaning of new rows only with reasons stored, reading clean rows, model history."""
from datetime import date

import pytest

from include import clean, db, ingest, registry
from include.steps import read_clean
from tests.support.servers import DataApiServer


def count(params, sql, *args):
    with db.connect(params) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def test_schema_is_migrated_once(mlops_db):
    # The fixture migrated it; again is a no-op (include/migrations, tests/test_migrations.py).
    assert db.migrate(mlops_db) == []
    tables = count(mlops_db, "SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('raw','clean')")
    assert tables == 7


def test_fetch_and_load_is_idempotent(mlops_db):
    with DataApiServer(batches=2, batch_size=300) as api:
        first = ingest.fetch_batch(api.url, 1, "Tuesday")
        api.repeat_next = True
        again = ingest.fetch_batch(api.url, 1, "Tuesday")
        second = ingest.fetch_batch(api.url, 1, "Tuesday")
        with pytest.raises(ingest.NoMoreData, match="all 2 batches"):
            ingest.fetch_batch(api.url, 1, "Tuesday")
        with pytest.raises(ingest.NoMoreData, match="invalid group_number"):
            ingest.fetch_batch(api.url, 99, "Tuesday")
    assert (first.batch_number, again.batch_number, second.batch_number) == (1, 1, 2)
    with db.connect(mlops_db) as conn:
        a = ingest.load_batch(conn, first)
        b = ingest.load_batch(conn, again)
        c = ingest.load_batch(conn, second)
    assert (a["inserted"], a["duplicates"]) == (300, 0)
    assert (b["inserted"], b["duplicates"], b["conflicting"]) == (0, 300, 0)
    assert c["inserted"] == 300
    assert count(mlops_db, "SELECT count(*) FROM raw.listings") == 600
    assert count(mlops_db, "SELECT count(DISTINCT (batch_number, row_in_batch)) FROM raw.listings") == 600
    assert count(mlops_db, "SELECT sum(inserted) FROM raw.ingest_log") == 600


def test_conflicting_rows_keep_the_first_version(mlops_db):
    rows = [{"price": 1}, {"price": 2}]
    with db.connect(mlops_db) as conn:
        ingest.load_batch(conn, ingest.Batch(1, "Tuesday", 5, rows))
        counts = ingest.load_batch(conn, ingest.Batch(1, "Tuesday", 5, [{"price": 1}, {"price": 3}]))
    assert (counts["inserted"], counts["conflicting"]) == (0, 1)
    assert count(mlops_db, "SELECT (record->>'price')::int FROM raw.listings WHERE row_in_batch = 1") == 2


def test_clean_only_new_rows_and_store_reasons(mlops_db):
    good = {"status": "For Sale", "price": 100000, "state": "Texas", "zip_code": 2108, "bed": 3,
            "house_size": 1200, "prev_sold_date": "2020-01-02T00:00:00"}
    rows = [good, {**good, "price": -1}, {**good, "state": None}, {**good, "bed": -2}]
    with db.connect(mlops_db) as conn:
        ingest.load_batch(conn, ingest.Batch(1, "Tuesday", 1, rows))
        first = clean.clean_new_rows(conn, date(2026, 11, 27), 0.2)
        again = clean.clean_new_rows(conn, date(2026, 11, 27), 0.2)
        ingest.load_batch(conn, ingest.Batch(1, "Tuesday", 2, [good]))
        third = clean.clean_new_rows(conn, date(2026, 11, 27), 0.2)
    assert first == {"rows_in": 4, "rows_out": 2, "rejected": 2,
                     "reasons": {"invalid_price": 1, "missing_state": 1, "nulled_bed": 1}}
    assert again["rows_in"] == 0 and third["rows_in"] == 1 and third["rows_out"] == 1
    assert count(mlops_db, "SELECT count(*) FROM clean.rejected_listings") == 2
    assert count(mlops_db, "SELECT count(*) FROM clean.cleaning_log") == 3
    with db.connect(mlops_db) as conn:
        frame = read_clean(conn)
    assert len(frame) == 3
    first_row = frame.iloc[0]
    assert (first_row["status"], first_row["state"], first_row["zip_code"], first_row["prev_sold_date"]) == (
        "for_sale", "texas", "02108", "2020-01-02")
    assert frame["bed"].isna().sum() == 1 and frame["street"].isna().all()
    expected = [clean.split_of(1, "Tuesday", b, r, 0.2) for b, r in ((1, 0), (1, 3), (2, 0))]
    assert list(frame["split"]) == expected


def test_record_history(mlops_db):
    comparison = registry.promotion_rule(metric="mae", candidate=90.0, production=100.0, min_improvement=0.0)
    with db.connect(mlops_db) as conn:
        row_id = registry.record_history(conn, model_name="realtor-price", candidate_version="2",
                                         production_version="1", comparison=comparison, test_rows=10, notified=False)
    assert count(mlops_db, "SELECT promoted::int FROM clean.model_history WHERE id = %s", row_id) == 1
