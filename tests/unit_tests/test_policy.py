"""The justification policy's rules, one by one."""

from __future__ import annotations

import pytest

from store.policy import JustificationPolicy, Recent, evaluate, meaningful_chars, normalise

POLICY = JustificationPolicy()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty"),
        ("\u200b\u200b", "empty"),
        ("LGTM", "boilerplate"),
        ("Looks good to me!", "boilerplate"),
        ("approved, agree, fine, +1", "boilerplate"),
        ("ok ok ok ok ok ok ok ok ok ok ok", "boilerplate"),
        ("It all looks fine to me", "boilerplate"),
        ("refund is right", "too_short"),
        ("Verified\u200bthe\u200brefund\u200bamount\u200bagainst\u200bCRM", "too_few_words"),
        ("Checked invoice", "too_short"),
        ("Crosschecked invoicesandrefundsthoroughly", "too_few_words"),
    ],
)
def test_refusals(text: str, rule: str) -> None:
    verdict = evaluate(POLICY, text)
    assert (verdict.ok, verdict.rule) == (False, rule)
    assert verdict.message


def test_substantive_text_passes_even_with_stock_words() -> None:
    verdict = evaluate(POLICY, "Approved: refund matches the order total in billing")
    assert verdict.ok, verdict.message


def test_feedback_counts_only_letters_and_digits() -> None:
    verdict = evaluate(POLICY, "a\u200b b\u00ad c!!! 12")
    assert verdict.meaningful_chars == 5
    assert verdict.rule == "too_short"
    assert "15 more letters or digits" in verdict.message


def test_non_latin_scripts_count() -> None:
    assert meaningful_chars("返金額は請求書と一致しています") == 15
    assert evaluate(POLICY, "Сумма возврата совпадает со счётом клиента").ok


def test_normalise_drops_case_punctuation_and_invisibles() -> None:
    assert normalise("  Looks\u200b GOOD — to ME!! ") == "looks good to me"
    assert normalise("N/A") == "n a"


def test_copy_of_the_draft_in_either_direction() -> None:
    draft = "Your refund of $240 was issued today and will arrive in 5 to 10 days."
    assert evaluate(POLICY, "refund of $240 was issued today", draft=draft).rule == "copies_draft"
    assert evaluate(POLICY, f"ok {draft}", draft=draft).rule == "copies_draft"
    quoted = f"{draft} -- but I confirmed the amount against the billing ledger"
    assert evaluate(POLICY, quoted, draft=draft).ok


def test_repeats_only_within_the_window() -> None:
    text = "Refund amount matches the billing record exactly"
    recent = [Recent(f"Other reason number {n} for this item", f"T-{n}") for n in range(5)]
    old = [*recent, Recent(text, "T-99")]
    assert evaluate(POLICY, text, recent=old).ok  # sixth back: outside the window of 5
    verdict = evaluate(POLICY, text.upper() + "!!", recent=[Recent(text, "T-1039")])
    assert verdict.rule == "repeats"
    assert "T-1039" in verdict.message


def test_thresholds_are_configurable_with_a_floor() -> None:
    strict = JustificationPolicy(min_chars=40, min_words=6)
    assert evaluate(strict, "Refund amount matches the billing record").rule == "too_short"
    with pytest.raises(ValueError, match="at least 10"):
        JustificationPolicy(min_chars=5)


def test_the_ascii_fast_path_matches_the_general_one() -> None:
    import random
    import string

    from store.policy import normalise_any

    rng = random.Random(3)
    samples = [string.printable, "  Looks GOOD -- to me!! ", "N/A", "a_b-c.d", "\t\x00x\x7f", ""]
    samples += ["".join(rng.choices(string.printable + "\x00\x1f\x7f", k=rng.randint(0, 30)))
                for _ in range(20_000)]  # fmt: skip
    for text in samples:
        assert normalise(text) == normalise_any(text), repr(text)


def test_batch_keys_are_equal_exactly_when_normalised_texts_are() -> None:
    """The statistics' repeat count keys a batch at once; it must agree with `normalise`."""
    import random
    import string

    from store.policy import normalised_keys

    rng = random.Random(5)
    words = ["ok", "Checked", "refund", "ﬁne", "fine", "Café", "CAFÉ", "\u200bok", "42"]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 3))) + rng.choice(["", "!", " .", "\t"])
             for _ in range(3_000)]  # fmt: skip
    texts += ["".join(rng.choices(string.printable, k=rng.randint(0, 12))) for _ in range(3_000)]
    for batch in (texts[:256], [t for t in texts if t.isascii()][:256], ["a\x00b", "a b", "ab"],
                  texts):  # fmt: skip
        keys = normalised_keys(batch)
        assert len(keys) == len(batch)
        by_key = {key: normalise(text) for key, text in zip(keys, batch, strict=True)}
        for key, text in zip(keys, batch, strict=True):
            assert by_key[key] == normalise(text), repr(text)
        assert len(set(keys)) == len({normalise(text) for text in batch})
    # An ASCII batch and a mixed one key the same text alike ("ﬁne" is "fine" normalised).
    assert normalised_keys(["Fine!"]) == normalised_keys(["ﬁne", "x"])[:1]


def _boilerplate_by_regex_per_phrase(norm: str, phrases: frozenset[str]) -> bool:
    """The check as first written (a regex built per phrase per call): the oracle."""
    import re

    from store.policy import _FILLER

    if norm in phrases:
        return True
    rest = f" {norm} "
    for phrase in sorted(phrases, key=len, reverse=True):
        rest = re.sub(rf"(?<= ){re.escape(phrase)}(?= )", " ", rest)
    return all(word in _FILLER for word in rest.split())


def test_the_boilerplate_check_agrees_with_a_regex_per_phrase_on_random_texts() -> None:
    import random

    from store.policy import _FILLER, DEFAULT_BOILERPLATE, _is_boilerplate

    rng = random.Random(5)
    words = sorted({w for p in DEFAULT_BOILERPLATE for w in p.split()} | set(_FILLER))
    words += ["refund", "invoice", "crm", "matches", "wrong"]
    phrases = sorted(DEFAULT_BOILERPLATE)
    found = 0
    for _ in range(3000):
        parts = [rng.choice(phrases) if rng.random() < 0.5 else rng.choice(words)
                 for _ in range(rng.randint(1, 8))]  # fmt: skip
        norm = normalise(" ".join(parts))
        expected = _boilerplate_by_regex_per_phrase(norm, DEFAULT_BOILERPLATE)
        assert _is_boilerplate(norm, DEFAULT_BOILERPLATE) == expected, norm
        found += expected
    assert 300 < found < 2700  # both answers are well represented
