"""Alpaca (US equities) as an ``Exchange``: the Trading API v2 over HTTPS (httpx).

- ``send``: ``POST /v2/orders`` with our deterministic ``client_order_id``. Alpaca refuses a
  second order with the same id, so a re-send after a timeout can never double it: that
  refusal is read as "you sent this already" and the order is looked up. An explicit refusal
  (403 / 422 with Alpaca's ``code``) is a ``VenueRejection``; a timeout or a broken
  connection is ``VenueUnavailable`` (the outcome is unknown: never a rejection); 429 and 5xx
  are retried with backoff (``Retry-After`` honoured), then ``VenueUnavailable``.
- ``query``: ``GET /v2/orders:by_client_order_id``; 404 means "not received" (None).
- ``cancel``: ``DELETE /v2/orders/{id}``, then the order's state.
- fills: ``GET /v2/account/activities/FILL`` (ascending, paged); each activity id is the
  fill id, so a report seen twice or out of order is applied once by the order manager.
  ``on_bar`` returns the fills since the last poll (a live venue's "stream").
- ``positions``: ``GET /v2/positions``, signed quantities; ``balance``: ``GET /v2/account``.

Credentials go in headers only; no message, log line or exception carries them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from tradeloop.domain.enums import OrderType
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

ENDPOINTS = {"paper": "https://paper-api.alpaca.markets", "real": "https://api.alpaca.markets"}
STATES = {
    "new": OrderState.ACCEPTED,
    "accepted": OrderState.ACCEPTED,
    "pending_new": OrderState.ACCEPTED,
    "accepted_for_bidding": OrderState.ACCEPTED,
    "pending_cancel": OrderState.ACCEPTED,
    "pending_replace": OrderState.ACCEPTED,
    "done_for_day": OrderState.ACCEPTED,
    "calculated": OrderState.ACCEPTED,
    "stopped": OrderState.ACCEPTED,
    "suspended": OrderState.ACCEPTED,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "replaced": OrderState.CANCELED,
    "expired": OrderState.EXPIRED,
    "rejected": OrderState.REJECTED,
}
DUPLICATE_ID = "client_order_id must be unique"


class AlpacaVenue:
    """The Alpaca Trading API as the engine's venue."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: str,
        *,
        timeout_s: float = 10.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            headers={"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key},
            timeout=timeout_s,
            transport=transport,
            follow_redirects=False,
        )
        self._attempts = attempts
        self._sleep = sleep
        self._client_ids: dict[str, str] = {}  # Alpaca order id -> our client order id
        self._fills_after: str | None = None  # activity id of the last fill polled

    def __repr__(self) -> str:  # never the credentials
        return f"AlpacaVenue({self._client.base_url})"

    def close(self) -> None:
        self._client.close()

    # -- transport ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call with retries on 429 / 5xx; VenueUnavailable when it never answers."""
        problem = "no attempt"
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                raise VenueUnavailable(f"alpaca {method} {path}: timed out") from None
            except httpx.TransportError as exc:
                raise VenueUnavailable(
                    f"alpaca {method} {path}: connection failed ({type(exc).__name__}). Fix: "
                    "check EXCHANGE_BASE_URL and the network, or retry when the broker is up"
                ) from None
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                if attempt < self._attempts:
                    wait = response.headers.get("Retry-After")
                    delay = float(wait) if wait and wait.isdigit() else 0.5 * 2 ** (attempt - 1)
                    self._sleep(min(delay, 30.0))
                continue
            return response
        raise VenueUnavailable(f"alpaca {method} {path}: {problem} after {self._attempts} tries")

    # -- gateway --------------------------------------------------------------------------

    def send(self, order: SubmitOrder) -> str:
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "qty": str(order.quantity),
            "side": order.side.value.lower(),
            "type": order.order_type.value.lower(),
            "time_in_force": order.time_in_force.value.lower(),
            "client_order_id": order.client_order_id,
        }
        if order.order_type is OrderType.LIMIT:
            body["limit_price"] = str(order.limit_price)
        if order.order_type is OrderType.STOP:
            body["stop_price"] = str(order.stop_price)
        response = self._request("POST", "/v2/orders", json=body)
        if response.status_code in (200, 201):
            return str(self._remember(response.json())["id"])
        reason = _error(response)
        if DUPLICATE_ID in reason:
            known = self.query(order.client_order_id)  # it reached Alpaca before
            if known is not None:
                return known.venue_order_id
            raise VenueUnavailable(f"alpaca: {order.client_order_id} is a duplicate, not found")
        if response.status_code in (400, 401, 403, 404, 422):
            raise VenueRejection(reason)
        raise VenueUnavailable(f"alpaca: unexpected HTTP {response.status_code}: {reason}")

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        response = self._request(
            "GET", "/v2/orders:by_client_order_id", params={"client_order_id": client_order_id}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise VenueUnavailable(f"alpaca order query: {_error(response)}")
        return _status(self._remember(response.json()))

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        status = self.query(client_order_id)
        if status is None or status.state not in (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED):
            return status
        response = self._request("DELETE", f"/v2/orders/{status.venue_order_id}")
        if response.status_code not in (200, 204, 422):  # 422: no longer cancelable
            raise VenueUnavailable(f"alpaca cancel: {_error(response)}")
        return self.query(client_order_id)

    def open_orders(self) -> list[VenueOrderStatus]:
        response = self._request("GET", "/v2/orders", params={"status": "open", "limit": 500})
        if response.status_code != 200:
            raise VenueUnavailable(f"alpaca open orders: {_error(response)}")
        return [_status(self._remember(o)) for o in response.json()]

    def positions(self) -> dict[str, Decimal]:
        response = self._request("GET", "/v2/positions")
        if response.status_code != 200:
            raise VenueUnavailable(f"alpaca positions: {_error(response)}")
        return {p["symbol"]: Decimal(str(p["qty"])) for p in response.json()}

    def balance(self) -> Decimal:
        """The account's equity (``GET /v2/account``)."""
        response = self._request("GET", "/v2/account")
        if response.status_code != 200:
            raise VenueUnavailable(f"alpaca account: {_error(response)}")
        return Decimal(str(response.json()["equity"]))

    def available_cash(self) -> Decimal:
        """Cash the account can spend (``GET /v2/account`` ``cash``): the live pre-flight."""
        response = self._request("GET", "/v2/account")
        if response.status_code != 200:
            raise VenueUnavailable(f"alpaca account: {_error(response)}")
        body = response.json()
        return Decimal(str(body.get("cash", body["equity"])))

    # -- fills ----------------------------------------------------------------------------

    def _activities(self, after: str | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"direction": "asc", "page_size": 100}
        rows: list[dict[str, Any]] = []
        token = after
        while True:
            if token is not None:
                params["page_token"] = token
            response = self._request("GET", "/v2/account/activities/FILL", params=params)
            if response.status_code != 200:
                raise VenueUnavailable(f"alpaca fill activities: {_error(response)}")
            page = response.json()
            rows.extend(page)
            if len(page) < params["page_size"]:
                return rows
            token = page[-1]["id"]

    def _fill(self, activity: dict[str, Any]) -> VenueFill | None:
        order_id = activity["order_id"]
        client_id = self._client_ids.get(order_id)
        if client_id is None:
            response = self._request("GET", f"/v2/orders/{order_id}")
            if response.status_code != 200:
                log.warning("alpaca fill %s: order %s unknown", activity["id"], order_id)
                return None
            client_id = self._remember(response.json())["client_order_id"]
        return VenueFill(
            fill_id=str(activity["id"]),
            client_order_id=client_id,
            quantity=Decimal(str(activity["qty"])),
            price=Decimal(str(activity["price"])),
            commission=Decimal(0),  # Alpaca equities: commission-free
            ts_event=_ns(activity["transaction_time"]),
        )

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        status = self.query(client_order_id)
        if status is None:
            return []
        fills = [self._fill(a) for a in self._activities(None)]
        return [f for f in fills if f is not None and f.client_order_id == client_order_id]

    def on_bar(self, bar: BarView) -> list[VenueFill | VenueOrderStatus]:
        """The fills reported since the last poll (the bar only paces the polling)."""
        activities = self._activities(self._fills_after)
        if activities:
            self._fills_after = activities[-1]["id"]
        return [f for f in (self._fill(a) for a in activities) if f is not None]

    def _remember(self, order: dict[str, Any]) -> dict[str, Any]:
        self._client_ids[order["id"]] = order["client_order_id"]
        return order


def _status(order: dict[str, Any]) -> VenueOrderStatus:
    state = STATES.get(order["status"])
    if state is None:
        log.warning("alpaca order %s: unknown status %r", order["id"], order["status"])
        state = OrderState.ACCEPTED
    return VenueOrderStatus(
        client_order_id=order["client_order_id"],
        state=state,
        filled_quantity=Decimal(str(order.get("filled_qty") or 0)),
        venue_order_id=order["id"],
        reason=order["status"],
    )


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
        text = f"HTTP {response.status_code} code {body.get('code')}: {body.get('message')}"
    except ValueError:
        text = f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code in (401, 403):
        text += (
            ". Fix: check ALPACA_API_KEY_ID / ALPACA_API_SECRET_KEY and EXCHANGE_MODE (paper "
            "keys work only against paper, live keys only against live)"
        )
    return text


def _ns(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1e9)
