"""Extract REST API endpoints with dlt's REST client.

dlt brings the paginators, the auth helpers and a session that retries 429, 5xx and
dropped connections with exponential backoff, honouring ``Retry-After``. Pages are
appended to a JSON-lines file in the batch's staging folder and written as Parquet
by DuckDB once the last page has arrived: a page that still fails after its retries
fails the whole batch, and the watermark does not move.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb

from basin.common.errors import ExtractError, SourceUnavailable
from basin.common.sql import literal, quote_ident
from basin.sources.incremental import IncrementalExtractor
from basin.sources.rest.configuration import (
    CursorPagination,
    Endpoint,
    LinkHeaderPagination,
    OffsetPagination,
    PageNumberPagination,
    RestSource,
)
from basin.sources.tables import CursorEntity

# dlt reports anonymous usage unless told not to; nothing outside is reachable here.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# Where Airflow is installed, dlt's first configuration lookup imports it to read
# secrets from Airflow Variables (≈2 s per extraction) with sys.stdout and
# sys.stderr swapped for buffers: from two extraction threads at once, the swaps
# interleave and leave the process's stdout a buffer, so what Basin printed next
# vanished. Basin's credentials come from basin.yml, never from Airflow Variables.
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")


class RestExtractor(IncrementalExtractor):
    config: RestSource

    def describe(self) -> str:
        return self.config.base_url

    def dataset(self, entity: str, project_root: Path) -> tuple[str, str]:
        from urllib.parse import urlsplit

        url = urlsplit(self.config.base_url)
        path = url.path.rstrip("/") + "/" + self.config.endpoints[entity].path.lstrip("/")
        return f"{url.scheme}://{url.netloc}", path

    def entity_config(self, entity: str) -> CursorEntity:
        return self.config.endpoints[entity]

    def _client(self) -> Any:
        from dlt.sources.helpers.requests.retry import Client
        from dlt.sources.helpers.rest_client import RESTClient

        retries = self.config.retries
        session = Client(
            request_timeout=self.config.timeout,
            raise_for_status=False,
            request_max_attempts=retries.max_attempts,
            request_backoff_factor=retries.backoff_factor,
            request_max_retry_delay=retries.max_delay,
            respect_retry_after_header=True,
        ).session
        return RESTClient(
            base_url=self.config.base_url,
            headers=dict(self.config.headers),
            auth=self._auth(),
            session=session,
        )

    def _auth(self) -> Any:
        from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth, HttpBasicAuth

        auth = self.config.auth
        if auth is None:
            return None
        if auth.type == "bearer":
            return BearerTokenAuth(token=auth.token.get_secret_value())
        if auth.type == "api_key":
            return APIKeyAuth(
                name=auth.name, api_key=auth.key.get_secret_value(), location=auth.location
            )
        return HttpBasicAuth(username=auth.username, password=auth.password.get_secret_value())

    @staticmethod
    def _paginator(endpoint: Endpoint, default: Any) -> Any:
        from dlt.sources.helpers.rest_client import paginators as p

        cfg = endpoint.pagination or default
        if isinstance(cfg, PageNumberPagination):
            return p.PageNumberPaginator(
                base_page=cfg.base_page,
                page_param=cfg.page_param,
                total_path=cfg.total_path,
                stop_after_empty_page=True,
            )
        if isinstance(cfg, OffsetPagination):
            return p.OffsetPaginator(
                limit=cfg.limit,
                offset_param=cfg.offset_param,
                limit_param=cfg.limit_param,
                total_path=cfg.total_path,
                stop_after_empty_page=True,
            )
        if isinstance(cfg, CursorPagination):
            return p.JSONResponseCursorPaginator(
                cursor_path=cfg.cursor_path, cursor_param=cfg.cursor_param
            )
        if isinstance(cfg, LinkHeaderPagination):
            return p.HeaderLinkPaginator(links_next_key=cfg.rel)
        return p.SinglePagePaginator()

    def relation(
        self,
        con: duckdb.DuckDBPyConnection,
        entity: str,
        cfg: Endpoint,
        where: str | None,
        lower: str | None,
        staging: Path,
    ) -> str:
        from requests import RequestException

        params = dict(cfg.params)
        if cfg.incremental and lower is not None:
            if not cfg.cursor_param:
                raise ExtractError(
                    f"{self.name}.{entity}: incremental endpoint needs cursor_param "
                    "(the query parameter that takes the lower bound)"
                )
            params[cfg.cursor_param] = lower
        pages = staging / "pages.jsonl"
        records = 0
        where = f"{self.name}.{entity}: {_join(self.config.base_url, cfg.path)}"
        loop = _LoopGuard(where)
        try:
            with open(pages, "w", encoding="utf-8") as out:
                for page in self._client().paginate(
                    cfg.path,
                    params=params,
                    paginator=self._paginator(cfg, self.config.pagination),
                    data_selector=cfg.record_path or "$",
                ):
                    loop.check(page)
                    for record in page:
                        out.write(json.dumps(record, default=str) + "\n")
                        records += 1
        except RequestException as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status is not None and 400 <= status < 500 and status != 429:
                # A client error is not retried (dlt's client neither): it would fail again.
                raise ExtractError(
                    f"{where} failed with HTTP {status} (a client error, not retried): {exc}",
                    hint="check the source's auth, base_url and endpoint path in basin.yml; "
                    "nothing of this batch was kept and the watermark did not move",
                ) from None
            raise SourceUnavailable(
                f"{where} failed"
                + (f" with HTTP {status}" if status else "")
                + f" after {self.config.retries.max_attempts} attempt(s): {exc}",
                hint="nothing of this batch was kept and the watermark did not move; run again "
                "when the API is back",
            ) from None
        if records == 0:
            return "(SELECT 1 AS basin_empty WHERE false)"
        scan = f"read_json({literal(str(pages))}, format = 'newline_delimited')"
        if not cfg.primary_key:
            return scan
        # A record an API returns twice (a row shifting between offset pages while
        # they are read) is kept once: its last occurrence, the freshest. Looking for a
        # repeated key first reads the key columns alone; the window over whole records
        # runs only when there is one. Always run, it held every record with its long
        # strings in memory: 4.2 GB of RSS for 20M e-mail events (scale 100), where the
        # key count stays in a few hundred MB.
        key = ", ".join(quote_ident(c) for c in cfg.primary_key)
        repeated = con.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM {scan} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        if not (repeated and repeated[0]):
            return scan
        return (
            "(SELECT * EXCLUDE (basin_seq) FROM (SELECT *, row_number() OVER () AS basin_seq "
            f"FROM {scan}) QUALIFY row_number() OVER (PARTITION BY {key} "
            "ORDER BY basin_seq DESC) = 1)"
        )


class _LoopGuard:
    """Stops a pagination that repeats itself: the same request sent twice (a cursor
    or page number that does not move) or the same non-empty page twice (an API that
    ignores the page parameter). Either would loop forever or land duplicates."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.urls: dict[str, int] = {}
        self.pages: dict[str, int] = {}
        self.number = 0

    def check(self, page: Any) -> None:
        import hashlib

        self.number += 1
        request = getattr(getattr(page, "response", None), "request", None)
        url = getattr(request, "url", None)
        if url:
            if url in self.urls:
                self._stop(f"asked for {url} again (as for page {self.urls[url]})")
            self.urls[url] = self.number
        if page:
            digest = hashlib.sha256(
                json.dumps(list(page), sort_keys=True, default=str).encode()
            ).hexdigest()
            if digest in self.pages:
                self._stop(f"returned the same records as page {self.pages[digest]}")
            self.pages[digest] = self.number

    def _stop(self, what: str) -> None:
        raise ExtractError(
            f"{self.where}: the pagination repeats itself — page {self.number} {what}",
            hint="check the endpoint's pagination settings in basin.yml (cursor_path, "
            "page_param, …) against the API's documentation; nothing of this batch was "
            "kept and the watermark did not move",
        )


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")
