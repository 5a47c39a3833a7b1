"""Replay stored bars forward as if they were arriving live."""

from tradeloop.adapters.replay.provider import ReplayProvider

__all__ = ["ReplayProvider"]
