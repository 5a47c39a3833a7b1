"""Is a service up? A GET of its ``/health`` on loopback with a short timeout."""

from __future__ import annotations

import httpx


def reachable(url: str, timeout_s: float = 1.0) -> bool:
    """True when ``url`` answers 2xx in time (any error, refusal or timeout: False)."""
    try:
        return httpx.get(url, timeout=timeout_s).is_success
    except httpx.HTTPError:
        return False


def service_urls(**services: tuple[str, int]) -> dict[str, str]:
    """``name=(host, port)`` -> the service's /health URL (a wildcard bind is probed on
    loopback)."""

    def local(host: str) -> str:
        return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104

    return {name: f"http://{local(host)}:{port}/health" for name, (host, port) in services.items()}


def probe(urls: dict[str, str], timeout_s: float = 1.0) -> dict[str, bool]:
    return {name: reachable(url, timeout_s) for name, url in urls.items()}
