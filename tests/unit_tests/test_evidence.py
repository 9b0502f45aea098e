"""The evidence report: figures from the ledger, mapped to requirements, safe to open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store import Store
from store.evidence import CheckpointSeen, gather
from store.evidence_render import html_page, markdown
from tests import evidence_sample
from tests.conftest import T0, FakeClock, make_draft
from tests.unit_tests.test_cli import run
from tests.unit_tests.test_cli_mistakes import one_line_error

WHY = "Checked the refund against the order history"
HOSTILE = "<script>alert(1)</script> [click](http://evil.example) | pipe \u202eevil"


def decided(store: Store, n: int) -> list[int]:
    store.ingest([make_draft(f"T-{i}") for i in range(n)])
    seqs = []
    for i in range(n):
        claim = store.claim_next("alice")
        assert claim is not None
        why = f"{WHY}, ticket {i}"
        if i == 0:
            event = store.decide(claim, "reject", why, reason_code="factual-error")
        else:
            event = store.decide(claim, "approve", why)
        seqs.append(event.seq)
    return seqs


def test_the_sample_in_the_docs_is_what_this_version_prints(tmp_path: Path) -> None:
    text, page = evidence_sample.render(evidence_sample.build(tmp_path / "demo.db"))
    docs = evidence_sample.DOCS
    assert text == (docs / "evidence-sample.md").read_text(encoding="utf-8"), (
        "docs/evidence-sample.md is stale: run `python -m tests.evidence_sample`"
    )
    assert page == (docs / "evidence-sample.html").read_text(encoding="utf-8")


def test_the_figures_come_from_the_ledger(db_target: Path | str, clock: FakeClock) -> None:
    with Store(db_target, now=clock) as store:
        store.leads = frozenset({"dana"})
        seqs = decided(store, 4)
        store.report_incident("bob", "The refund for T-2 went out twice", [seqs[2]],
                              kind="complaint")  # fmt: skip
        store.resolve_incident(1, "dana", "confirmed", "The payments log shows two refunds")
        found = gather(store, now=T0, checkpoint=CheckpointSeen(4, "signed by dana", True))
    assert found.ok
    assert found.decisions == 4
    assert found.stats.overall.contradicted == 1
    assert found.incident_count(kind="complaint", status="confirmed") == 1
    text = markdown(found, version="test")
    assert "changed or refused: 1 of 4 (25%) (edit 0, override 0, reject 1)" in text
    assert "extends a signed checkpoint of 4 events (signed by dana)" in text
    assert "| decisions contradicted by a confirmed incident | 1 |" in text


def test_untrusted_text_cannot_become_markup_in_either_format(sqlite_store: Store) -> None:
    (seq,) = decided(sqlite_store, 1)
    sqlite_store.report_incident("bob", HOSTILE, [seq], reported_by="x](http://evil) <b>")
    found = gather(sqlite_store, now=T0, checkpoint=None)
    text, page = markdown(found, version="t"), html_page(found, version="t")
    assert "<script>" not in text
    assert "\\<script\\>" in text
    assert "\\[click\\](http://evil.example) \\| pipe" in text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page
    for output in (text, page):
        assert "\u202e" not in output  # made visible as a marker, never sent as is


def test_a_broken_chain_makes_the_report_say_so(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        decided(store, 3)
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER ledger_no_update")
    raw.execute("UPDATE ledger SET justification = 'rewritten later by someone' WHERE seq = 2")
    raw.commit()
    raw.close()
    made = run("report", "--evidence", "--db", str(db), "-o", str(tmp_path / "r.html"))
    assert made.returncode == 0, made.stderr
    assert "CHECKS FAILED" in made.stdout
    page = (tmp_path / "r.html").read_text()
    assert "hash chain BROKEN at event 2" in page
    assert "the trigger ledger_no_update is missing" in page


def test_the_cli_writes_markdown_or_html_and_refuses_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        decided(store, 2)
    printed = run("report", "--evidence", "--db", str(db))
    assert printed.stdout.startswith("# signoff evidence report"), printed.stderr
    out = tmp_path / "evidence.html"
    made = run("report", "--evidence", "--db", str(db), "-o", str(out))
    assert made.stdout.strip() == f"evidence report → {out} (all checks passed)"
    assert out.read_text().startswith("<!doctype html>")
    one_line_error(run("report", "--db", str(db)), 2, contains="say which report: --evidence")
    one_line_error(run("report", "--evidence", "-f", "pdf", "--db", str(db)), 2,
                   contains="--format must be md or html")  # fmt: skip
    one_line_error(run("report", "--evidence", "-o", str(out), "--db", str(db)), 2,
                   contains="exists")  # fmt: skip
