"""Team mode's roles and privileges: who may read and write what, enforced by PostgreSQL.

`signoff team init URL` (run as the database's owner or an administrator) creates the
schema and two group roles; `signoff team add NAME [--lead]` creates a reviewer's login
in one of them. The rules live in the database, so they hold for `psql` as well as for
signoff:

- a reviewer **is** their login: ledger events, claims and judgements can be inserted
  only under `session_user` (row-level security `WITH CHECK`);
- the ledger is INSERT and SELECT only (no UPDATE, DELETE or TRUNCATE privilege, on top
  of the append-only triggers);
- a reviewer reads their own events and those on items that are final; another
  reviewer's pending first decision (two-person rule) stays hidden until then;
- only leads read `plants` (which drafts are catch trials) and the outbox, import,
  plant and export.
"""

from __future__ import annotations

import re
from typing import Final

from store.errors import StoreError
from store.pg import PgConnection, first_line

LEAD: Final = "signoff_lead"
"""The group role of leads (members also belong to `REVIEWER`)."""
REVIEWER: Final = "signoff_reviewer"
"""The group role of every reviewer."""

_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")

PRIVILEGES: Final = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{REVIEWER}') THEN
        CREATE ROLE {REVIEWER} NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{LEAD}') THEN
        CREATE ROLE {LEAD} NOLOGIN IN ROLE {REVIEWER};
    END IF;
END $$;

-- This database is a team's: names are logins from now on (`Store.is_lead`).
INSERT INTO signoff_meta VALUES ('team', 'on') ON CONFLICT (key) DO NOTHING;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {REVIEWER};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {REVIEWER};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {REVIEWER};

-- Reviewers: read the queue, claim, decide, retract.
GRANT SELECT ON items, claims, item_counts, second_reviews, chain_head, signoff_meta,
    provider_state, pull_failures TO {REVIEWER};
GRANT UPDATE (state, claim_id, updated_at) ON items TO {REVIEWER};
GRANT INSERT, UPDATE (lease_expires_at, ended_at, end_reason) ON claims TO {REVIEWER};
GRANT SELECT, INSERT ON ledger TO {REVIEWER};
GRANT SELECT, INSERT ON provisionals TO {REVIEWER};
GRANT INSERT, UPDATE, DELETE ON second_reviews TO {REVIEWER};
-- The outbox holds final decisions only (their events are open to the team anyway).
GRANT SELECT, INSERT ON outbox TO {REVIEWER};

-- Leads: everything reviewers do, and import, plant, deliver, see catch trials.
GRANT SELECT, INSERT, UPDATE ON items, item_counts, plants, outbox, provider_state
    TO {LEAD};
GRANT SELECT, INSERT, UPDATE, DELETE ON pull_failures TO {LEAD};
GRANT SELECT ON standing_decisions, overrides, escalations_and_resolutions TO {LEAD};
-- Counts a lead's statistics pass keeps for the next (store.stats_kept): a cache.
GRANT SELECT, INSERT, UPDATE ON stats_kept TO {LEAD};

-- The incident register: anyone reports under their own login; only a lead resolves.
GRANT SELECT, INSERT ON register TO {REVIEWER};
GRANT SELECT ON incidents TO {REVIEWER};
-- Practice answers: each reviewer's own; the team's trend is a lead's.
GRANT SELECT, INSERT ON practice TO {REVIEWER};
ALTER TABLE practice ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS practice_own ON practice;
CREATE POLICY practice_own ON practice FOR ALL TO {REVIEWER}
    USING (reviewer = session_user) WITH CHECK (reviewer = session_user);
DROP POLICY IF EXISTS practice_lead ON practice;
CREATE POLICY practice_lead ON practice FOR SELECT TO {LEAD} USING (true);
-- Archived events' hashes: everyone verifies the chain across a cut; the owner archives.
GRANT SELECT ON archive_cuts, archived TO {REVIEWER};
ALTER TABLE register ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS register_read ON register;
CREATE POLICY register_read ON register FOR SELECT TO {REVIEWER} USING (true);
DROP POLICY IF EXISTS register_as_self ON register;
CREATE POLICY register_as_self ON register FOR INSERT TO {REVIEWER}
    WITH CHECK (recorded_by = session_user AND (action = 'report' OR signoff_sees_all()));

ALTER TABLE ledger ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS ledger_insert_as_self ON ledger;
CREATE POLICY ledger_insert_as_self ON ledger FOR INSERT TO {REVIEWER}
    WITH CHECK (reviewer = session_user);
DROP POLICY IF EXISTS ledger_read_own_or_final ON ledger;
CREATE POLICY ledger_read_own_or_final ON ledger FOR SELECT TO {REVIEWER}
    USING (reviewer = session_user OR EXISTS (
        SELECT 1 FROM items AS i WHERE i.id = ledger.item_id
        AND (i.state = 'decided' OR i.state = 'escalated')));
DROP POLICY IF EXISTS ledger_read_all ON ledger;
CREATE POLICY ledger_read_all ON ledger FOR SELECT TO {LEAD} USING (true);

ALTER TABLE claims ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS claims_read ON claims;
CREATE POLICY claims_read ON claims FOR SELECT TO {REVIEWER} USING (true);
DROP POLICY IF EXISTS claims_take_as_self ON claims;
CREATE POLICY claims_take_as_self ON claims FOR INSERT TO {REVIEWER}
    WITH CHECK (reviewer = session_user);
-- Anyone ends an expired lease; only the holder renews or releases an open one.
DROP POLICY IF EXISTS claims_end ON claims;
CREATE POLICY claims_end ON claims FOR UPDATE TO {REVIEWER} USING (true);

ALTER TABLE provisionals ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS provisionals_own ON provisionals;
CREATE POLICY provisionals_own ON provisionals FOR ALL TO {REVIEWER}
    USING (EXISTS (SELECT 1 FROM claims AS c WHERE c.id = provisionals.claim_id
                   AND c.reviewer = session_user))
    WITH CHECK (EXISTS (SELECT 1 FROM claims AS c WHERE c.id = provisionals.claim_id
                        AND c.reviewer = session_user));
DROP POLICY IF EXISTS provisionals_lead ON provisionals;
CREATE POLICY provisionals_lead ON provisionals FOR SELECT TO {LEAD} USING (true);
"""
"""Roles, grants and row-level security (idempotent: `team init` may run again)."""


def check_name(name: str) -> str:
    """A login name as PostgreSQL will store it unquoted; else `StoreError`."""
    if not _NAME.match(name):
        raise StoreError(
            f"{name[:70]!r} cannot be a reviewer login: use 1 to 63 lower-case letters, "
            "digits, '_', '.' or '-', starting with a letter"
        )
    if name.startswith("pg_") or name in (LEAD, REVIEWER):
        raise StoreError(f"{name!r} is reserved")
    return name


def init(conn: PgConnection) -> None:
    """Install the roles, grants and policies (the schema exists: `store.pg_open.connect`).

    Raises:
        StoreError: The login may not create roles or grant (one line, with the fix).
    """
    import psycopg

    try:
        with conn.write():
            conn.raw.execute(PRIVILEGES)
    except psycopg.errors.InsufficientPrivilege as error:
        raise StoreError(
            f"{first_line(error)}: run `signoff team init` as the database owner or an "
            "administrator"
        ) from None


def add(conn: PgConnection, name: str, *, lead: bool, password: str | None) -> bool:
    """Create `name`'s login (or give an existing role the team membership).

    Returns True when the login is new. Without `password` the role authenticates as
    the server's `pg_hba.conf` says (peer, certificate, or a password set later).
    """
    import psycopg
    from psycopg import sql

    name = check_name(name)
    role = sql.Identifier(name)
    try:
        with conn.write():
            exists = conn.raw.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.raw.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
            if password is not None:
                conn.raw.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password))
                )
            group = LEAD if lead else REVIEWER
            conn.raw.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))
            if not lead:
                conn.raw.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(LEAD), role))
    except psycopg.errors.UndefinedObject:
        raise StoreError("the team is not set up here yet: run `signoff team init` first") from None
    except psycopg.errors.InsufficientPrivilege as error:
        raise StoreError(
            f"{first_line(error)}: add reviewers as the database owner or an administrator"
        ) from None
    return exists is None


def members(conn: PgConnection) -> list[tuple[str, bool]]:
    """(login, is lead) of every team member, by name."""
    rows = conn.raw.execute(
        "SELECT r.rolname, pg_has_role(r.oid, %s, 'MEMBER') FROM pg_roles AS r "
        "WHERE r.rolcanlogin AND pg_has_role(r.oid, %s, 'MEMBER') ORDER BY r.rolname",
        (LEAD, REVIEWER),
    ).fetchall()
    return [(str(name), bool(is_lead)) for name, is_lead in rows]
