"""What the REST provider adapters share: the HTTP client, the raw archive, the port."""

from __future__ import annotations

import polars as pl

from tradeloop.adapters.http_client import HttpJsonClient
from tradeloop.data.ports import BarRequest, History
from tradeloop.data.raw_archive import RawArchive


class RestProvider:
    """Base of yahoo / polygon / alpaca: subclasses implement ``fetch_history``."""

    name = "rest"

    def __init__(self, client: HttpJsonClient, archive: RawArchive | None = None) -> None:
        self._client = client
        self._archive = archive

    def symbols(self) -> tuple[str, ...]:
        return ()

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        return self.fetch_history(request).bars

    def fetch_history(self, request: BarRequest) -> History:
        raise NotImplementedError
