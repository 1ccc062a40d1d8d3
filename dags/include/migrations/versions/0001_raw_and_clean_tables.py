"""The pipeline's tables as they were before versioned migrations.

Until then the first task of each DAG ran this DDL (include/db.py), `CREATE ... IF NOT
EXISTS`, on every run. It is kept as it was, IF NOT EXISTS included, so that an install made
by it is adopted as it is, rows kept, and a fresh database gets the same tables. A later change
is a new revision, never an edit of this one.

Revision ID: 0001
Revises: (none)
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS clean;

-- One row per listing as the data API sent it. Natural key: the row's place in the
-- batch the API numbered (group, day, batch_number, row_in_batch); see dags/README.md.
CREATE TABLE IF NOT EXISTS raw.listings (
    id            bigserial PRIMARY KEY,
    group_number  integer     NOT NULL,
    day           text        NOT NULL,
    batch_number  integer     NOT NULL,
    row_in_batch  integer     NOT NULL,
    row_hash      text        NOT NULL,
    record        jsonb       NOT NULL,
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_number, day, batch_number, row_in_batch)
);

CREATE TABLE IF NOT EXISTS raw.ingest_log (
    id            bigserial PRIMARY KEY,
    group_number  integer     NOT NULL,
    day           text        NOT NULL,
    batch_number  integer,
    received      integer     NOT NULL,
    inserted      integer     NOT NULL,
    duplicates    integer     NOT NULL,
    conflicting   integer     NOT NULL,
    outcome       text        NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS clean.listings (
    id             bigserial PRIMARY KEY,
    raw_id         bigint NOT NULL UNIQUE REFERENCES raw.listings (id),
    batch_number   integer NOT NULL,
    brokered_by    double precision,
    status         text NOT NULL,
    price          double precision NOT NULL,
    bed            double precision,
    bath           double precision,
    acre_lot       double precision,
    street         text,
    city           text,
    state          text NOT NULL,
    zip_code       text,
    house_size     double precision,
    prev_sold_date date,
    split          text NOT NULL CHECK (split IN ('train', 'test')),
    cleaned_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS listings_split_idx ON clean.listings (split);

-- Raw rows the cleaning step dropped, with the reason, so they are not examined again.
CREATE TABLE IF NOT EXISTS clean.rejected_listings (
    raw_id      bigint PRIMARY KEY REFERENCES raw.listings (id),
    reason      text NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS clean.cleaning_log (
    id         bigserial PRIMARY KEY,
    run_at     timestamptz NOT NULL DEFAULT now(),
    rows_in    integer NOT NULL,
    rows_out   integer NOT NULL,
    rejected   integer NOT NULL,
    reasons    jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS clean.training_decisions (
    id               bigserial PRIMARY KEY,
    decided_at       timestamptz NOT NULL DEFAULT now(),
    train            boolean NOT NULL,
    reason           text NOT NULL,
    new_rows         integer NOT NULL,
    total_rows       integer NOT NULL,
    max_clean_id     bigint NOT NULL,
    psi              jsonb NOT NULL,
    production_version text,
    trained_version  text
);

CREATE TABLE IF NOT EXISTS clean.model_history (
    id                  bigserial PRIMARY KEY,
    decided_at          timestamptz NOT NULL DEFAULT now(),
    model_name          text NOT NULL,
    candidate_version   text NOT NULL,
    production_version  text,
    metric              text NOT NULL,
    candidate_value     double precision NOT NULL,
    production_value    double precision,
    test_rows           integer NOT NULL,
    promoted            boolean NOT NULL,
    reason              text NOT NULL,
    notified            boolean
);
"""


def upgrade() -> None:
    # The driver's own execute: one round trip for the whole script, no bind-parameter parsing.
    op.get_bind().exec_driver_sql(DDL)


def downgrade() -> None:
    raise NotImplementedError("the pipeline's migrations go forward only: undo a change with a new revision")
