"""Opening a team database: the connection, its schema checked or made, and a listener.

`connect` is how a `Store` opens PostgreSQL: the schema is created in an empty
database, upgraded in an older one (once, under the write lock), and refused in a
database that holds other tables or a newer signoff's. `Listener` hears the other
connections' commits. The connection itself, and how it speaks the store's SQL, is
`store.pg`.
"""

from __future__ import annotations

from store import pg
from store.errors import SchemaError, StoreError


def connect(url: str) -> pg.PgConnection:
    """Connect to `url` and check (or create) the signoff schema.

    Raises:
        StoreError: The server cannot be reached or refused the login (one line).
        SchemaError: The database holds other tables, or a newer signoff's schema.
    """
    raw = pg.raw_connection(url)
    conn = pg.PgConnection(raw, url)
    try:
        _ensure_schema(conn)
    except BaseException:
        raw.close()
        raise
    return conn


def _ensure_schema(conn: pg.PgConnection) -> None:
    import psycopg

    from store.pg_schema import SCHEMA, SCHEMA_VERSION, UPGRADES

    url = pg.display(conn.url)
    try:
        version = _schema_version(conn)
        if version is None:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchone()
            if tables and tables[0]:
                raise SchemaError(f"{url} holds other tables; signoff will not write into it")
            with conn.write():
                conn.raw.execute(SCHEMA)
            version = _schema_version(conn)
        if version in UPGRADES:
            _upgrade(conn)
            version = _schema_version(conn)
        if version != SCHEMA_VERSION:
            raise SchemaError(
                f"{url} was made by a newer signoff (schema {version}); upgrade signoff to open it"
            )
    except psycopg.errors.InsufficientPrivilege as error:
        raise StoreError(
            f"{url}: {pg.first_line(error)} (ask a lead to run `signoff team init`)"
        ) from None


def _upgrade(conn: pg.PgConnection) -> None:
    """Run the pending schema upgrades in one transaction (the owner's login).

    Under the write lock the version is read again: two clients opening an old
    database at once upgrade it once. A team's grants are given again for new tables.
    """
    from store.pg_schema import UPGRADES
    from store.pg_team import PRIVILEGES

    with conn.write():
        version = _schema_version(conn)
        while version in UPGRADES:
            conn.raw.execute(UPGRADES[version])
            version = _schema_version(conn)
        if conn.execute("SELECT 1 FROM signoff_meta WHERE key = 'team'").fetchone():
            conn.raw.execute(PRIVILEGES)


def _schema_version(conn: pg.PgConnection) -> str | None:
    exists = conn.execute("SELECT to_regclass('signoff_meta') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT value FROM signoff_meta WHERE key = 'schema'").fetchone()
    return None if row is None else str(row[0])


class Listener:
    """Notices of other connections' commits, on a connection of its own.

    psycopg #340: a connection waiting on `notifies()` blocks other statements on it,
    so the store's own connection never listens. `changes()` never waits.
    """

    def __init__(self, url: str, own_pid: int) -> None:
        self._url = url
        self._raw = pg.raw_connection(url)
        self._raw.execute(f"LISTEN {pg.CHANNEL}")
        self._own = str(own_pid)
        self.count = 0
        """Notices from other connections seen so far."""

    def changes(self) -> int:
        """The count of other connections' commits seen so far (drains what arrived).

        A broken listening connection is replaced; what it missed meanwhile is unknown,
        so that counts as a change (the queue reloads once).
        """
        import psycopg

        try:
            pgconn = self._raw.pgconn
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                if notice.extra.decode() != self._own:
                    self.count += 1
        except psycopg.OperationalError:
            try:
                fresh = pg.raw_connection(self._url)
                fresh.execute(f"LISTEN {pg.CHANNEL}")
            except (StoreError, psycopg.Error):
                return self.count  # still away: try again on the next poll
            self._raw.close()
            self._raw, self.count = fresh, self.count + 1
        return self.count

    def close(self) -> None:
        """Stop listening."""
        self._raw.close()
