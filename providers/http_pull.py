"""`http`: read drafts made elsewhere from a JSON endpoint, and send decisions back.

Paging by cursor (`?cursor=…`, the next one read from the page) or by next-link (the
next page's URL read from the page). Fields are mapped with dotted paths
(`data.items`, `scores.0.value`). Each final decision is POSTed to `deliver_url` with
an `Idempotency-Key` header (the ledger event's hash), so a receiver can drop repeats.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import Field

from providers.adapter import Capabilities, ListingProvider, Options, Page
from providers.base import Draft
from providers.http import HeaderAuth, ProviderError
from providers.records import RecordError, parse_record


class HttpOptions(Options):
    """`[providers.NAME]` keys for `type = "http"`."""

    url: str
    """The listing endpoint."""
    items: str = "items"
    """Dotted path to the list of records in each page."""
    id: str = "id"
    draft: str = "draft"
    title: str = ""
    input: str = ""
    confidence: str = ""
    confidence_basis: str = "provider"
    limits: str = ""
    stakes: str = ""
    kind: str = "draft"
    kind_field: str = ""
    model: str = ""
    created_at: str = ""
    cursor_param: str = "cursor"
    next_cursor: str = ""
    """Dotted path to the next cursor in a page (cursor paging)."""
    next_link: str = ""
    """Dotted path to the next page's URL in a page (next-link paging)."""
    token_env: str | None = None
    """Environment variable with a bearer token for both URLs."""
    deliver_url: str = ""
    """Where final decisions are POSTed (empty: they are not sent back)."""
    source: str = ""
    max_pages: Annotated[int, Field(ge=1)] = 1000
    """Pages one pull reads at most."""
    deadline: Annotated[float, Field(gt=0)] = 30.0
    """Seconds for a whole page, retries and waits included."""


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path (`a.b.0.c`), or None when any step is missing."""
    for step in path.split(".") if path else []:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


class HttpProvider(ListingProvider):
    """Pull-only listing with an optional webhook for decisions."""

    type_name: ClassVar[str] = "http"
    Options: ClassVar[type[Options]] = HttpOptions
    capabilities: ClassVar[Capabilities] = Capabilities(delivers=True)

    @classmethod
    def secret_names(cls, options: Any) -> dict[str, str]:
        """The bearer token, if `token_env` names a variable."""
        return {"token": options.token_env} if options.token_env else {}

    @property
    def delivers(self) -> bool:
        """Only when a webhook is configured."""
        return bool(self.options.deliver_url)

    def describe(self) -> str:
        """The listing URL (and the webhook, if any)."""
        hook = f", decisions to {self.options.deliver_url}" if self.delivers else ""
        return f"{self.options.url}{hook}"

    def _auth(self) -> httpx.Auth | None:
        token = self.secrets.get("token")
        return HeaderAuth("Authorization", token, "Bearer ") if token else None

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Follow the cursor or next-link until the listing ends (or `max_pages`)."""
        options: HttpOptions = self.options
        url, params = options.url, {}
        if cursor and options.next_link:
            url = cursor
        elif cursor:
            params = {options.cursor_param: cursor}
        for number in range(1, options.max_pages + 1):
            data, _ = await self.http.json("GET", url, params=params or None, auth=self._auth())
            records = dig(data, options.items)
            if not isinstance(records, list):
                raise ProviderError(self.name, f"page {number}: no list at {options.items!r}")
            drafts, rejected = self._drafts(records, number)
            if options.next_link:
                following = dig(data, options.next_link)
                more = isinstance(following, str) and bool(following)
                here = url if not params else str(httpx.URL(url, params=params))
                yield Page(drafts, rejected, following if more else here, more)
                if not more:
                    return
                url, params = str(following), {}
            else:
                following = dig(data, options.next_cursor) if options.next_cursor else None
                more = isinstance(following, (str, int)) and str(following) != ""
                yield Page(drafts, rejected, str(following) if more else cursor, more)
                if not more:
                    return
                cursor = str(following)
                params = {options.cursor_param: cursor}

    def _drafts(self, records: list[Any], page: int) -> tuple[list[Draft], list[str]]:
        options: HttpOptions = self.options
        drafts: list[Draft] = []
        rejected: list[str] = []
        for index, record in enumerate(records):
            raw = {
                "id": dig(record, options.id),
                "draft": dig(record, options.draft),
                "title": dig(record, options.title) if options.title else None,
                "input": dig(record, options.input) if options.input else None,
                "confidence": dig(record, options.confidence) if options.confidence else None,
                "data_limits": dig(record, options.limits) if options.limits else None,
                "stakes": dig(record, options.stakes) if options.stakes else None,
                "kind": dig(record, options.kind_field) if options.kind_field else options.kind,
                "model": dig(record, options.model) if options.model else None,
                "created_at": dig(record, options.created_at) if options.created_at else None,
            }
            if raw["confidence"] is not None:
                raw["confidence_basis"] = options.confidence_basis
            try:
                drafts.append(parse_record(
                    {k: v for k, v in raw.items() if v is not None}, default_source=self.source
                ))  # fmt: skip
            except RecordError as error:
                rejected.append(f"{self.name}: page {page}, record {index + 1}: {error}")
        return drafts, rejected

    async def deliver(self, payload: dict[str, Any], idempotency_key: str) -> None:
        """POST the decision to the webhook; any 2xx is a delivery."""
        if not self.delivers:
            raise ProviderError(self.name, "no deliver_url configured")
        await self.http.json(
            "POST", self.options.deliver_url, body=payload, auth=self._auth(),
            headers={"Idempotency-Key": idempotency_key}, parse=False,
        )  # fmt: skip
