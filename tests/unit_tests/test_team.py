"""Team mode as a team meets it: logins are reviewers, privacy held by the database.

A real PostgreSQL server (tests/pg.py); the test cluster trusts local logins, so a URL
with a user name is that user's session, as a password or certificate would make it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from store import OversightPolicy, Store, StoreError
from store.oversight import Rule
from store.pg import PgConnection
from store.pg_schema import SCHEMA_VERSION
from store.pg_team import add, init
from tests.conftest import FakeClock, make_draft
from tests.pg import RoundTrips
from tests.unit_tests.test_cli import run
from tests.unit_tests.test_cli_mistakes import one_line_error

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
GOOD = "Checked the refund amount against the order history"


def as_user(url: str, user: str) -> str:
    """The same database, signed in as `user` (the fixture's URL names its superuser)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}@{rest.split('@', 1)[1]}"


@pytest.fixture
def team(pg_url: str) -> str:
    """A team database: schema, roles, a lead (dana) and two reviewers (alice, bob)."""
    with Store(pg_url) as owner:
        init(owner.team_connection())
        for name in ("alice", "bob"):
            add(owner.team_connection(), name, lead=False, password=None)
        add(owner.team_connection(), "dana", lead=True, password=None)
        owner.ingest([make_draft(f"T-{n}") for n in range(20)])
        owner.plant(0.1, random.Random(3))
    return pg_url


def test_the_url_names_the_login(team: str) -> None:
    assert as_user(team, "alice").startswith("postgresql://alice@127.0.0.1:")
    with Store(as_user(team, "alice")) as alice:
        assert alice.identity() == "alice"


def test_a_reviewer_records_only_as_themselves(team: str) -> None:
    with Store(as_user(team, "alice")) as alice:
        with pytest.raises(StoreError, match='row-level security policy for table "claims"'):
            alice.claim_next("bob")
        claim = alice.claim_next("alice")
        assert claim is not None
        event = alice.decide(claim, "escalate", GOOD)
        assert event.reviewer == "alice"


def test_reviewers_cannot_rewrite_or_delete_the_ledger_even_with_psql(team: str) -> None:
    with Store(as_user(team, "alice")) as alice:
        claim = alice.claim_next("alice")
        assert claim is not None
        alice.decide(claim, "escalate", GOOD)
        for statement in ("UPDATE ledger SET justification = 'rewritten by alice later'",
                          "DELETE FROM ledger", "TRUNCATE ledger CASCADE",
                          "ALTER TABLE ledger DISABLE TRIGGER ledger_append_only",
                          "UPDATE chain_head SET hash = 'x'"):  # fmt: skip
            with pytest.raises(StoreError, match=r"must be owner|permission denied"):
                alice.conn.execute(statement)


def test_only_leads_read_which_drafts_are_catch_trials(team: str) -> None:
    with Store(as_user(team, "alice")) as alice:
        with pytest.raises(StoreError, match="permission denied for table plants"):
            alice.conn.execute("SELECT item_id FROM plants")
        # Nor through the function, for items she has not claimed or decided.
        assert alice.conn.execute("SELECT count(*) FROM items AS i, signoff_plant(i.id)"
                                  ).fetchone()[0] == 0  # fmt: skip
    with Store(as_user(team, "dana")) as dana:
        assert dana.conn.execute("SELECT count(*) FROM plants").fetchone()[0] == 2


def test_a_reviewers_claim_is_one_round_trip_and_a_decision_two(
    team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each round trip waits on the team's network (at a VPN's 20 ms, 0.1 s for five).

    A claim: the begin, the claim statement (which also says whether a lease ran out,
    and claims nothing if one did), for the app what it shows of the claimed item
    (`claim_and_open`, naming the claim by `JUST_CLAIMED`), the notice and the commit,
    all in one. It was four, then two. A decision: the begin and the lock with one read
    of the claim, its item (held until the commit), plant, second review and judgement,
    one of the reviewer's past decisions and words, and the chain head; then the settle
    and the event with the notice and the commit. It was eleven, then seven, then four,
    then three. The plant is read through the function that answers only the claim's
    holder, and still recorded.
    """
    with Store(as_user(team, "dana")) as dana:
        (planted,) = dana.conn.execute("SELECT min(item_id) FROM plants").fetchone()
    with Store(as_user(team, "alice")) as alice:
        assert isinstance(alice.conn, PgConnection)
        counted = RoundTrips(alice.conn._raw)
        monkeypatch.setattr(alice.conn, "_raw", counted)
        claim = alice.claim_next("alice")
        assert claim is not None
        assert counted.trips == 1, counted.sent
        alice.release(claim)
        # What the item screen reads of the claim goes with it: still one.
        counted.trips, counted.sent = 0, []
        found = alice.claim_and_open("alice")
        assert counted.trips == 1, "\n".join(counted.sent)
        assert found is not None
        assert found[1] == alice.opened(found[0])
        alice.release(found[0])
        claim = alice.claim_item(planted, "alice")
        counted.trips, counted.sent = 0, []
        event = alice.decide(claim, "reject", GOOD, reason_code="factual-error")
        assert counted.trips == 2, "\n".join(counted.sent)
    assert event.oversight is not None
    assert event.oversight["planted"]["caught"] is True


def test_planting_on_a_team_database_takes_few_round_trips_a_plant(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lead importing over a VPN waits for each round trip of each catch trial.

    Each plant read its base, its neighbour, a free id and its time, and wrote the item
    and its mark: ten round trips with the transaction's, ~100 ms a plant at 10 ms
    away. The writes now go with the next read, and bases, neighbours and times are
    read for sixteen plants at a time (`plants._GROUP`): what is left is about one
    trip a plant for its id.
    """
    with Store(pg_url) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(400)])
        assert isinstance(store.conn, PgConnection)
        counted = RoundTrips(store.conn._raw)
        monkeypatch.setattr(store.conn, "_raw", counted)
        planted = store.plant(0.05, random.Random(3))
        assert len(planted) == 21
        assert counted.trips <= TRIPS_A_PLANT * len(planted), "\n".join(counted.sent)
        marked = store.conn.execute("SELECT item_id FROM plants ORDER BY item_id").fetchall()
        assert [row[0] for row in marked] == sorted(p.item_id for p in planted)


TRIPS_A_PLANT = 2


def test_a_second_reviewer_cannot_read_the_first_justification_before_deciding(
    pg_url: str,
) -> None:
    policy = OversightPolicy(rules=(Rule(stakes=frozenset({"high"}), second_reviewer=True),),
                             catch_rate=0.0)  # fmt: skip
    with Store(pg_url) as owner:
        init(owner.team_connection())
        for name in ("alice", "bob"):
            add(owner.team_connection(), name, lead=False, password=None)
        owner.ingest([make_draft("T-1", stakes="high")])
    secret = "Alice checked the invoice: the refund total is right"
    with Store(as_user(pg_url, "alice"), oversight=policy) as alice:
        first = alice.claim_next("alice")
        assert first is not None
        alice.decide(first, "approve", secret)
    with Store(as_user(pg_url, "bob"), oversight=policy) as bob:
        seen = bob.conn.execute("SELECT justification FROM ledger").fetchall()
        assert seen == []  # pending its second review: alice's event is hidden from bob
        assert bob.head() != "0" * 64  # the chain head itself is open to everyone
        with pytest.raises(StoreError, match="read 0 of the ledger's 1 events; verify with a"):
            bob.verify_chain()  # a partial view is not the chain: a lead verifies
        second = bob.claim_next("bob")
        assert second is not None
        event = bob.decide(second, "approve", "Bob compared the refund with the order lines")
        assert event.oversight is not None
        assert event.oversight["two_person"]["agreed"] is True  # the store could compare
        final = [row[0] for row in bob.conn.execute("SELECT justification FROM ledger")]
        assert secret in final  # the item is final: both decisions are open to the team


def test_leads_verify_the_chain(team: str) -> None:
    with Store(as_user(team, "alice")) as alice:
        claim = alice.claim_next("alice")
        assert claim is not None
        alice.decide(claim, "approve", GOOD)
    with Store(as_user(team, "dana")) as dana:
        assert dana.verify_chain().ok


def test_reviewers_cannot_import_leads_can(team: str) -> None:
    with Store(as_user(team, "alice")) as alice, pytest.raises(StoreError, match="permission"):
        alice.ingest([make_draft("X-1")])
    with Store(as_user(team, "dana")) as dana:
        assert dana.ingest([make_draft("X-1")]).added == 1


def test_the_cli_sets_up_a_team_and_knows_who_is_reviewing(pg_url: str) -> None:
    ready = run("team", "init", pg_url)
    assert ready.returncode == 0, ready.stderr
    assert "team database ready" in ready.stdout
    # Roles belong to the whole server, which the tests share: names of this test's own.
    assert run("team", "add", "cli_alice", "--db", pg_url).returncode == 0
    added = run("team", "add", "cli_dana", "--lead", "--password", "--db", pg_url,
                stdin="correct horse battery staple\n")  # fmt: skip
    assert added.stdout.strip() == "added cli_dana as a lead", added.stderr
    listed = run("team", "list", "--db", pg_url).stdout.split("\n")
    assert "cli_alice" in listed
    assert "cli_dana  (lead)" in listed
    shown = run("status", "--db", as_user(pg_url, "cli_alice"))
    assert "reviewer  cli_alice (database login)" in shown.stdout, shown.stderr
    one_line_error(run("status", "--db", as_user(pg_url, "cli_alice"), "--reviewer", "bob"), 2,
                   contains="--reviewer does not apply to a team database")  # fmt: skip
    one_line_error(run("team", "add", "Robert'); DROP", "--db", pg_url), 1,
                   contains="cannot be a reviewer login")  # fmt: skip


def test_migrate_moves_a_queue_with_its_ledger_and_the_head_stays(
    db_path: Path, pg_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    with Store(db_path, now=clock) as lite:
        lite.delivers_for = frozenset({"support"})
        lite.ingest([make_draft(f"T-{n}") for n in range(40)])
        lite.plant(0.1, random.Random(5))
        decided = []
        for n in range(6):
            claim = lite.claim_next("alice")
            assert claim is not None
            clock.advance(seconds=40)
            lite.decide(claim, "escalate", f"{GOOD}, ticket {n} needs a lead")
            decided.append(claim.item_id)
        held = lite.claim_next("bob")  # an open claim moves too
        assert held is not None
        lite.save_cursor("support", "page-7")
        lite.report_incident("carol", "Ticket 2 was escalated for no reason", [2])
        head, counts, register = lite.head(), lite.counts(), lite.register_head()
        # Plants sit among the real items (where, the seed decides), and a plant's
        # decision never enters the outbox: the real items decided are what moves.
        planted = {row[0] for row in lite.conn.execute("SELECT item_id FROM plants")}
        outbox = len(set(decided) - planted)
        assert lite.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == outbox
        assert outbox > 0
    moved = run("migrate", str(db_path), pg_url)
    assert moved.returncode == 0, moved.stderr
    assert f"head {head[:16]}" in moved.stdout
    for target in (db_path, pg_url):
        verified = run("verify", "--db", str(target))
        assert f"head {head}" in verified.stdout, verified.stderr
    with Store(pg_url, now=clock) as shared:
        assert shared.counts() == counts
        assert shared.cursor("support") == "page-7"
        assert shared.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == outbox
        assert shared.conn.execute("SELECT count(*) FROM plants").fetchone()[0] == 4
        assert shared.register_head() == register
        assert shared.verify_register().ok
        linked = shared.conn.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledger_link'"
        ).fetchone()
        assert linked == ("O",)  # the link trigger is on again after the copy
        nxt = shared.claim_next("carol")  # ids continue after the copied ones
        assert nxt is not None
        assert shared.decide(nxt, "escalate", GOOD).seq == 7
    again = run("migrate", str(db_path), pg_url)
    one_line_error(again, 1, contains="already holds a queue")
    for fmt in ("jsonl", "csv", "md"):  # exports from the team database verify too
        out = tmp_path / f"log.{fmt}"
        assert run("export", "--db", pg_url, "-f", fmt, "-o", str(out)).returncode == 0
        checked = run("verify", "--db", pg_url, "--manifest", f"{out}.manifest.json")
        # Seven events, less the plants' (an export leaves catch trials out).
        real = 7 - len(decided) + outbox
        assert checked.stdout.startswith(f"ok: log.{fmt} holds the {real} events"), checked.stderr


def test_on_a_team_database_only_a_lead_login_resolves_escalations(team: str) -> None:
    with Store(as_user(team, "alice")) as alice:
        claim = alice.claim_next("alice")
        assert claim is not None
        alice.decide(claim, "escalate", "Alice wants a lead to check this refund")
        alice.leads = frozenset({"alice"})  # a config cannot make her a lead here
        with pytest.raises(StoreError, match="a lead resolves it"):
            alice.claim_item(claim.item_id, "alice")
    with Store(as_user(team, "dana")) as dana:
        assert [e.event.reviewer for e in dana.escalations()] == ["alice"]
        resolution = dana.claim_item(claim.item_id, "dana")
        event = dana.decide(resolution, "approve", "Dana checked the refund and approves it")
        assert event.oversight == {"resolves": 1}


def test_verify_reports_guards_switched_off_on_a_team_database(team: str) -> None:
    with Store(team) as owner:
        assert owner.integrity() == []
        owner.team_connection().raw.execute(
            "ALTER TABLE ledger DISABLE TRIGGER ledger_append_only; "
            "GRANT UPDATE ON ledger TO signoff_reviewer; "
            "DROP POLICY ledger_read_own_or_final ON ledger"
        )
        problems = owner.integrity()
    assert problems == [
        "the trigger ledger_append_only on ledger is disabled",
        "the row-level policy ledger_read_own_or_final on ledger is missing",
        "reviewers may UPDATE the ledger",
    ]


def test_the_auditor_views_are_for_leads_on_a_team_database(team: str) -> None:
    with Store(as_user(team, "alice")) as alice, pytest.raises(StoreError, match="permission"):
        alice.conn.execute("SELECT count(*) FROM standing_decisions")  # it would skip RLS
    with Store(as_user(team, "dana")) as dana:
        assert dana.conn.execute("SELECT count(*) FROM standing_decisions").fetchone()[0] == 0


WHAT = "Customer 4411 says the refund never arrived"


def test_anyone_reports_an_incident_as_themselves_and_only_a_lead_resolves(team: str) -> None:
    with Store(as_user(team, "alice")) as alice:
        claim = alice.claim_next("alice")
        assert claim is not None
        seq = alice.decide(claim, "escalate", GOOD).seq
        with pytest.raises(StoreError, match='row-level security policy for table "register"'):
            alice.report_incident("bob", WHAT, [seq])
        alice.report_incident("alice", WHAT, [seq], reported_by="customer 4411")
        alice.leads = frozenset({"alice"})  # a config cannot make her a lead here
        with pytest.raises(StoreError, match="alice is not a lead"):
            alice.resolve_incident(1, "alice", "confirmed", "Alice decides her own report")
        for statement in ("UPDATE register SET text = 'nothing happened at all'",
                          "DELETE FROM register", "TRUNCATE register"):  # fmt: skip
            with pytest.raises(StoreError, match=r"must be owner|permission denied"):
                alice.conn.execute(statement)
    with Store(as_user(team, "dana")) as dana:
        dana.resolve_incident(1, "dana", "confirmed", "The payment log shows no refund at all")
        assert dana.contradicted() == {seq}
        assert dana.verify_register().ok


def test_an_older_team_database_is_brought_up_to_date_by_its_owner(
    team: str, pg_server: str
) -> None:
    import psycopg

    from store.pg_schema import SCHEMA

    # The team fixture made the roles (they are the cluster's); a second database holds
    # the first schema signoff ever wrote, with the team's mark and a reviewer's grants.
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute("CREATE DATABASE t_old")
    old = pg_server.rsplit("/", 1)[0] + "/t_old"
    try:
        with psycopg.connect(old, autocommit=True) as raw:
            raw.execute(SCHEMA)
            raw.execute("INSERT INTO signoff_meta VALUES ('team', 'on')")
            raw.execute(
                "GRANT USAGE ON SCHEMA public TO signoff_reviewer; "
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO signoff_reviewer"
            )
        with pytest.raises(StoreError, match="ask a lead to run `signoff team init`"):
            Store(as_user(old, "alice"))
        with Store(old) as owner:  # the owner's login upgrades it, and grants again
            assert owner.conn.execute("SELECT value FROM signoff_meta WHERE key = 'schema'"
                                      ).fetchone()[0] == SCHEMA_VERSION  # fmt: skip
            assert owner.integrity() == []
            owner.ingest([make_draft("T-1")])
        with Store(as_user(old, "alice")) as alice:
            claim = alice.claim_next("alice")
            assert claim is not None
            seq = alice.decide(claim, "escalate", GOOD).seq
            assert alice.report_incident("alice", WHAT, [seq]).number == 1
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS t_old WITH (FORCE)")


def test_only_the_owner_archives_a_team_database(team: str, tmp_path: Path) -> None:
    from store.archive import archive

    with Store(as_user(team, "alice")) as alice:
        for _ in range(3):
            claim = alice.claim_next("alice")
            assert claim is not None
            alice.decide(claim, "escalate", f"{GOOD}, item {claim.item_id}")
    file = tmp_path / "old.jsonl"
    with Store(as_user(team, "dana")) as dana, pytest.raises(StoreError, match="nothing archived"):
        archive(dana, 2, file, "dana", minimum_days=0)
    assert not file.exists()
    with Store(team) as owner:
        assert archive(owner, 2, file, "dana", minimum_days=0).events == 2
        assert owner.verify_chain().ok
    with Store(as_user(team, "dana")) as dana:
        assert dana.verify_chain().ok  # a lead verifies across the cut
