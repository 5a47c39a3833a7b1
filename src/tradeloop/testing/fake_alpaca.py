"""A stateful fake of Alpaca's Trading API v2 on 127.0.0.1, with scriptable faults.

It keeps orders (unique ``client_order_id``, as Alpaca enforces), fills them when a test
says so (``fill``), lists fill activities and positions, and can misbehave the way a real
venue does: answer a POST only after the client gave up (``slow_next_post``: the order is
taken), fail the next calls with 429 / 5xx (``fail_next``), report an order as not found
for a while (``hide_next_lookups``), repeat and reorder fill reports (``duplicate_fills``,
``reverse_fills``), and reject with Alpaca's codes (``reject_next``).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY, SECRET = "test-key-id", "test-secret-key"


@dataclass
class _Order:
    body: dict[str, Any]
    id: str
    status: str = "new"
    filled: Decimal = Decimal(0)
    value: Decimal = Decimal(0)

    def view(self) -> dict[str, Any]:
        average = self.value / self.filled if self.filled else None
        return {
            "id": self.id,
            "client_order_id": self.body["client_order_id"],
            "symbol": self.body["symbol"],
            "side": self.body["side"],
            "qty": self.body["qty"],
            "type": self.body["type"],
            "time_in_force": self.body["time_in_force"],
            "status": self.status,
            "filled_qty": str(self.filled),
            "filled_avg_price": None if average is None else str(average),
        }


@dataclass
class _Faults:
    slow_post_s: float = 0.0
    failures: list[int] = field(default_factory=list)
    hidden_lookups: int = 0
    reject: tuple[int, int, str] | None = None
    duplicate_fills: bool = False
    reverse_fills: bool = False


class FakeAlpaca:
    """The fake venue; ``url`` is its base URL while the context is open."""

    def __init__(self, equity: str = "100000") -> None:
        self.equity = Decimal(equity)
        self.cash = Decimal(equity)  # what the account may spend (a test lowers it)
        self.orders: dict[str, _Order] = {}
        self.activities: list[dict[str, Any]] = []
        self.posts = 0
        self.faults = _Faults()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAlpaca:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting ------------------------------------------------------------------------

    def slow_next_post(self, seconds: float) -> None:
        self.faults.slow_post_s = seconds

    def fail_next(self, *statuses: int) -> None:
        self.faults.failures.extend(statuses)

    def hide_next_lookups(self, count: int) -> None:
        self.faults.hidden_lookups = count

    def reject_next(self, status: int, code: int, message: str) -> None:
        self.faults.reject = (status, code, message)

    def fill(self, client_order_id: str, quantity: str, price: str) -> str:
        """Execute part of an order; returns the fill activity's id."""
        with self._lock:
            order = self.orders[client_order_id]
            qty, px = Decimal(quantity), Decimal(price)
            order.filled += qty
            order.value += qty * px
            total = Decimal(order.body["qty"])
            order.status = "filled" if order.filled >= total else "partially_filled"
            activity = {
                "id": f"2026112{len(self.activities):06d}::fill",
                "activity_type": "FILL",
                "type": "fill" if order.status == "filled" else "partial_fill",
                "order_id": order.id,
                "symbol": order.body["symbol"],
                "side": order.body["side"],
                "qty": quantity,
                "price": price,
                "transaction_time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
            self.activities.append(activity)
            return str(activity["id"])

    def positions(self) -> dict[str, Decimal]:
        held: dict[str, Decimal] = {}
        for order in self.orders.values():
            sign = 1 if order.body["side"] == "buy" else -1
            held[order.body["symbol"]] = (
                held.get(order.body["symbol"], Decimal(0)) + sign * order.filled
            )
        return {s: q for s, q in held.items() if q}

    # -- the API --------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if (
            request.headers.get("APCA-API-KEY-ID") != KEY
            or request.headers.get("APCA-API-SECRET-KEY") != SECRET
        ):
            return _reply(request, 401, {"code": 40110000, "message": "request is not authorized"})
        with self._lock:
            if self.faults.failures:
                status = self.faults.failures.pop(0)
                return _reply(request, status, {"code": status * 100000, "message": "busy"})
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length)) if length else {}
        path = parts.path
        if method == "POST" and path == "/v2/orders":
            return self._post(request, body)
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            with self._lock:
                if self.faults.hidden_lookups > 0:
                    self.faults.hidden_lookups -= 1
                    return _reply(request, 404, {"code": 40410000, "message": "order not found"})
                order = self.orders.get(query.get("client_order_id", ""))
            if order is None:
                return _reply(request, 404, {"code": 40410000, "message": "order not found"})
            return _reply(request, 200, order.view())
        if method == "GET" and path == "/v2/orders":
            views = [
                o.view()
                for o in self.orders.values()
                if o.status in ("new", "accepted", "partially_filled")
            ]
            return _reply(request, 200, views)
        if path.startswith("/v2/orders/"):
            order_id = path.rsplit("/", 1)[1]
            found = next((o for o in self.orders.values() if o.id == order_id), None)
            if found is None:
                return _reply(request, 404, {"code": 40410000, "message": "order not found"})
            if method == "DELETE":
                if found.status not in ("new", "accepted", "partially_filled"):
                    return _reply(request, 422, {"code": 42210000, "message": "not cancelable"})
                found.status = "canceled"
                return _reply(request, 204, None)
            return _reply(request, 200, found.view())
        if method == "GET" and path == "/v2/positions":
            return _reply(
                request, 200, [{"symbol": s, "qty": str(q)} for s, q in self.positions().items()]
            )
        if method == "GET" and path == "/v2/account":
            cash = {"status": "ACTIVE", "currency": "USD", "equity": str(self.equity),
                    "cash": str(self.cash)}  # fmt: skip
            return _reply(request, 200, cash)
        if method == "GET" and path == "/v2/account/activities/FILL":
            rows = list(self.activities)
            if "page_token" in query:
                ids = [a["id"] for a in rows]
                start = ids.index(query["page_token"]) + 1 if query["page_token"] in ids else 0
                rows = rows[start:]
            rows = rows[: int(query.get("page_size", 100))]
            if self.faults.duplicate_fills:
                rows = [r for r in rows for _ in (0, 1)]
            if self.faults.reverse_fills:
                rows = rows[::-1]
            return _reply(request, 200, rows)
        return _reply(request, 404, {"code": 40400000, "message": f"no route {method} {path}"})

    def _post(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self._lock:
            self.posts += 1
            if self.faults.reject is not None:
                status, code, message = self.faults.reject
                self.faults.reject = None
                return _reply(request, status, {"code": code, "message": message})
            client_id = body.get("client_order_id", "")
            if client_id in self.orders:
                unique = {"code": 40010001, "message": "client_order_id must be unique"}
                return _reply(request, 422, unique)
            order = _Order(body, f"fa-{next(self._ids)}")
            self.orders[client_id] = order
            delay, self.faults.slow_post_s = self.faults.slow_post_s, 0.0
        if delay:
            time.sleep(delay)  # taken, but the answer comes after the client gave up
        _reply(request, 200, order.view())


def _reply(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    try:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client timed out and left
