"""clean: normalise the raw rows not examined yet, split them, store them in clean.listings."""
from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from datetime import date

from .db import copy_rows
from .listing import clean_listing, field_names

log = logging.getLogger(__name__)

CLEAN_COLUMNS = ["raw_id", "batch_number", *field_names(), "split"]


def split_of(group_number: int, day: str, batch_number: int, row_in_batch: int, test_fraction: float) -> str:
    """Deterministic train/test assignment from the row's natural key.

    A row keeps its split for ever (it does not depend on load order, on the other rows,
    or on a random state), so "the current test split" only grows as data arrives and a
    candidate and the production model can be compared on exactly the same rows.
    """
    digest = hashlib.sha256(f"{group_number}|{day}|{batch_number}|{row_in_batch}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


def clean_new_rows(conn, reference: date, test_fraction: float) -> dict[str, object]:
    """Clean every raw row that is neither in clean.listings nor in clean.rejected_listings."""
    with conn.cursor() as cur:
        # One cleaner at a time: two concurrent runs would both see the same new rows.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('mlops.pipeline.clean'))")
        cur.execute(
            """
            SELECT r.id, r.group_number, r.day, r.batch_number, r.row_in_batch, r.record
              FROM raw.listings r
             WHERE NOT EXISTS (SELECT 1 FROM clean.listings c WHERE c.raw_id = r.id)
               AND NOT EXISTS (SELECT 1 FROM clean.rejected_listings x WHERE x.raw_id = r.id)
             ORDER BY r.id
            """
        )
        raw_rows = cur.fetchall()
        kept, rejected, reasons = [], [], Counter()
        for raw_id, group, day, batch, position, record in raw_rows:
            if isinstance(record, str):
                record = json.loads(record)
            row, why = clean_listing(record if isinstance(record, dict) else {}, reference)
            reasons.update(why)
            if row is None:
                rejected.append((raw_id, next(r for r in why if not r.startswith("nulled_"))))
                continue
            kept.append([raw_id, batch, *(row[f] for f in field_names()),
                         split_of(group, day, batch, position, test_fraction)])
        copy_rows(cur, "clean.listings", CLEAN_COLUMNS, kept)
        copy_rows(cur, "clean.rejected_listings", ("raw_id", "reason"), rejected)
        summary = {
            "rows_in": len(raw_rows),
            "rows_out": len(kept),
            "rejected": len(rejected),
            "reasons": dict(sorted(reasons.items())),
        }
        cur.execute(
            "INSERT INTO clean.cleaning_log (rows_in, rows_out, rejected, reasons) VALUES (%s, %s, %s, %s)",
            (summary["rows_in"], summary["rows_out"], summary["rejected"], json.dumps(summary["reasons"])),
        )
    conn.commit()
    log.info("cleaned %(rows_in)s raw rows: %(rows_out)s kept, %(rejected)s rejected; reasons %(reasons)s", summary)
    return summary
