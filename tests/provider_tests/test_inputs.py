"""A model's input records are read by the same reader, under the same rules, as imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from providers.adapter import Job
from providers.inputs import read_jobs

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def test_inputs_follow_the_import_rules(tmp_path: Path) -> None:
    source = tmp_path / "tickets.jsonl"
    source.write_bytes(
        b'{"id": "T-1", "message": "fine", "created_at": 1763974800}\n'  # epoch seconds
        b'{"id": "T-2", "message": "bad \xff byte"}\n'  # replaced before: now refused
        b'{"id": "T-3", "id": "T-4", "message": "twice"}\n'  # duplicate key
        b'{"id": "T-5", "data_limits": [{"detail": "x", "severty": "high"}]}\n'
        b'{"message": "no id"}\n'
    )
    results = list(read_jobs(source, fresh_days=None, now=NOW))
    jobs = [r for r in results if isinstance(r, Job)]
    errors = [r for r in results if isinstance(r, str)]
    assert [j.external_id for j in jobs] == ["T-1"]
    assert jobs[0].created_at == dt.datetime(2025, 11, 24, 9, 0, tzinfo=dt.UTC)
    assert errors == [
        "tickets.jsonl:2: not valid UTF-8 (byte 31 of the line)",
        "tickets.jsonl:3: key 'id' appears twice in one object",
        "tickets.jsonl:4: data_limits[0] has unknown key 'severty' (did you mean 'severity'?)",
        "tickets.jsonl:5: missing id",
    ]


def test_csv_inputs_may_have_any_columns(tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("id,company,notes,data_limits\nL-1,Northwind,visited pricing,"
                      "CRM a day old; no phone\n", encoding="utf-8")  # fmt: skip
    (job,) = list(read_jobs(source, fresh_days=None, now=NOW))
    assert isinstance(job, Job)
    assert (job.external_id, job.fields["company"], job.origin) == ("L-1", "Northwind",
                                                                    "leads.csv:2")  # fmt: skip
    assert [limit.detail for limit in job.limits] == ["CRM a day old", "no phone"]
