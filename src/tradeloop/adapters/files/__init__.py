"""Bars from a directory of CSV or Parquet files, one per symbol."""

from tradeloop.adapters.files.provider import FilesProvider

__all__ = ["FilesProvider"]
