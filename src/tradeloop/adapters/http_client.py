"""A JSON-over-HTTP client for provider adapters: retries, backoff, rate limits, errors.

- 400/401/403: :class:`EntitlementError` at once (never retried).
- 404 and other 4xx, malformed JSON: :class:`DataError` (retrying will not help).
- 429, 5xx, timeouts, connection errors: retried with bounded exponential backoff and
  full jitter, honouring ``Retry-After``; when attempts run out, :class:`RetryableError`
  (the outcome is unknown, never "rejected").
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tradeloop.core.errors import DataError, EntitlementError, RetryableError
from tradeloop.data.config import RetryConfig

MAX_RETRY_AFTER_S = 120.0


def backoff_delay_s(
    attempt: int, retry: RetryConfig, rng: random.Random, retry_after_s: float | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based)."""
    ceiling = min(retry.max_delay_ms, retry.base_delay_ms * 2 ** (attempt - 1)) / 1000
    jittered = rng.uniform(ceiling / 2, ceiling)
    if retry_after_s is not None:
        return max(retry_after_s, jittered)
    return jittered


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now_s)
    except (TypeError, ValueError):
        return None


class RateLimiter:
    """At most ``per_minute`` acquisitions in any 60-second window (sliding log)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._stamps: list[float] = []
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._stamps = [stamp for stamp in self._stamps if now - stamp < 60.0]
            if len(self._stamps) >= self.per_minute:
                wait = 60.0 - (now - self._stamps[0])
                self._sleep(wait)
                now = self._clock()
                self._stamps = [stamp for stamp in self._stamps if now - stamp < 60.0]
            self._stamps.append(now)


class HttpJsonClient:
    """GET JSON from one provider with its retry policy and rate limit."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        retry: RetryConfig,
        rate_per_minute: int,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._limiter = RateLimiter(rate_per_minute, sleep=sleep)
        self._client = httpx.Client(
            base_url=base_url,
            headers=headers or {},
            timeout=retry.timeout_ms / 1000,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """The decoded JSON body of ``GET url``; errors as described in the module doc."""
        last_problem = "no attempt made"
        for attempt in range(1, self.retry.max_attempts + 1):
            self._limiter.acquire()
            retry_after: float | None = None
            try:
                response = self._client.get(url, params=params)
            except httpx.TimeoutException:
                last_problem = f"timed out after {self.retry.timeout_ms} ms"
            except httpx.TransportError as exc:
                last_problem = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                status = response.status_code
                if status in (400, 401, 403):
                    raise EntitlementError(
                        f"{self.provider}: HTTP {status} for {response.url.path} "
                        f"({_snippet(response)}); not retried. Fix: check the "
                        f"{self.provider.upper()}_ENABLED flag, credentials and plan."
                    )
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(
                        response.headers.get("Retry-After"), time.time()
                    )
                    last_problem = f"HTTP {status} ({_snippet(response)})"
                    if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
                        raise RetryableError(
                            f"{self.provider}: HTTP {status}, Retry-After {retry_after:.0f} s "
                            f"exceeds {MAX_RETRY_AFTER_S:.0f} s; try again later"
                        )
                elif status >= 400:
                    raise DataError(
                        f"{self.provider}: HTTP {status} for {response.url.path} "
                        f"({_snippet(response)})"
                    )
                else:
                    try:
                        return json.loads(response.content, parse_constant=_nan_as_none)
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise DataError(
                            f"{self.provider}: malformed JSON from {response.url.path} ({exc})"
                        ) from None
            if attempt < self.retry.max_attempts:
                self._sleep(backoff_delay_s(attempt, self.retry, self._rng, retry_after))
        raise RetryableError(
            f"{self.provider}: gave up after {self.retry.max_attempts} attempts: {last_problem}"
        )


def _nan_as_none(_name: str) -> None:
    # NaN/Infinity in a payload is a missing value; validation then decides.
    return None


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return (text[:160] + "…") if len(text) > 160 else (text or "empty body")
