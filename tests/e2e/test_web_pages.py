"""The browser desk in Debian's Chromium (Playwright), against a real ``tradeloop serve
api`` on a project with a paper account, the real ESH4 session imported and the research
configs: every page loads with no console error, at 1280x800 and at phone width without
sideways scrolling; the heatmap draws from a short replay; a job's progress arrives over
SSE and a cancel stops another; the studio refuses a skipped step; halt without the token
is refused and with it turns the kill switch on, shown on the desk; rollback repoints a
serving alias. Screenshots of each page go to var/screenshots/ (docs/ui.md)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tradeloop.testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "web-e2e-token-0123456789abcdef0123456789"
PINNED = "2026-06-03T18:00:05Z"
CLI = [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED]
PAGES = ("desk", "stream", "experiments", "jobs", "studio", "serving")
SHOTS = ROOT / "var" / "screenshots"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="make test installs chromium")


def _environment(root: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    return environment | {"TRADELOOP_HOME": str(root / "var"), "TRADELOOP_API_TOKEN": TOKEN}


def _run(root: Path, *args: str) -> str:
    done = subprocess.run([*CLI, *args], cwd=root, env=_environment(root), capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("desk")
    shutil.copytree(ROOT / "research" / "configs", root / "research" / "configs")
    shutil.copytree(ROOT / "config" / "instruments", root / "config" / "instruments")
    pipeline = root / "research" / "configs" / "pipelines" / "es_evening.yaml"
    pipeline.write_text(
        pipeline.read_text().replace("2023-12-26T00:00:00Z", "2023-12-25T23:10:00Z")
    )
    _run(root, "mbo", "import", str(DAY))
    _run(
        root,
        "ingest",
        "--offline",
        "--tickers",
        "AAPL",
        "--start",
        "2019-01-01",
        "--end",
        "2024-06-28",
    )
    window = ("--start", "2024-01-01", "--end", "2024-06-28")
    _run(root, "run", "--mode", "paper", "--tickers", "AAPL", *window, "--account", "desk1",
         "--run-once", "--fast", "5", "--slow", "20")  # fmt: skip
    _run(root, "mode", "promote", "--account", "desk1", "--to", "paper", "--force", "--reason",
         "web test")  # fmt: skip
    _run(root, "rollout", "set", "--mode", "canary", "--fraction", "0.05", "--reason", "web test")
    runs = json.loads(_run(root, "research", "run", "--experiment", "es_composite_sweep", "--json"))
    for run in sorted(runs["runs"], key=lambda r: -r["trades"])[:2]:  # two versions to roll back
        _run(root, "research", "promote", run["run_id"], "--alias", "web")
    port = _free_port()
    process = subprocess.Popen([*CLI, "serve", "api", "--port", str(port)], cwd=root,
                               env=_environment(root), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, "the control api answering", alive=lambda: process.poll() is None)
        yield f"http://127.0.0.1:{port}", root
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield chromium
        chromium.close()


def _page(browser: Any, width: int = 1280, height: int = 800) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _with_token(page: Any) -> None:
    page.evaluate(f"sessionStorage.setItem('tradeloop.token', '{TOKEN}')")


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_when_opened_then_no_console_error_and_no_sideways_scroll(
    server: tuple[str, Path], browser: Any, width: int
) -> None:
    base, _ = server
    page, errors = _page(browser, width, 800 if width > 400 else 844)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        page.goto(f"{base}/ui/#/{name}")
        page.wait_for_selector("section.card h2")
        page.wait_for_load_state("networkidle") if name != "stream" else None
        assert not page.query_selector(".card.error"), page.inner_text("main")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} at {width}px scrolls sideways by {overflow}px"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.close()
    assert errors == []


def test_stream_when_replayed_then_the_heatmap_draws_and_gauges_move(
    server: tuple[str, Path], browser: Any
) -> None:
    base, _ = server
    page, errors = _page(browser)
    page.goto(f"{base}/ui/#/stream?speed=max&from=2023-12-25T23:00:00Z")
    page.wait_for_function("window.tradeloopStream && window.tradeloopStream.drawn > 200")
    lit = page.evaluate("window.tradeloopStream.heatmap.litShare()")
    assert lit > 0.01
    candles = page.evaluate(
        """() => { const c = document.querySelector('canvas.candles');
           const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 40 || d[i + 1] > 40) n++;
           return n; }"""
    )
    assert candles > 50  # 1 s candles of the mid under the heatmap
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "stream-replay-1280.png"))
    assert page.get_attribute("[aria-label=composite]", "aria-valuenow") is not None
    page.click("#pause")
    drawn = page.evaluate("window.tradeloopStream.drawn")
    page.wait_for_function(f"window.tradeloopStream.bins > {drawn} + 50")
    assert page.evaluate("window.tradeloopStream.drawn") == drawn  # paused: bins arrive, none drawn
    # a published serving's overlays: listed, and the line drawn over the heatmap
    page.goto(f"{base}/ui/#/stream?serving=web&speed=max&from=2023-12-25T23:00:00Z")
    page.reload()
    page.wait_for_function("window.tradeloopStream && window.tradeloopStream.drawn > 200")
    assert page.locator("ul.overlays li").count() == 3
    painted = page.evaluate(
        """() => { const c = document.querySelector('canvas.overlay-layer');
           const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 100
    page.close()
    assert errors == []


def test_jobs_when_submitted_then_progress_over_sse_and_cancel_stops_one(
    server: tuple[str, Path], browser: Any
) -> None:
    base, _ = server
    page, errors = _page(browser)
    page.goto(f"{base}/ui/#/jobs")
    _with_token(page)
    page.click("#submit-job")
    first = page.wait_for_selector(".job[data-job]")
    job_id = first.get_attribute("data-job")
    page.wait_for_selector(f'.job[data-job="{job_id}"] .state.done', timeout=120_000)
    assert page.inner_text(f'.job[data-job="{job_id}"] .count') == "24/24"
    assert page.query_selector(f'.job[data-job="{job_id}"] a[download="results.json"]')
    page.fill("#experiment", "es_lgbm_thresholds")  # LightGBM per point: seconds, not ms
    page.click("#submit-job")
    page.wait_for_function("document.querySelectorAll('.job[data-job]').length >= 2")
    newest = page.query_selector_all(".job[data-job]")[0]
    other = newest.get_attribute("data-job")
    assert other != job_id
    newest.query_selector("button.danger").click()
    page.wait_for_selector(f'.job[data-job="{other}"] .state.cancelled', timeout=120_000)
    page.close()
    assert errors == []


def test_studio_when_a_step_is_skipped_then_refused(server: tuple[str, Path], browser: Any) -> None:
    base, _ = server
    page, errors = _page(browser)
    page.goto(f"{base}/ui/#/studio")
    _with_token(page)
    page.fill("#session-name", "web-wizard")
    page.click("#create-session")
    page.wait_for_selector('li.step[data-state="open"] [data-commit="dataset"]')
    assert page.is_disabled('[data-commit="gold"]')
    assert page.is_disabled('[data-commit="promotion"]')
    status = page.evaluate(
        """async () => { const id = document.querySelector('#session').value;
           const r = await fetch(`/v1/modeling/sessions/${id}/steps/gold`, {method: 'POST',
             headers: {'content-type': 'application/json', authorization: 'Bearer ' +
             sessionStorage.getItem('tradeloop.token')}, body: '{"gold": {}}'});
           return r.status; }"""
    )
    assert status == 409
    page.click('[data-commit="dataset"]')
    page.wait_for_selector('li.step[data-state="committed"] [data-commit="dataset"]')
    assert not page.is_disabled('[data-commit="gold"]')
    page.close()
    assert [e for e in errors if "409 (Conflict)" not in e] == []  # the refusal asked above


def test_desk_when_halted_without_then_with_the_token(
    server: tuple[str, Path], browser: Any
) -> None:
    base, root = server
    page, errors = _page(browser)
    page.on("dialog", lambda d: d.dismiss() if d.type == "prompt" else d.accept())
    page.goto(f"{base}/ui/#/desk")
    page.wait_for_selector("#kill-state")
    assert page.inner_text("#kill-state") == "trading allowed"
    assert "paper/desk1" in page.inner_text("main")
    exposure = page.inner_text("#exposure")
    assert "desk1" in exposure
    assert "paper" in exposure
    assert page.inner_text("#routing").startswith("routing canary venue share 5.0%")
    page.fill("#halt-reason", "web test")
    page.click("#halt")
    page.wait_for_selector("#toast.show.error")
    assert not (root / "var" / "KILL_SWITCH").exists()
    _with_token(page)
    page.click("#halt")
    page.wait_for_function("document.querySelector('#kill-state').textContent === 'KILL SWITCH ON'")
    assert (root / "var" / "KILL_SWITCH").exists()
    page.click("#resume")
    page.wait_for_function(
        "document.querySelector('#kill-state').textContent === 'trading allowed'"
    )
    page.close()
    assert [e for e in errors if "401" not in e] == []


def test_serving_when_rolled_back_then_the_alias_points_at_the_older_version(
    server: tuple[str, Path], browser: Any
) -> None:
    base, _ = server
    page, errors = _page(browser)
    versions = httpx.get(f"{base}/v1/serving/versions").json()["versions"]
    older = versions[0]["serving_id"]
    page.on("dialog", lambda d: d.accept("roll back in the web test"))
    page.goto(f"{base}/ui/#/serving")
    _with_token(page)
    page.select_option('select[data-alias="web"]', older)
    page.click('[data-activate="web"]')
    page.wait_for_function(
        f"document.querySelector('[data-current=web]')?.textContent === '{older}'"
    )
    assert httpx.get(f"{base}/v1/serving/aliases").json()["aliases"]["web"] == older
    page.close()
    assert errors == []


def test_pages_when_driven_by_keyboard_then_navigation_and_sorting_work(
    server: tuple[str, Path], browser: Any
) -> None:
    base, _ = server
    page, errors = _page(browser)
    page.goto(f"{base}/ui/#/desk")
    page.wait_for_selector("#kill-state")
    page.wait_for_selector("#account-detail h3")
    for _ in range(10):  # back from the page to the header: token, then the nav links
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement?.dataset?.page") == "experiments":
            break
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#/experiments'")
    page.wait_for_selector("th")
    page.focus("th:nth-child(4)")  # trades
    page.keyboard.press("Enter")
    assert page.get_attribute("th:nth-child(4)", "aria-sort") == "ascending"
    page.close()
    assert errors == []
