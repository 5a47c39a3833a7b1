"""A stateful fake of Bybit's V5 API on 127.0.0.1, with scriptable faults.

It speaks the documented wire format: every answer is ``{"retCode", "retMsg", "result",
"retExtInfo", "time"}``, private calls must carry ``X-BAPI-API-KEY`` / ``-TIMESTAMP`` /
``-RECV-WINDOW`` / ``-SIGN`` with a valid HMAC-SHA256 of timestamp + key + recv window +
(query string or JSON body), and lists page with ``nextPageCursor``. It keeps orders (a
second ``orderLinkId`` is refused with ``110072``), derives positions from executions,
cancels a ``PostOnly`` limit that would take liquidity (as Bybit does), refuses a
``reduceOnly`` order that would grow a position (``110017``), and can misbehave: answer a
create only after the client gave up (``slow_next_post``), drop the connection
(``disconnect_next``), fail calls with rate limits or server errors (``fail_next``), report
an order as not found for a while (``hide_next_lookups``), reject with a code
(``reject_next``), repeat and reorder execution reports (``duplicate_fills``,
``reverse_fills``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY, SECRET = "test-bybit-key", "test-bybit-secret"
OPEN = ("New", "PartiallyFilled", "Untriggered")


@dataclass
class _Order:
    body: dict[str, Any]
    id: str
    created_ms: int
    status: str = "New"
    reject_reason: str = "EC_NoError"
    filled: Decimal = Decimal(0)
    value: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)

    def view(self) -> dict[str, Any]:
        qty = Decimal(self.body["qty"])
        return {
            "orderId": self.id,
            "orderLinkId": self.body.get("orderLinkId", ""),
            "symbol": self.body["symbol"],
            "side": self.body["side"],
            "orderType": self.body["orderType"],
            "price": self.body.get("price", "0"),
            "qty": self.body["qty"],
            "timeInForce": self.body.get("timeInForce", "GTC"),
            "reduceOnly": bool(self.body.get("reduceOnly", False)),
            "triggerPrice": self.body.get("triggerPrice", ""),
            "orderStatus": self.status,
            "rejectReason": self.reject_reason,
            "avgPrice": str(self.value / self.filled) if self.filled else "",
            "leavesQty": str(qty - self.filled),
            "cumExecQty": str(self.filled),
            "cumExecValue": str(self.value),
            "cumExecFee": str(self.fee),
            "createdTime": str(self.created_ms),
            "updatedTime": str(int(time.time() * 1000)),
        }


@dataclass
class _Faults:
    slow_post_s: float = 0.0
    disconnect: str | None = None  # "before" or "after" taking the next create
    failures: list[tuple[int, int | None]] = field(default_factory=list)
    hidden_lookups: int = 0
    reject: tuple[int, str] | None = None
    duplicate_fills: bool = False
    reverse_fills: bool = False


class FakeBybit:
    """The fake venue; ``url`` is its base URL while the context is open."""

    def __init__(self, equity: str = "10000") -> None:
        self.orders: dict[str, _Order] = {}
        self.executions: list[dict[str, Any]] = []
        self.marks: dict[str, Decimal] = {}
        self.equity = Decimal(equity)
        self.creates = 0
        self.faults = _Faults()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBybit:
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

    def disconnect_next(self, *, after_taking: bool) -> None:
        """Drop the next create's connection without an answer, before or after taking it."""
        self.faults.disconnect = "after" if after_taking else "before"

    def fail_next(self, *failures: tuple[int, int | None]) -> None:
        """Answer the next calls with (HTTP status, retCode); retCode None: a bare error."""
        self.faults.failures.extend(failures)

    def hide_next_lookups(self, count: int) -> None:
        self.faults.hidden_lookups = count

    def reject_next(self, code: int, message: str) -> None:
        self.faults.reject = (code, message)

    def fill(self, link_id: str, quantity: str, price: str, fee: str = "0") -> str:
        """Execute part of an order; returns the execution id."""
        with self._lock:
            order = self.orders[link_id]
            qty, px = Decimal(quantity), Decimal(price)
            order.filled += qty
            order.value += qty * px
            order.fee += Decimal(fee)
            order.status = (
                "Filled" if order.filled >= Decimal(order.body["qty"]) else ("PartiallyFilled")
            )
            exec_id = f"e{len(self.executions) + 1:08d}-fake"
            self.executions.append(
                {
                    "symbol": order.body["symbol"],
                    "orderId": order.id,
                    "orderLinkId": order.body.get("orderLinkId", ""),
                    "side": order.body["side"],
                    "orderPrice": order.body.get("price", ""),
                    "orderQty": order.body["qty"],
                    "orderType": order.body["orderType"],
                    "execId": exec_id,
                    "execPrice": price,
                    "execQty": quantity,
                    "execValue": str(qty * px),
                    "execFee": fee,
                    "execType": "Trade",
                    "execTime": str(int(time.time() * 1000)),
                    "isMaker": order.body.get("timeInForce") == "PostOnly",
                }
            )
            return exec_id

    def positions(self) -> dict[str, Decimal]:
        held: dict[str, Decimal] = {}
        for order in self.orders.values():
            sign = 1 if order.body["side"] == "Buy" else -1
            symbol = order.body["symbol"]
            held[symbol] = held.get(symbol, Decimal(0)) + sign * order.filled
        return {s: q for s, q in held.items() if q}

    # -- the API --------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode() if length else ""
        problem = _auth_problem(request, parts.query if method == "GET" else raw)
        if problem is not None:
            return _reply(request, 401, _envelope(problem[0], problem[1], {}))
        with self._lock:
            if self.faults.failures:
                status, code = self.faults.failures.pop(0)
                if code is None:
                    return _reply_text(request, status, "<html>502 Bad Gateway</html>")
                return _reply(request, status, _envelope(code, "Too many visits!", {}))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = json.loads(raw) if raw else {}
        route = (method, parts.path)
        if route == ("POST", "/v5/order/create"):
            return self._create(request, body)
        if route == ("POST", "/v5/order/cancel"):
            return self._cancel(request, body)
        if route in (("GET", "/v5/order/realtime"), ("GET", "/v5/order/history")):
            return self._orders(request, query, realtime=parts.path.endswith("realtime"))
        if route == ("GET", "/v5/execution/list"):
            return self._execution_list(request, query)
        if route == ("GET", "/v5/position/list"):
            rows = [
                {"symbol": s, "side": "Buy" if q > 0 else "Sell", "size": str(abs(q))}
                for s, q in self.positions().items()
            ]
            return _ok(request, {"category": query.get("category"), "list": rows})
        if route == ("GET", "/v5/account/wallet-balance"):
            account = {"accountType": "UNIFIED", "totalEquity": str(self.equity),
                       "totalAvailableBalance": str(self.equity)}  # fmt: skip
            return _ok(request, {"list": [account]})
        return _reply(request, 404, _envelope(10001, f"no route {method} {parts.path}", {}))

    def _create(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self._lock:
            self.creates += 1
            if self.faults.disconnect == "before":
                self.faults.disconnect = None
                return _drop(request)
            if self.faults.reject is not None:
                code, message = self.faults.reject
                self.faults.reject = None
                return _reply(request, 200, _envelope(code, message, {}))
            link_id = str(body.get("orderLinkId", ""))
            if link_id and link_id in self.orders:
                return _reply(request, 200, _envelope(110072, "OrderLinkedID is duplicate", {}))
            if body.get("reduceOnly") and not self._reduces(body):
                return _reply(request, 200, _envelope(110017, "Reduce-only rule not satisfied", {}))
            order = _Order(body, f"bb-{next(self._ids)}", int(time.time() * 1000))
            if body.get("timeInForce") == "PostOnly" and self._takes_liquidity(body):
                order.status, order.reject_reason = "Cancelled", "EC_PostOnlyWillTakeLiquidity"
            self.orders[link_id or order.id] = order
            delay, self.faults.slow_post_s = self.faults.slow_post_s, 0.0
            dropped = self.faults.disconnect == "after"
            self.faults.disconnect = None
        if dropped:
            return _drop(request)
        if delay:
            time.sleep(delay)  # taken, but the answer comes after the client gave up
        _ok(request, {"orderId": order.id, "orderLinkId": link_id})

    def _reduces(self, body: dict[str, Any]) -> bool:
        held = self.positions().get(body["symbol"], Decimal(0))
        change = Decimal(body["qty"]) * (1 if body["side"] == "Buy" else -1)
        return held != 0 and (held > 0) != (change > 0) and abs(change) <= abs(held)

    def _takes_liquidity(self, body: dict[str, Any]) -> bool:
        mark = self.marks.get(body["symbol"])
        if mark is None:
            return False
        price = Decimal(body["price"])
        return price >= mark if body["side"] == "Buy" else price <= mark

    def _cancel(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self._lock:
            order = self.orders.get(str(body.get("orderLinkId", "")))
            if order is None or order.status not in OPEN:
                return _reply(request, 200, _envelope(110001, "Order does not exist.", {}))
            order.status = "Cancelled" if order.filled == 0 else "PartiallyFilledCanceled"
        _ok(request, {"orderId": order.id, "orderLinkId": body.get("orderLinkId", "")})

    def _orders(
        self, request: BaseHTTPRequestHandler, query: dict[str, str], *, realtime: bool
    ) -> None:
        with self._lock:
            if "orderLinkId" in query and self.faults.hidden_lookups > 0:
                self.faults.hidden_lookups -= 1
                return _ok(request, {"category": query.get("category"), "list": []})
            rows = [o.view() for o in self.orders.values()]
        if "orderLinkId" in query:
            rows = [r for r in rows if r["orderLinkId"] == query["orderLinkId"]]
        if realtime:  # open orders, and any order asked for by id
            rows = [r for r in rows if r["orderStatus"] in OPEN or "orderLinkId" in query]
        else:
            rows = [r for r in rows if r["orderStatus"] not in OPEN]
        return _ok(request, _paged(rows, query, {"category": query.get("category")}))

    def _execution_list(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        with self._lock:
            rows = list(reversed(self.executions))  # newest first, as Bybit lists them
        if "orderLinkId" in query:
            rows = [r for r in rows if r["orderLinkId"] == query["orderLinkId"]]
        if "startTime" in query:
            rows = [r for r in rows if int(r["execTime"]) >= int(query["startTime"])]
        page = _paged(rows, query, {"category": query.get("category")})
        if self.faults.duplicate_fills:
            page["list"] = [r for r in page["list"] for _ in (0, 1)]
        if self.faults.reverse_fills:
            page["list"] = page["list"][::-1]
        return _ok(request, page)


def _paged(
    rows: list[dict[str, Any]], query: dict[str, str], extra: dict[str, Any]
) -> dict[str, Any]:
    limit = int(query.get("limit", 20))
    start = int(query.get("cursor") or 0)
    chunk = rows[start : start + limit]
    more = start + limit < len(rows)
    return {**extra, "list": chunk, "nextPageCursor": str(start + limit) if more else ""}


def _auth_problem(request: BaseHTTPRequestHandler, payload: str) -> tuple[int, str] | None:
    key = request.headers.get("X-BAPI-API-KEY")
    stamp = request.headers.get("X-BAPI-TIMESTAMP", "")
    window = request.headers.get("X-BAPI-RECV-WINDOW", "")
    if key != KEY:
        return 10003, "API key is invalid."
    expected = hmac.new(
        SECRET.encode(), (stamp + key + window + payload).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-BAPI-SIGN", "")):
        return 10004, "error sign! origin_string[...]"
    if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > int(window or 5000):
        return 10002, "invalid request, please check your server timestamp or recv_window param"
    return None


def _envelope(code: int, message: str, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "retCode": code,
        "retMsg": message,
        "result": result,
        "retExtInfo": {},
        "time": int(time.time() * 1000),
    }


def _ok(request: BaseHTTPRequestHandler, result: dict[str, Any]) -> None:
    _reply(request, 200, _envelope(0, "OK", result))


def _reply(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    _reply_bytes(request, status, json.dumps(body).encode(), "application/json")


def _reply_text(request: BaseHTTPRequestHandler, status: int, text: str) -> None:
    _reply_bytes(request, status, text.encode(), "text/html")


def _reply_bytes(request: BaseHTTPRequestHandler, status: int, data: bytes, kind: str) -> None:
    try:
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client timed out and left


def _drop(request: BaseHTTPRequestHandler) -> None:
    """Close the connection without a word (a network failure mid-request)."""
    request.close_connection = True
    with contextlib.suppress(OSError):
        request.connection.shutdown(2)
