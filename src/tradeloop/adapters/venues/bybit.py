"""Bybit (crypto derivatives and spot) as an ``Exchange``: the V5 API through ccxt.

ccxt carries the transport: request signing (HMAC of timestamp + key + recv window +
payload), endpoints (mainnet, testnet for ``EXCHANGE_MODE=paper``, or a gateway), its own
throttle, and the mapping of Bybit's ``retCode`` to exception classes. We call the V5
endpoints directly (``privatePostV5OrderCreate`` ...) and read Bybit's own fields, so nothing
depends on ccxt loading markets (one request per product type, refused by a test server and
slow on a real one) and every answer is read the way Bybit documents it.

- ``send``: ``POST /v5/order/create`` with ``orderLinkId`` = our client order id. Bybit
  refuses a second order with the same ``orderLinkId`` (``110072``): that refusal is read as
  "sent already" and the order is looked up, so a re-send after a timeout never doubles it.
  Options: ``post_only`` sends limit orders as ``PostOnly`` (Bybit cancels one that would
  take liquidity); ``maker_only`` also refuses market and stop orders before they leave;
  ``reduce_only`` marks an order that shrinks the venue's position ``reduceOnly``, so an
  exit can never open or flip a position if ours is out of date.
- A timeout or broken connection is ``VenueUnavailable`` (outcome unknown, never a
  rejection); rate limits (``10006``, HTTP 403/429) and server errors (``10000``, ``10016``,
  5xx) are retried with backoff, then ``VenueUnavailable``; other ``retCode`` values are
  ``VenueRejection`` carrying the code.
- ``query``: ``GET /v5/order/realtime`` then ``/v5/order/history`` by ``orderLinkId``.
- fills: ``GET /v5/execution/list`` (cursor-paged); ``execId`` is the fill id, so a report
  seen twice or out of order is applied once by the order manager.
- ``positions``: ``GET /v5/position/list``; ``balance``: ``GET /v5/account/wallet-balance``.

Credentials live in the ccxt client only; no message, log line or exception carries them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import ccxt

from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.order_manager import (
    VenueFill,
    VenueOrderStatus,
    VenueRejection,
    VenueUnavailable,
)

log = logging.getLogger(__name__)

STATES = {
    "Created": OrderState.ACCEPTED,
    "New": OrderState.ACCEPTED,
    "Untriggered": OrderState.ACCEPTED,
    "Triggered": OrderState.ACCEPTED,
    "PartiallyFilled": OrderState.PARTIALLY_FILLED,
    "Filled": OrderState.FILLED,
    "Cancelled": OrderState.CANCELED,
    "PartiallyFilledCanceled": OrderState.CANCELED,
    "Deactivated": OrderState.CANCELED,
    "Rejected": OrderState.REJECTED,
}
OPEN = ("Created", "New", "Untriggered", "Triggered", "PartiallyFilled")
DUPLICATE_ID = 110072  # "OrderLinkedID is duplicate"
NOT_FOUND = (110001, 170213)  # order does not exist (derivatives, spot)
RETRYABLE = (10000, 10006, 10016, 10429)  # server timeout, rate limits, server error
PAGE = 100


class BybitVenue:
    """Bybit's V5 API, reached through a ccxt client, as the engine's venue."""

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        mode: str = "paper",
        base_url: str | None = None,
        category: str = "linear",
        settle_coin: str = "USDT",
        symbols: Mapping[str, str] | None = None,
        post_only: bool = False,
        maker_only: bool = False,
        reduce_only: bool = True,
        timeout_s: float = 10.0,
        attempts: int = 4,
        recv_window_ms: int = 5000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        client = ccxt.bybit(
            {
                "apiKey": api_key,
                "secret": secret,
                "timeout": int(timeout_s * 1000),
                "enableRateLimit": True,
                "options": {
                    "recvWindow": recv_window_ms,
                    # known, so ccxt never probes the account type with extra requests
                    "enableUnifiedAccount": True,
                    "enableUnifiedMargin": False,
                },
            }
        )
        if mode == "paper":
            client.set_sandbox_mode(True)  # Bybit's testnet
        if base_url is not None:
            client.urls["api"] = {name: base_url.rstrip("/") for name in client.urls["api"]}
        self._client = client
        self._secrets = (api_key, secret)
        self._category = category
        self._settle_coin = settle_coin
        self._to_venue = dict(symbols or {})
        self._from_venue = {v: k for k, v in self._to_venue.items()}
        self.post_only = post_only or maker_only
        self.maker_only = maker_only
        self.reduce_only = reduce_only
        self._attempts = attempts
        self._sleep = sleep
        self._fills_since_ms: int | None = None  # execTime of the newest fill polled
        self._order_symbols: dict[str, str] = {}  # client order id -> our symbol

    def __repr__(self) -> str:  # never the credentials
        return f"BybitVenue({self._client.urls['api']['private']}, {self._category})"

    def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None:
            session.close()

    # -- transport ------------------------------------------------------------------------

    def _call(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        """One V5 call through ccxt with retries; the ``result`` object of the answer."""
        problem = "no attempt"
        for attempt in range(1, self._attempts + 1):
            try:
                answer = getattr(self._client, endpoint)(params)
            except ccxt.RequestTimeout:
                raise VenueUnavailable(
                    f"bybit {endpoint}: timed out. Fix: check EXCHANGE_BASE_URL and the "
                    "network, or retry when Bybit answers"
                ) from None
            except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
                # NetworkError: rate limits, 5xx, broken connections (a re-sent order is
                # harmless: Bybit refuses a second one with the same orderLinkId)
                code, message = self._code(exc)
                if code is not None and code not in RETRYABLE:
                    raise _Refused(code, message) from None
                if code is None and not isinstance(exc, ccxt.NetworkError):
                    raise _Refused(None, message) from None
                problem = message if code is None else f"retCode {code}: {message}"
            else:
                result = answer.get("result") if isinstance(answer, dict) else None
                return result if isinstance(result, dict) else {}
            if attempt < self._attempts:
                self._sleep(min(0.5 * 2 ** (attempt - 1), 30.0))
        raise VenueUnavailable(f"bybit {endpoint}: {problem} after {self._attempts} tries")

    def _code(self, exc: Exception) -> tuple[int | None, str]:
        """Bybit's retCode and retMsg from a ccxt exception ("bybit {json body}")."""
        text = self._redact(str(exc))
        _, _, body = text.partition(" ")
        try:
            payload = json.loads(body)
        except ValueError:
            return None, text[:300]
        if not isinstance(payload, dict) or "retCode" not in payload:
            return None, text[:300]
        return int(payload["retCode"]), str(payload.get("retMsg", ""))[:300]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    # -- gateway --------------------------------------------------------------------------

    def send(self, order: SubmitOrder) -> str:
        try:
            body = self._order_body(order)  # may read positions: a refusal there sent nothing
            self._order_symbols[order.client_order_id] = order.symbol
            result = self._call("privatePostV5OrderCreate", body)
        except _Refused as refused:
            if refused.code == DUPLICATE_ID:
                known = self.query(order.client_order_id)  # it reached Bybit before
                if known is not None:
                    return known.venue_order_id
                raise VenueUnavailable(
                    f"bybit: {order.client_order_id} is a duplicate, not found"
                ) from None
            raise VenueRejection(f"bybit retCode {refused.code}: {refused.message}") from None
        return str(result.get("orderId", ""))

    def _order_body(self, order: SubmitOrder) -> dict[str, Any]:
        if order.time_in_force is TimeInForce.DAY:
            raise VenueRejection("bybit has no DAY orders: use time_in_force GTC or IOC")
        if self.maker_only and order.order_type is not OrderType.LIMIT:
            raise VenueRejection(
                f"maker_only: a {order.order_type.value} order would take liquidity; "
                "send limit orders, or turn maker_only off"
            )
        body: dict[str, Any] = {
            "category": self._category,
            "symbol": self._venue_symbol(order.symbol),
            "side": "Buy" if order.side is Side.BUY else "Sell",
            "orderType": "Limit" if order.order_type is OrderType.LIMIT else "Market",
            "qty": _plain(order.quantity),
            "orderLinkId": order.client_order_id,
            "timeInForce": order.time_in_force.value,
        }
        if order.order_type is OrderType.LIMIT:
            body["price"] = _plain(order.limit_price)
            if self.post_only:
                body["timeInForce"] = "PostOnly"
        elif order.order_type is OrderType.STOP:
            body["triggerPrice"] = _plain(order.stop_price)
            body["triggerDirection"] = 1 if order.side is Side.BUY else 2  # rise / fall
        if order.order_type is OrderType.MARKET and order.time_in_force is TimeInForce.GTC:
            body["timeInForce"] = "IOC"  # what Bybit applies to market orders anyway
        if self.reduce_only and self._category != "spot" and self._shrinks(order):
            body["reduceOnly"] = True
        return body

    def _shrinks(self, order: SubmitOrder) -> bool:
        held = self._positions().get(order.symbol, Decimal(0))
        change = order.signed_quantity
        return held != 0 and (held > 0) != (change > 0) and abs(change) <= abs(held)

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        for endpoint in ("privateGetV5OrderRealtime", "privateGetV5OrderHistory"):
            try:
                result = self._call(
                    endpoint, {"category": self._category, "orderLinkId": client_order_id}
                )
            except _Refused as refused:
                if refused.code in NOT_FOUND:
                    continue
                raise VenueUnavailable(f"bybit order query: {refused}") from None
            found = [o for o in result.get("list", []) if o.get("orderLinkId") == client_order_id]
            if found:
                return self._status(found[0])
        return None

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        status = self.query(client_order_id)
        if status is None or status.state not in (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED):
            return status
        try:
            self._call(
                "privatePostV5OrderCancel",
                {
                    "category": self._category,
                    "symbol": self._venue_symbol(self._order_symbols[client_order_id]),
                    "orderLinkId": client_order_id,
                },
            )
        except _Refused as refused:
            if refused.code not in NOT_FOUND:  # not found: it finished meanwhile
                raise VenueUnavailable(f"bybit cancel: {refused}") from None
        return self.query(client_order_id)

    def open_orders(self) -> list[VenueOrderStatus]:
        params: dict[str, Any] = {"category": self._category, "openOnly": 0, "limit": 50}
        if self._category != "spot":
            params["settleCoin"] = self._settle_coin
        try:
            rows = self._pages("privateGetV5OrderRealtime", params)
        except _Refused as refused:
            raise VenueUnavailable(f"bybit open orders: {refused}") from None
        return [self._status(o) for o in rows if o.get("orderStatus") in OPEN]

    def positions(self) -> dict[str, Decimal]:
        try:
            return self._positions()
        except _Refused as refused:
            raise VenueUnavailable(f"bybit positions: {refused}") from None

    def _positions(self) -> dict[str, Decimal]:
        if self._category == "spot":
            return {}  # spot holdings are balances, not positions
        params = {"category": self._category, "settleCoin": self._settle_coin, "limit": 200}
        held: dict[str, Decimal] = {}
        for row in self._pages("privateGetV5PositionList", params):
            size = Decimal(str(row.get("size") or 0))
            if size:
                sign = -1 if row.get("side") == "Sell" else 1
                held[self._our_symbol(row["symbol"])] = sign * size
        return held

    def balance(self) -> Decimal:
        """The account's equity in USD (unified account ``totalEquity``)."""
        try:
            result = self._call("privateGetV5AccountWalletBalance", {"accountType": "UNIFIED"})
        except _Refused as refused:
            raise VenueUnavailable(f"bybit wallet balance: {refused}") from None
        accounts = result.get("list") or [{}]
        return Decimal(str(accounts[0].get("totalEquity") or 0))

    def available_cash(self) -> Decimal:
        """What the unified account can still spend in USD (``totalAvailableBalance``)."""
        try:
            result = self._call("privateGetV5AccountWalletBalance", {"accountType": "UNIFIED"})
        except _Refused as refused:
            raise VenueUnavailable(f"bybit wallet balance: {refused}") from None
        account = (result.get("list") or [{}])[0]
        return Decimal(str(account.get("totalAvailableBalance") or account.get("totalEquity") or 0))

    def _pages(self, endpoint: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(1000):  # a venue that never stops paging is a bug, not data
            page_params = dict(params, cursor=cursor) if cursor else dict(params)
            result = self._call(endpoint, page_params)
            rows.extend(result.get("list") or [])
            cursor = str(result.get("nextPageCursor") or "")
            if not cursor or not result.get("list"):
                return rows
        raise VenueUnavailable(f"bybit {endpoint}: more than 1000 pages")

    # -- fills ----------------------------------------------------------------------------

    def _executions(self, **filters: Any) -> list[dict[str, Any]]:
        params = {"category": self._category, "limit": PAGE, **filters}
        try:
            rows = self._pages("privateGetV5ExecutionList", params)
        except _Refused as refused:
            raise VenueUnavailable(f"bybit executions: {refused}") from None
        # Bybit lists newest first; apply in time order (the manager tolerates either)
        return sorted(rows, key=lambda r: (int(r.get("execTime") or 0), str(r.get("execId"))))

    def _fill(self, execution: dict[str, Any]) -> VenueFill | None:
        client_id = execution.get("orderLinkId") or ""
        if not client_id:
            log.warning("bybit execution %s: no orderLinkId (not ours)", execution.get("execId"))
            return None
        return VenueFill(
            fill_id=f"bybit-{execution['execId']}",
            client_order_id=client_id,
            quantity=Decimal(str(execution["execQty"])),
            price=Decimal(str(execution["execPrice"])),
            commission=Decimal(str(execution.get("execFee") or 0)),
            ts_event=int(execution["execTime"]) * 1_000_000,
        )

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        fills = [self._fill(e) for e in self._executions(orderLinkId=client_order_id)]
        return [f for f in fills if f is not None and f.client_order_id == client_order_id]

    def on_bar(self, bar: BarView) -> list[VenueFill | VenueOrderStatus]:
        """The fills reported since the last poll (the bar only paces the polling)."""
        filters = {} if self._fills_since_ms is None else {"startTime": self._fills_since_ms}
        executions = self._executions(**filters)
        if executions:
            # same-millisecond reports come again next time; fill ids make that harmless
            self._fills_since_ms = int(executions[-1]["execTime"])
        return [f for f in (self._fill(e) for e in executions) if f is not None]

    # -- symbols --------------------------------------------------------------------------

    def _venue_symbol(self, symbol: str) -> str:
        mapped = self._to_venue.get(symbol)
        return mapped if mapped is not None else symbol.replace("-", "").replace("/", "")

    def _our_symbol(self, venue_symbol: str) -> str:
        return self._from_venue.get(venue_symbol, venue_symbol)

    def _status(self, order: dict[str, Any]) -> VenueOrderStatus:
        raw = str(order.get("orderStatus", ""))
        state = STATES.get(raw)
        if state is None:
            log.warning("bybit order %s: unknown status %r", order.get("orderId"), raw)
            state = OrderState.ACCEPTED
        reason = raw
        if order.get("rejectReason") not in (None, "", "EC_NoError"):
            reason = f"{raw}: {order['rejectReason']}"
        client_id = str(order.get("orderLinkId", ""))
        self._order_symbols[client_id] = self._our_symbol(str(order.get("symbol", "")))
        return VenueOrderStatus(
            client_order_id=client_id,
            state=state,
            filled_quantity=Decimal(str(order.get("cumExecQty") or 0)),
            venue_order_id=str(order.get("orderId", "")),
            reason=reason,
        )


# Bybit's "invalid key", "invalid signature", "permission denied", "key expired".
AUTH_CODES = frozenset({10003, 10004, 10005, 33004})


class _Refused(Exception):
    """A non-retryable ``retCode``; the caller decides what it means."""

    def __init__(self, code: int | None, message: str) -> None:
        hint = (
            ". Fix: check BYBIT_API_KEY / BYBIT_API_SECRET and EXCHANGE_MODE (testnet keys "
            "work only against the testnet)"
            if code in AUTH_CODES
            else ""
        )
        super().__init__(f"retCode {code}: {message}{hint}")
        self.code = code
        self.message = message


def _plain(value: Decimal | None) -> str:
    if value is None:
        raise VenueRejection("bybit: a price the order type needs is missing")
    return format(value.normalize(), "f")
