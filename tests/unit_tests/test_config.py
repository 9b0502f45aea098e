"""Config errors name the file, the table and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, default=tmp_path / "absent.toml")
    assert settings.policy.min_chars == 20
    assert settings.path is None


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", default=tmp_path / "x.toml")


def test_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'reviewer = "dana"\nlease_minutes = 5\n[policy]\nmin_chars = 30\n'
        'extra_boilerplate = ["Per SOP"]\n',
    )
    settings = load_settings(path, default=path)
    assert settings.reviewer == "dana"
    assert settings.lease.total_seconds() == 300
    assert settings.policy.min_chars == 30
    assert "per sop" in settings.policy.boilerplate


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[policy]\nmin_char = 30\n",
            r"\[policy\]: unknown key 'min_char' \(did you mean 'min_chars'",
        ),
        ("reveiwer = 'x'\n", "did you mean 'reviewer'"),
        ("[policy]\nmin_chars = 3\n", "must be at least 10"),
        ("[policy]\nmin_words = 'three'\n", "whole number"),
        ("lease_minutes = 0\n", "between 1 and 1440"),
        ("policy = 3\n", "must be a table"),
        ("this is not toml\n", "not valid TOML"),
        ("[oversight]\ncatch_rate = 0.9\n", r"\[oversight\] catch_rate: must be between 0 and 0.5"),
        ("[oversight]\ncatch_rates = 0.1\n", "did you mean 'catch_rate'"),
        ("[oversight.friction]\nstreak = 1\n", r"friction\] streak: must be between 2 and 1000"),
        ("[oversight.friction]\nstreak = 2.5\n", r"friction\] streak: must be a whole number"),
        ("lease_minutes = '5'\n", "lease_minutes: must be a number"),  # no "5" for 5
        ("reason_codes = ['Factual Error']\n", "short tag"),
        ("[[oversight.rules]]\nstakes = 'hgih'\n", r"#1 stakes: 'hgih'.*did you mean 'high'"),
        ("[[oversight.rules]]\nstakes = ['hgih']\n", r"rules\]\] #1 stakes: 'hgih'.*'high'"),
        ("[[oversight.rules]]\nconfidence = 'high'\nmin_chars = 5\n", "at least 10"),
        ("[[oversight.rules]]\nsecond_reviewer = 'yes'\n", "true or false"),
    ],
)
def test_errors_point_at_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as error:
        load_settings(path, default=path)
    assert str(path) in str(error.value)


def test_the_oversight_table_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[oversight]\ncatch_rate = 0.1\ncommit_first_sources = ['risk']\n"
        "[oversight.friction]\nitems = 3\n"
        "[[oversight.rules]]\nstakes = ['high']\nconfidence = ['low', 'unknown']\n"
        "second_reviewer = true\nmin_chars = 50\n",
    )
    oversight = load_settings(path, default=path).oversight
    assert oversight.catch_rate == 0.1
    assert oversight.commit_first_sources == {"risk"}
    assert oversight.friction.items == 3
    (rule,) = oversight.rules
    assert rule.stakes == {"high"}
    assert rule.bands == {"low", "unknown"}
    assert rule.min_chars == 50
    assert rule.second_reviewer
    assert not rule.commit_first


def test_oversight_is_on_by_default(tmp_path: Path) -> None:
    oversight = load_settings(None, default=tmp_path / "absent.toml").oversight
    assert oversight.catch_rate == 0.05
    assert oversight.friction.enabled
    assert any(rule.commit_first for rule in oversight.rules)
