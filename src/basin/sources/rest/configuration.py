"""Configuration of the ``rest`` source kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from basin.common.types import Identifier, StrictModel
from basin.sources.tables import CursorEntity


class BearerAuth(StrictModel):
    type: Literal["bearer"]
    token: SecretStr
    """Use ``${env:NAME}``."""


class ApiKeyAuth(StrictModel):
    type: Literal["api_key"]
    name: str = "X-API-Key"
    """Header or query parameter name."""
    key: SecretStr
    """Use ``${env:NAME}``."""
    location: Literal["header", "query"] = "header"


class BasicAuth(StrictModel):
    type: Literal["basic"]
    username: str
    password: SecretStr


Auth = Annotated[BearerAuth | ApiKeyAuth | BasicAuth, Field(discriminator="type")]


class PageNumberPagination(StrictModel):
    type: Literal["page_number"]
    page_param: str = "page"
    base_page: int = 1
    """Number of the first page (0 or 1)."""
    total_path: str | None = None
    """JSON path to the number of pages; when omitted, stop at the first empty page."""


class OffsetPagination(StrictModel):
    type: Literal["offset"]
    limit: int = Field(default=100, ge=1)
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_path: str | None = None
    """JSON path to the total number of records; when omitted, stop at an empty page."""


class CursorPagination(StrictModel):
    type: Literal["cursor"]
    cursor_path: str = "next_cursor"
    """JSON path to the next page's cursor in the response; pagination ends when it is empty."""
    cursor_param: str = "cursor"
    """Query parameter that carries the cursor."""


class LinkHeaderPagination(StrictModel):
    type: Literal["link_header"]
    rel: str = "next"


class NoPagination(StrictModel):
    type: Literal["none"]


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
    base_url: str
    auth: Auth | None = None
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))
    retries: Retries = Field(default_factory=Retries)
    timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for each response."""
    headers: dict[str, str] = Field(default_factory=dict)
    endpoints: dict[Identifier, Endpoint]
    description: str | None = None

    @property
    def entity_names(self) -> list[str]:
        return list(self.endpoints)
