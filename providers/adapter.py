"""The adapter interface every provider implements, built-in or third-party.

A provider turns *jobs* into `Draft`s. Generative providers make one job per input
record and ask a model; pull-only providers would make jobs from a remote listing.
Everything network-related goes through `providers.http.Http`.
"""

from __future__ import annotations

import datetime as dt
import typing
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo

from providers.base import DataLimit, Draft
from providers.secret import Secret
from providers.typed import Strict, first_problem

if TYPE_CHECKING:
    from providers.http import Http


class OptionsError(ValueError):
    """A provider's config table is wrong; the message names the table and the key."""


class Options(Strict):
    """Base class for a provider's typed options (a pydantic model per provider).

    `parse` refuses unknown keys (with a "did you mean"), values of the wrong type, and
    values outside a field's `Literal` set or bounds, so a typo in the config never
    silently falls back to a default. The models are also the config's JSON Schema.
    """

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, *, base_dir: Path) -> Self:
        """Build options from a config table; relative paths are taken from `base_dir`."""
        values = {key: value for key, value in table.items() if key != "type"}
        try:
            return cls.model_validate(values, context={"base_dir": base_dir})
        except ValidationError as error:

            def place(path: list[str | int], table: bool) -> str:
                keys = [str(p) for p in path if isinstance(p, str)]
                return where if table or not keys else f"{where}: {keys[-1]}"

            raise OptionsError(first_problem(error, place, cls)) from None


def _resolve(value: object, info: ValidationInfo) -> Path:
    if not isinstance(value, str):
        raise ValueError("must be a path (a string)")
    path = Path(value).expanduser()
    base = (info.context or {}).get("base_dir", Path.cwd())
    return path if path.is_absolute() else base / path


ConfigPath = Annotated[Path, BeforeValidator(_resolve)]
"""A path from the config; a relative one is taken from the config file's folder."""
Count = Annotated[int, Field(ge=0)]
"""A whole number that cannot be negative."""
Amount = Annotated[float, Field(ge=0)]
"""A number that cannot be negative."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do; the CLI and the app read these, never the class name."""

    generative: bool = False
    """Sends input records to a model and queues its answers."""
    logprobs: bool = False
    """Can report token log-probabilities (confidence basis `logprobs`)."""
    delivers: bool = False
    """Receives final decisions back (webhook-style)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work: usually one input record."""

    external_id: str
    """Becomes the item's external id; `(source, external_id)` is unique in the queue."""
    origin: str
    """Where it came from, for messages: `tickets.jsonl:12`."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The record's fields (template values, data limits, stakes, …)."""
    limits: tuple[DataLimit, ...] = ()
    """Limits known before the call (stale record, missing template fields, …)."""
    created_at: dt.datetime | None = None


class Provider(ABC):
    """An adapter: turns jobs into drafts.

    Subclasses set `type_name`, `Options` and `capabilities` and implement `jobs` and
    `fetch`.

    Args:
        name: The config table's name (`[providers.support]` → `support`).
        options: Parsed options.
        http: The HTTP seam to use (its transport is injectable in tests).
        secrets: Resolved secrets, e.g. `{"api_key": "…"}`; never stored anywhere.
        now: The clock.
    """

    type_name: ClassVar[str]
    """The `type = "…"` value that selects this provider in the config."""
    Options: ClassVar[type[Options]]
    capabilities: ClassVar[Capabilities]

    def __init__(
        self,
        name: str,
        options: Any,
        *,
        http: Http,
        secrets: Mapping[str, str],
        now: typing.Callable[[], dt.datetime],
    ) -> None:
        self.name = name
        self.options = options
        self.http = http
        self.secrets = {name: Secret(value) for name, value in secrets.items()}
        """Secrets by name, masked in any repr; `.reveal()` only where they are sent."""
        self.now = now

    @classmethod
    def secret_names(cls, options: Any) -> dict[str, str]:
        """Secret name → environment variable to read it from (none by default)."""
        del options
        return {}

    @property
    def source(self) -> str:
        """The queue's source for this provider's drafts (defaults to its name)."""
        return str(getattr(self.options, "source", "") or self.name)

    @abstractmethod
    def describe(self) -> str:
        """One line for `signoff providers`: where it reads from."""

    async def deliver(self, payload: dict[str, Any], idempotency_key: str) -> None:
        """Send one final decision back (providers with `capabilities.delivers`).

        Raises:
            providers.http.ProviderError: The receiver did not accept it (retried later).
        """
        del payload, idempotency_key
        raise NotImplementedError(f"{self.type_name} does not receive decisions")


class JobProvider(Provider):
    """A provider that does one job per input record (the generative family)."""

    @abstractmethod
    def jobs(self) -> Iterable[Job | str]:
        """The work a pull would do; a `str` is a record that cannot become a job (why)."""

    @abstractmethod
    async def fetch(self, job: Job) -> Draft:
        """Do one job and return its draft.

        Raises:
            providers.http.ProviderError: With the provider's name and what was wrong.
        """


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing: its drafts, records it could not read, and where to go next."""

    drafts: list[Draft]
    rejected: list[str]
    cursor: str | None
    """Where the next pull should start once this page is committed."""
    more: bool
    """False on the last page."""


class ListingProvider(Provider):
    """A provider that reads drafts made elsewhere, page by page (the pull-only family)."""

    @abstractmethod
    def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Pages from `cursor` (None: the start) to the end of the listing."""
