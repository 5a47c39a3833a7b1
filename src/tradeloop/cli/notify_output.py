"""How a notification's delivery is shown (the channels it reached, the ones it did not)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from tradeloop.usecases.notifications import Delivery


def show_delivery(delivery: Delivery, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"sent": delivery.sent, "failed": delivery.failed}, indent=2))
        return
    console = Console(highlight=False, stderr=True)
    for name in delivery.sent:
        console.print(f"notify: sent via {name}")
    for name, reason in delivery.failed.items():
        console.print(f"notify: [red]{name} failed[/]: {reason}")
