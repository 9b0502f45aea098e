"""What every `signoff` command shares: consoles, options, settings, reviewer, store."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console

from store import Store, StoreError
from store.queue import check_reviewer
from tui.config import Settings, load_settings
from tui.paths import config_file, data_dir, resolve_db
from tui.safe import safe_text

if TYPE_CHECKING:
    from store import Planting

# markup=False: no string printed here is ever read as Rich markup (a message like
# "add a [providers.NAME] table" lost its brackets; a draft could style the terminal).
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

EXIT_CRASH = 70
"""Exit status after an unexpected error (BSD's EX_SOFTWARE): not the user's mistake."""


class UsageError(Exception):
    """A mistake in how signoff was called: exit status 2."""


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line (made safe) and exit."""
    err.print(safe_text(f"signoff: {message}"), style="red")
    sys.exit(code)


def check_output(path: Path, *, force: bool) -> None:
    """Refuse, in one line, a file signoff cannot or should not write.

    Raises:
        UsageError: `path` is a folder, its folder does not exist, or it exists and
            `force` is not given.
    """
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        what = "is not a folder" if path.parent.exists() else "does not exist"
        raise UsageError(f"{path}: {path.parent} {what}")
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to replace it")


def cannot_write(path: Path, error: OSError) -> NoReturn:
    """One line for a write the operating system refused."""
    fail(f"{path}: cannot write ({error.strerror or error})")


def settings_for(config: Path | None) -> Settings:
    """Load the config file named by `--config`, else the default one if present."""
    return load_settings(config, default=config_file())


def reviewer_for(option: str | None, settings: Settings) -> str:
    """`--reviewer`, else `$SIGNOFF_REVIEWER`, else the config's, else the OS login name.

    For a SQLite queue only: in team mode the reviewer is the database login
    (`identity_for`).
    """
    name = option or os.environ.get("SIGNOFF_REVIEWER") or settings.reviewer
    if not name:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):
            raise UsageError(
                "cannot tell who you are: pass --reviewer NAME or set SIGNOFF_REVIEWER"
            ) from None
    try:
        return check_reviewer(name)
    except StoreError as error:
        raise UsageError(str(error)) from None


def identity_for(store: Store, option: str | None, settings: Settings) -> str:
    """Who is reviewing: the database login in team mode, else `reviewer_for`.

    Raises:
        UsageError: `--reviewer` was given in team mode (anyone could name anyone).
    """
    login = store.identity()
    if login is None:
        return reviewer_for(option, settings)
    if option is not None and option != login:
        raise UsageError(
            f"--reviewer does not apply to a team database: you are its login {login!r}; "
            "to review as someone else, connect as their login"
        )
    try:
        return check_reviewer(login)
    except StoreError as error:
        raise UsageError(f"your database login cannot be a reviewer name: {error}") from None


def mix_in_catch_trials(store: Store, settings: Settings, planting: Planting | None = None) -> None:
    """Top the queue up to the configured share of planted drafts, and say so.

    `planting`: what an import planted with its batches (`Store.planting`), counted in.
    """
    import random

    rate = settings.oversight.catch_rate
    rng = planting.rng if planting is not None else random.Random()
    count = len(store.plant(rate, rng)) + (len(planting.made) if planting is not None else 0)
    if count:
        out.print(
            f"{count:,} catch-trial draft{'s' if count != 1 else ''} mixed in "
            f"(about {rate:.0%} of the queue is planted; `signoff stats` shows catch rates)"
        )


def open_store(db: Path | str | None, settings: Settings, *, create: bool = False) -> Store:
    """Open (and migrate) the database with the configured policy and lease.

    A database that does not exist yet is made only by commands that add drafts
    (`create`) or in signoff's own data folder: `signoff status --db queue.bd` must not
    answer "the queue is empty" about a file it just made.

    Sources whose provider has a webhook (`deliver_url`) get their final decisions
    queued in the outbox, in the same transaction as the ledger event.

    Args:
        db: `--db` as given (None: `$SIGNOFF_DB`, the config's `db`, the default file),
            or a file chosen by the command itself (the demo's).
        settings: The loaded config.
        create: Whether a missing SQLite file may be made.
    """
    if not isinstance(db, Path):
        db = resolve_db(db, settings.db)
    if isinstance(db, str):
        return _configured(_opened(db, settings), settings)
    if not create and db.parent != data_dir() and not db.exists():
        raise UsageError(f"{db}: no such database (check the path; `signoff import` creates one)")
    if db.parent == data_dir():
        # Only signoff's own folder is made on demand; any other missing folder is
        # refused by the store (a typo must not look like an empty queue).
        db.parent.mkdir(parents=True, exist_ok=True)
    return _configured(_opened(db, settings), settings)


def _still_extends(store: Store) -> None:
    """Refuse, loudly, a ledger that no longer holds a checkpoint this machine verified.

    immudb's rule: a client remembers the last state it verified. A rebuilt or truncated
    ledger passes its own chain check; it cannot pass this one.
    """
    from tui.state import remembered_checkpoints

    kept = remembered_checkpoints()
    if not kept:
        return  # no checkpoint verified here: nothing to compare (and no query)
    known = kept.get(store.checkpoint().origin)
    if known is None:
        return
    problem = store.extends(known)
    if problem is not None:
        store.close()
        raise StoreError(
            f"{store.where} does not extend the checkpoint verified on this machine "
            f"({known.size:,} events, head {known.head[:12]}): {problem}"
        )


def _opened(db: Path | str, settings: Settings) -> Store:
    return Store(
        db,
        policy=settings.policy,
        lease=settings.lease,
        oversight=settings.oversight,
        upgrading=_upgrading,
    )


def _upgrading(path: Path) -> None:
    """Say why the first start of a new version waits (a large queue's index is rebuilt)."""
    err.print(safe_text(f"signoff: bringing {path} up to date for this version (once)…"))


def _configured(store: Store, settings: Settings) -> Store:
    from store.cards import card_hash

    _still_extends(store)
    store.leads = settings.leads
    store.use_cards = {source: card_hash(card) for source, card in settings.use_cards.items()}
    store.delivers_for = frozenset(
        str(table.get("source") or name)
        for name, table in settings.providers.items()
        if table.get("deliver_url")
    )
    return store


def signoff_version() -> str:
    """This installation's version (in manifests and reports), or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("signoff")
    except PackageNotFoundError:
        return "unknown"
