"""The SQL of the SQLite migrations (`store.migrations`), one script per migration.

Shipped scripts never change: a new migration adds a script.
"""

from __future__ import annotations

from store.codec import GENESIS_HASH

# The CHECKs repeat the store's rules so that a write from any other tool still
# cannot put a row into a state the app would misread.
M001 = f"""
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    external_id TEXT NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),
    title TEXT NOT NULL DEFAULT '',
    input TEXT NOT NULL DEFAULT '',
    draft TEXT NOT NULL CHECK (length(draft) > 0),
    draft_sha256 TEXT NOT NULL CHECK (length(draft_sha256) = 64),
    confidence REAL CHECK (confidence IS NULL OR (confidence >= 0.0 AND confidence <= 1.0)),
    confidence_basis TEXT NOT NULL
        CHECK (confidence_basis IN ('logprobs', 'self-report', 'provider', 'none')),
    data_limits TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(data_limits)),
    worst_limit INTEGER NOT NULL DEFAULT 0 CHECK (worst_limit BETWEEN 0 AND 3),
    model TEXT NOT NULL DEFAULT '',
    stakes TEXT NOT NULL CHECK (stakes IN ('low', 'medium', 'high')),
    stakes_rank INTEGER NOT NULL CHECK (
        stakes_rank = CASE stakes WHEN 'low' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END),
    meta TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(meta)),
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'claimed', 'decided', 'escalated')),
    claim_id INTEGER REFERENCES claims(id),
    CHECK ((confidence IS NULL) = (confidence_basis = 'none')),
    CHECK ((state = 'claimed') = (claim_id IS NOT NULL)),
    UNIQUE (source, external_id)
);
-- The claim order (highest stakes, then oldest) is this index's order: LIMIT 1 is one seek.
CREATE INDEX items_next ON items (state, stakes_rank DESC, created_at, id);
CREATE INDEX items_source_state ON items (source, state);

CREATE TABLE claims (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    reviewer TEXT NOT NULL CHECK (length(reviewer) BETWEEN 1 AND 100),
    claimed_at TEXT NOT NULL,
    lease_expires_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT CHECK (end_reason IN ('decided', 'released', 'expired')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX claims_open_by_lease ON claims (lease_expires_at) WHERE ended_at IS NULL;
CREATE INDEX claims_item ON claims (item_id);

CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    claim_id INTEGER REFERENCES claims(id),
    reviewer TEXT NOT NULL CHECK (length(reviewer) BETWEEN 1 AND 100),
    action TEXT NOT NULL
        CHECK (action IN ('approve', 'edit', 'override', 'reject', 'escalate', 'retract')),
    justification TEXT NOT NULL
        CHECK (length(trim(justification, ' ' || char(9, 10, 13))) >= 10),
    output TEXT,
    reason_code TEXT,
    retracts INTEGER REFERENCES ledger(seq),
    draft_sha256 TEXT NOT NULL,
    shown_confidence REAL,
    shown_basis TEXT NOT NULL,
    shown_limits TEXT NOT NULL CHECK (json_valid(shown_limits)),
    time_on_item_ms INTEGER NOT NULL CHECK (time_on_item_ms >= 0),
    recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    CHECK (action NOT IN ('override', 'reject') OR reason_code IS NOT NULL),
    CHECK ((action IN ('approve', 'edit', 'override')) = (output IS NOT NULL)),
    CHECK ((action = 'retract') = (retracts IS NOT NULL)),
    CHECK ((action = 'retract') = (claim_id IS NULL))
);
-- One decision per claim, one retraction per event: enforced here, not only in code.
CREATE UNIQUE INDEX ledger_one_decision_per_claim ON ledger (claim_id) WHERE claim_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_one_retract_per_event ON ledger (retracts) WHERE retracts IS NOT NULL;
CREATE INDEX ledger_item ON ledger (item_id, seq);
CREATE INDEX ledger_reviewer ON ledger (reviewer, seq);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: UPDATE refused'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE refused'); END;
-- Events join the chain in order: seq is the next number and prev_hash the last hash.
CREATE TRIGGER ledger_chain BEFORE INSERT ON ledger
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM ledger), 0) + 1
  OR NEW.prev_hash IS NOT coalesce(
        (SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}')
BEGIN SELECT RAISE(ABORT, 'ledger chain: an event must follow the last one'); END;
"""

M002 = """
CREATE TABLE item_counts (
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (source, state)
) WITHOUT ROWID;
INSERT INTO item_counts (source, state, n)
    SELECT source, state, count(*) FROM items GROUP BY source, state;

CREATE TRIGGER item_counts_insert AFTER INSERT ON items
BEGIN
    INSERT INTO item_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
        ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER item_counts_delete AFTER DELETE ON items
BEGIN
    UPDATE item_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
END;
CREATE TRIGGER item_counts_update AFTER UPDATE OF state, source ON items
WHEN OLD.state IS NOT NEW.state OR OLD.source IS NOT NEW.source
BEGIN
    UPDATE item_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
    INSERT INTO item_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
        ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
END;
"""

M004 = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    event_seq INTEGER NOT NULL REFERENCES ledger(seq),
    source TEXT NOT NULL,
    -- The event's hash: a receiver that sees it twice can drop the repeat.
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

CREATE TABLE provider_state (
    provider TEXT PRIMARY KEY,
    cursor TEXT,
    updated_at TEXT NOT NULL
);
"""

M005 = """
-- Hashed with the event when present: commit-first judgement, friction, catch trial,
-- two-person stage. NULL for events before this migration (their hashes stay valid).
ALTER TABLE ledger ADD COLUMN oversight TEXT CHECK (oversight IS NULL OR json_valid(oversight));

-- Planted wrong drafts: ordinary items to every screen; only this table knows.
CREATE TABLE plants (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    base_item_id INTEGER REFERENCES items(id),
    mutation TEXT NOT NULL CHECK (length(mutation) BETWEEN 1 AND 32),
    detail TEXT NOT NULL,
    planted_at TEXT NOT NULL
);
CREATE INDEX plants_base ON plants (base_item_id);

-- The reviewer's own judgement, recorded before a commit-first draft is shown.
CREATE TABLE provisionals (
    claim_id INTEGER PRIMARY KEY REFERENCES claims(id),
    value TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 2000),
    notes TEXT NOT NULL DEFAULT '',
    committed_at TEXT NOT NULL
);

-- Items approved once that wait for an independent second reviewer.
CREATE TABLE second_reviews (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    first_seq INTEGER NOT NULL REFERENCES ledger(seq),
    first_reviewer TEXT NOT NULL
);

-- A planted draft's decision never reaches a provider, whatever the code does.
CREATE TRIGGER outbox_no_planted BEFORE INSERT ON outbox
WHEN EXISTS (SELECT 1 FROM ledger AS e JOIN plants AS p ON p.item_id = e.item_id
             WHERE e.seq = NEW.event_seq)
BEGIN SELECT RAISE(ABORT, 'planted drafts are never sent to a provider'); END;
"""

M006 = """
DROP INDEX items_open;
CREATE INDEX items_open ON items (stakes_rank, created_at, id)
    WHERE state = 'pending' OR state = 'claimed';
DROP TRIGGER item_counts_insert;
DROP INDEX items_source_state;
"""

M007 = """
CREATE TABLE pull_failures (
    provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    PRIMARY KEY (provider, external_id)
);
"""

M009 = """
ALTER TABLE items ADD COLUMN assigned_to TEXT
    CHECK (assigned_to IS NULL OR length(assigned_to) BETWEEN 1 AND 100);
-- A reviewer's own pending assignments in review order: one seek per claim.
CREATE INDEX items_assigned ON items (assigned_to, stakes_rank DESC, created_at, id)
    WHERE state = 'pending' AND assigned_to IS NOT NULL;
"""

# The same views on PostgreSQL are in store/pg_schema.py (its JSON operators differ).
M010 = """
-- Every decision that still stands: not retracted, not a catch trial, not a retraction.
CREATE VIEW standing_decisions AS
SELECT e.* FROM ledger AS e
WHERE e.action != 'retract'
  AND NOT EXISTS (SELECT 1 FROM ledger AS r WHERE r.retracts = e.seq)
  AND NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.item_id = e.item_id);

-- Where reviewers changed or refused the AI's answer, with their reasons.
CREATE VIEW overrides AS
SELECT seq, recorded_at, reviewer, source, external_id, action, reason_code, justification,
       output, shown_confidence, shown_basis
FROM standing_decisions WHERE action = 'edit' OR action = 'override' OR action = 'reject';

-- Each escalation, and the lead's decision that resolved it (NULL: still open).
CREATE VIEW escalations_and_resolutions AS
SELECT e.seq AS escalation_seq, e.recorded_at AS escalated_at, e.reviewer AS escalated_by,
       e.source, e.external_id, e.justification AS why_escalated,
       r.seq AS resolution_seq, r.recorded_at AS resolved_at, r.reviewer AS resolved_by,
       r.action AS resolution, r.justification AS why_resolved
FROM standing_decisions AS e
LEFT JOIN standing_decisions AS r ON json_extract(r.oversight, '$.resolves') = e.seq
WHERE e.action = 'escalate';
"""

# The register's rules, as the ledger's: CHECKs repeat the store's, triggers keep it
# append-only and in chain order. The same table on PostgreSQL: store/pg_schema.py.
M011 = f"""
CREATE TABLE register (
    seq INTEGER PRIMARY KEY,
    incident INTEGER NOT NULL CHECK (incident >= 1),
    action TEXT NOT NULL CHECK (action = 'report' OR action = 'resolve'),
    kind TEXT CHECK (kind IS NULL OR kind = 'incident' OR kind = 'complaint'),
    severity TEXT CHECK (severity IS NULL OR severity = 'low' OR severity = 'medium'
                         OR severity = 'high' OR severity = 'critical'),
    decisions TEXT NOT NULL CHECK (json_valid(decisions)),
    reported_by TEXT NOT NULL CHECK (length(reported_by) BETWEEN 1 AND 100),
    recorded_by TEXT NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 100),
    text TEXT NOT NULL CHECK (length(trim(text, ' ' || char(9, 10, 13))) >= 10),
    outcome TEXT CHECK (outcome IS NULL OR outcome = 'confirmed' OR outcome = 'unfounded'),
    ledger_seq INTEGER NOT NULL CHECK (ledger_seq >= 0),
    recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    CHECK ((action = 'report') = (kind IS NOT NULL AND severity IS NOT NULL)),
    CHECK ((action = 'resolve') = (outcome IS NOT NULL))
);
-- One report and one resolution per incident, enforced here, not only in code.
CREATE UNIQUE INDEX register_one_report ON register (incident) WHERE action = 'report';
CREATE UNIQUE INDEX register_one_resolution ON register (incident) WHERE action = 'resolve';

CREATE TRIGGER register_no_update BEFORE UPDATE ON register
BEGIN SELECT RAISE(ABORT, 'the register is append-only: UPDATE refused'); END;
CREATE TRIGGER register_no_delete BEFORE DELETE ON register
BEGIN SELECT RAISE(ABORT, 'the register is append-only: DELETE refused'); END;
CREATE TRIGGER register_chain BEFORE INSERT ON register
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM register), 0) + 1
  OR NEW.prev_hash IS NOT coalesce(
        (SELECT hash FROM register ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}')
BEGIN SELECT RAISE(ABORT, 'register chain: an entry must follow the last one'); END;

-- Each incident or complaint with its status and, once a lead closed it, the resolution.
CREATE VIEW incidents AS
SELECT r.incident, r.kind, r.severity, r.recorded_at AS reported_at, r.reported_by,
       r.recorded_by, r.decisions, r.text AS what_happened,
       coalesce(x.outcome, 'open') AS status, x.recorded_at AS resolved_at,
       x.recorded_by AS resolved_by, x.text AS why_resolved
FROM register AS r LEFT JOIN register AS x ON x.incident = r.incident AND x.action = 'resolve'
WHERE r.action = 'report';
"""

# An archive cut: events 1..through_seq moved to a file (checked, signed) and deleted
# here; `archived` keeps each one's (seq, prev_hash, hash), so the chain still links from
# the first event across the cut, and checkpoints older than the cut still check. The
# ledger's DELETE guard lets exactly those rows go, nothing else.
M012 = """
CREATE TABLE archive_cuts (
    through_seq INTEGER PRIMARY KEY,
    through_hash TEXT NOT NULL CHECK (length(through_hash) = 64),
    first_hash TEXT NOT NULL CHECK (length(first_hash) = 64),
    file_name TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    file_sha256 TEXT NOT NULL CHECK (length(file_sha256) = 64),
    archived_at TEXT NOT NULL,
    archived_by TEXT NOT NULL CHECK (length(archived_by) BETWEEN 1 AND 100)
);
CREATE TABLE archived (
    seq INTEGER PRIMARY KEY,
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE TRIGGER archive_cuts_no_update BEFORE UPDATE ON archive_cuts
BEGIN SELECT RAISE(ABORT, 'archive cuts are append-only: UPDATE refused'); END;
CREATE TRIGGER archive_cuts_no_delete BEFORE DELETE ON archive_cuts
BEGIN SELECT RAISE(ABORT, 'archive cuts are append-only: DELETE refused'); END;
CREATE TRIGGER archive_cut_in_chain BEFORE INSERT ON archive_cuts
WHEN NEW.through_seq <= coalesce((SELECT max(through_seq) FROM archive_cuts), 0)
  OR NEW.through_hash IS NOT (SELECT hash FROM ledger WHERE seq = NEW.through_seq)
  OR NEW.through_seq >= (SELECT max(seq) FROM ledger)
BEGIN SELECT RAISE(ABORT, 'archive: a cut is a later event of the ledger, not its newest');
END;
CREATE TRIGGER archived_no_update BEFORE UPDATE ON archived
BEGIN SELECT RAISE(ABORT, 'archived hashes are append-only: UPDATE refused'); END;
CREATE TRIGGER archived_no_delete BEFORE DELETE ON archived
BEGIN SELECT RAISE(ABORT, 'archived hashes are append-only: DELETE refused'); END;
CREATE TRIGGER archived_is_the_ledgers BEFORE INSERT ON archived
WHEN NOT EXISTS (SELECT 1 FROM ledger WHERE seq = NEW.seq AND hash = NEW.hash
                 AND prev_hash = NEW.prev_hash)
BEGIN SELECT RAISE(ABORT, 'archive: only a ledger event can be archived'); END;

DROP TRIGGER ledger_no_delete;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
WHEN OLD.seq > coalesce((SELECT max(through_seq) FROM archive_cuts), 0)
  OR NOT EXISTS (SELECT 1 FROM archived WHERE seq = OLD.seq AND hash = OLD.hash)
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE refused'); END;
"""

M014 = """
CREATE TABLE practice (
    id INTEGER PRIMARY KEY,
    reviewer TEXT NOT NULL CHECK (length(reviewer) BETWEEN 1 AND 100),
    item_id INTEGER NOT NULL REFERENCES items(id),
    answer TEXT NOT NULL CHECK (length(answer) BETWEEN 1 AND 2000),
    reference TEXT NOT NULL,
    correct INTEGER NOT NULL CHECK (correct = 0 OR correct = 1),
    basis TEXT NOT NULL CHECK (basis = 'standing' OR basis = 'plant'),
    recorded_at TEXT NOT NULL,
    UNIQUE (reviewer, item_id)
);
CREATE INDEX practice_when ON practice (recorded_at);
CREATE TRIGGER practice_no_update BEFORE UPDATE ON practice
BEGIN SELECT RAISE(ABORT, 'practice answers are append-only: UPDATE refused'); END;
CREATE TRIGGER practice_no_delete BEFORE DELETE ON practice
BEGIN SELECT RAISE(ABORT, 'practice answers are append-only: DELETE refused'); END;
"""

M017 = """
CREATE TABLE ledger_counts (action TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO ledger_counts (action, n) SELECT action, count(*) FROM ledger GROUP BY action;
CREATE TRIGGER ledger_counts_insert AFTER INSERT ON ledger
BEGIN
    INSERT INTO ledger_counts (action, n) VALUES (NEW.action, 1)
        ON CONFLICT (action) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER ledger_counts_delete AFTER DELETE ON ledger
BEGIN
    UPDATE ledger_counts SET n = n - 1 WHERE action = OLD.action;
END;
"""

M019 = """
CREATE TABLE ledger_models (seq INTEGER PRIMARY KEY, model TEXT);
INSERT INTO ledger_models (seq, model)
    SELECT e.seq, i.model FROM ledger AS e JOIN items AS i ON i.id = e.item_id;
CREATE TRIGGER ledger_models_insert AFTER INSERT ON ledger
BEGIN
    INSERT INTO ledger_models (seq, model)
        SELECT NEW.seq, model FROM items WHERE id = NEW.item_id;
END;
CREATE TRIGGER ledger_models_delete AFTER DELETE ON ledger
BEGIN
    DELETE FROM ledger_models WHERE seq = OLD.seq;
END;
CREATE TRIGGER ledger_models_moved AFTER UPDATE OF model ON items
WHEN OLD.model IS NOT NEW.model
BEGIN
    UPDATE ledger_models SET model = NEW.model
        WHERE seq IN (SELECT seq FROM ledger WHERE item_id = NEW.id);
END;
"""

M023 = """
CREATE TABLE stats_kept (
    id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL, upto INTEGER NOT NULL,
    upto_hash TEXT NOT NULL, cut INTEGER NOT NULL, state BLOB NOT NULL, looked TEXT NOT NULL
);
CREATE TRIGGER stats_kept_models AFTER UPDATE OF model ON ledger_models
BEGIN
    DELETE FROM stats_kept;
END;
"""
