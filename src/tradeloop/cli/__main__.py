"""``python -m tradeloop.cli``."""

from tradeloop.cli.main import run

run()
