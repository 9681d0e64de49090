"""Configuration of the ``rest`` source kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from basin.common.types import Identifier, StrictModel
from basin.sources.tables import CursorEntity


class BearerAuth(StrictModel):
    type: Literal["bearer"]
    """Picks this kind."""
    token: SecretStr
    """Use ``${env:NAME}``."""


class ApiKeyAuth(StrictModel):
    type: Literal["api_key"]
    """Picks this kind."""
    name: str = "X-API-Key"
    """Header or query parameter name."""
    key: SecretStr
    """Use ``${env:NAME}``."""
    location: Literal["header", "query"] = "header"
    """Send the key as a header or as a query parameter."""


class BasicAuth(StrictModel):
    type: Literal["basic"]
    """Picks this kind."""
    username: str
    """User name."""
    password: SecretStr
    """Use ``${env:NAME}``."""


Auth = Annotated[BearerAuth | ApiKeyAuth | BasicAuth, Field(discriminator="type")]


class PageNumberPagination(StrictModel):
    type: Literal["page_number"]
    """Picks this kind."""
    page_param: str = "page"
    """Query parameter that carries the page number."""
    base_page: int = 1
    """Number of the first page (0 or 1)."""
    total_path: str | None = None
    """JSON path to the number of pages; when omitted, stop at the first empty page."""


class OffsetPagination(StrictModel):
    type: Literal["offset"]
    """Picks this kind."""
    limit: int = Field(default=100, ge=1)
    """Records asked for per page."""
    offset_param: str = "offset"
    """Query parameter that carries the offset."""
    limit_param: str = "limit"
    """Query parameter that carries the page size."""
    total_path: str | None = None
    """JSON path to the total number of records; when omitted, stop at an empty page."""


class CursorPagination(StrictModel):
    type: Literal["cursor"]
    """Picks this kind."""
    cursor_path: str = "next_cursor"
    """JSON path to the next page's cursor in the response; pagination ends when it is empty."""
    cursor_param: str = "cursor"
    """Query parameter that carries the cursor."""


class LinkHeaderPagination(StrictModel):
    type: Literal["link_header"]
    """Picks this kind."""
    rel: str = "next"
    """Relation of the next page's link in the ``Link`` header."""


class NoPagination(StrictModel):
    type: Literal["none"]
    """Picks this kind."""


Pagination = Annotated[
    PageNumberPagination
    | OffsetPagination
    | CursorPagination
    | LinkHeaderPagination
    | NoPagination,
    Field(discriminator="type"),
]


class Retries(StrictModel):
    """Retries of 429, 5xx and dropped connections, with exponential backoff."""

    max_attempts: int = Field(default=5, ge=1)
    """Attempts per request in all, the first included."""
    backoff_factor: float = Field(default=1.0, ge=0)
    """Seconds of the first wait; doubles with each attempt. ``Retry-After`` is honoured."""
    max_delay: float = Field(default=60.0, ge=0)
    """Longest single wait, in seconds."""


class Endpoint(CursorEntity):
    """One endpoint of an API: a list of records."""

    path: str
    """Path below the base URL (``/campaigns``)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Fixed query parameters."""
    record_path: str | None = None
    """JSON path to the list of records in each response (``data``); the whole body when omitted."""
    cursor_param: str | None = None
    """Query parameter that receives ``watermark - overlap`` on incremental runs (``updated_since``)."""
    pagination: Pagination | None = None
    """Overrides the source's pagination."""


class RestSource(StrictModel):
    """A REST API."""

    kind: Literal["rest"]
    """Picks this source kind."""
    base_url: str
    """URL every endpoint's path is appended to (``https://api.example.com/v1``)."""
    auth: Auth | None = None
    """How to authenticate: ``bearer``, ``api_key`` or ``basic`` (none when omitted)."""
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))
    """How pages follow each other, for every endpoint (an endpoint may override it)."""
    retries: Retries = Field(default_factory=Retries)
    """Retries of rate limits (429), server errors (5xx) and dropped connections."""
    timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for each response."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers sent with every request."""
    endpoints: dict[Identifier, Endpoint]
    """Entity name → endpoint."""
    description: str | None = None
    """What this source is (shown in the catalog)."""

    @property
    def entity_names(self) -> list[str]:
        return list(self.endpoints)
