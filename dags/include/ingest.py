"""ingest: fetch one batch from the data API and append it to raw.listings, idempotently."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import requests

from .db import copy_rows

log = logging.getLogger(__name__)


class NoMoreData(Exception):
    """The data API answered 400: every batch has been served (or the group is unknown)."""


@dataclass(frozen=True)
class Batch:
    group_number: int
    day: str
    batch_number: int
    rows: list[dict[str, Any]]


def fetch_batch(base_url: str, group_number: int, day: str, timeout: float = 30.0,
                session: requests.Session | None = None) -> Batch:
    http = session or requests.Session()
    response = http.get(f"{base_url}/data", params={"group_number": group_number, "day": day}, timeout=timeout)
    if response.status_code == 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        raise NoMoreData(f"data API: no new data for group {group_number}, day {day}: {detail}")
    response.raise_for_status()
    body = response.json()
    rows = body.get("data")
    if not isinstance(rows, list) or not isinstance(body.get("batch_number"), int):
        raise ValueError(f"data API answered without 'data' list and integer 'batch_number': keys {sorted(body)}")
    return Batch(group_number=int(body.get("group_number", group_number)), day=str(body.get("day", day)),
                 batch_number=body["batch_number"], rows=rows)


def row_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


def load_batch(conn, batch: Batch) -> dict[str, int]:
    """Append a batch to raw.listings; a row already stored under its natural key is skipped.

    COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING: the bulk speed
    of COPY with the idempotence of the unique key. Rows whose key exists with different
    content (the API re-served a batch number with other rows) are counted as conflicting
    and logged: the first version is kept.
    """
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE incoming (row_in_batch integer, row_hash text, record jsonb) ON COMMIT DROP"
        )
        copy_rows(cur, "incoming", ("row_in_batch", "row_hash", "record"),
                  ((i, row_hash(r), r) for i, r in enumerate(batch.rows)))
        cur.execute(
            """
            SELECT count(*) FROM incoming i JOIN raw.listings l
              ON l.group_number = %s AND l.day = %s AND l.batch_number = %s AND l.row_in_batch = i.row_in_batch
             WHERE l.row_hash <> i.row_hash
            """,
            (batch.group_number, batch.day, batch.batch_number),
        )
        conflicting = cur.fetchone()[0]
        cur.execute(
            """
            INSERT INTO raw.listings (group_number, day, batch_number, row_in_batch, row_hash, record)
            SELECT %s, %s, %s, row_in_batch, row_hash, record FROM incoming
            ON CONFLICT (group_number, day, batch_number, row_in_batch) DO NOTHING
            """,
            (batch.group_number, batch.day, batch.batch_number),
        )
        inserted = cur.rowcount
        counts = {
            "batch_number": batch.batch_number,
            "received": len(batch.rows),
            "inserted": inserted,
            "duplicates": len(batch.rows) - inserted,
            "conflicting": conflicting,
        }
        cur.execute(
            """
            INSERT INTO raw.ingest_log (group_number, day, batch_number, received, inserted, duplicates, conflicting, outcome)
            VALUES (%s, %s, %s, %s, %s, %s, %s, 'loaded')
            """,
            (batch.group_number, batch.day, batch.batch_number, counts["received"], inserted,
             counts["duplicates"], conflicting),
        )
    conn.commit()
    if conflicting:
        log.warning("batch %s: %d rows differ from the stored rows under the same key; kept the stored ones",
                    batch.batch_number, conflicting)
    log.info("batch %(batch_number)s: received %(received)s, inserted %(inserted)s, duplicates %(duplicates)s", counts)
    return counts


def record_no_data(conn, group_number: int, day: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO raw.ingest_log (group_number, day, batch_number, received, inserted, duplicates, conflicting, outcome)
            VALUES (%s, %s, NULL, 0, 0, 0, 0, 'no_more_data')
            """,
            (group_number, day),
        )
    conn.commit()
