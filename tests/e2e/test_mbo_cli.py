"""`tradeloop mbo` as a user runs it: the book of the bundled ES day at a moment, import
into the lake (twice: once), and a wrong file refused with exit 2 and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "src" / "tradeloop" / "data" / "mbo"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_mbo_book_and_import_when_run_then_the_book_and_one_copy_in_the_lake(
    tmp_path: Path,
) -> None:
    # a fresh machine: no database, nothing imported (the bundled day is read)
    shown = _run(tmp_path, "mbo", "book", "--at", "2023-12-26T00:00:00Z", "--depth", "3", "--json")
    assert shown.returncode == 0, shown.stderr
    book = json.loads(shown.stdout)
    assert book["instrument"] == "ESH4"
    assert book["events_applied"] == 68_792
    assert book["bids"][0] == {"price": 4810.0, "size": 22, "orders": 22}
    assert book["asks"][0] == {"price": 4810.25, "size": 28, "orders": 18}
    assert book["anomalies"] == {}
    assert not (tmp_path / "var" / "tradeloop.db").exists()  # MBO commands need no database

    day = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    first = _run(tmp_path, "mbo", "import", str(day), "--json")
    again = _run(tmp_path, "mbo", "import", str(day), "--json")
    assert first.returncode == again.returncode == 0, first.stderr
    assert json.loads(first.stdout)["files"][0]["imported"] is True
    assert json.loads(again.stdout)["files"][0]["imported"] is False

    wrong = _run(tmp_path, "mbo", "import", str(DATA / "XNAS.ITCH.mbp-10.dbn.zst"))
    assert wrong.returncode == 2
    assert "holds mbp-10 records, not MBO" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    raw = tmp_path / "var" / "lake" / "raw" / "source=databento"
    assert sorted(p.name for p in raw.rglob("*.zst")) == [day.name]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_stream_when_started_then_a_client_gets_config_and_bins(tmp_path: Path) -> None:
    import asyncio
    import urllib.request

    import pyarrow as pa
    import websockets

    from tradeloop.testing.waiting import wait_until

    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    environment["TRADELOOP_HOME"] = str(tmp_path / "var")
    server = subprocess.Popen(
        [sys.executable, "-m", "tradeloop.cli", "serve", "stream", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/stream/health") as answer:
                return json.loads(answer.read())["instrument"] == "ESH4"
        except OSError:
            return False

    async def client() -> list[object]:
        url = f"ws://127.0.0.1:{port}/v1/stream?speed=max&from=2023-12-25T23:00:00Z"
        async with websockets.connect(url, max_size=None) as ws:
            return [await ws.recv() for _ in range(7)]

    try:
        wait_until(healthy, "the stream answering", alive=lambda: server.poll() is None)
        messages = asyncio.run(client())
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert json.loads(messages[0])["type"] == "runtime_config"  # type: ignore[arg-type]
    header = json.loads(messages[1])  # type: ignore[arg-type]
    assert header["type"] == "grid_update"
    table = pa.ipc.open_stream(messages[2]).read_all()
    assert table.num_rows == 81  # the instrument file's 40 ticks either side
    assert f"stream of ESH4 on ws://127.0.0.1:{port}/v1/stream" in stderr
    assert "Traceback" not in stderr

    outside = _run(tmp_path, "serve", "stream", "--host", "0.0.0.0")
    assert outside.returncode == 2
    assert "binding beyond loopback needs TRADELOOP_API_TOKEN" in outside.stderr


def test_mbo_replay_when_paced_then_one_line_per_bin_of_the_range(tmp_path: Path) -> None:
    paced = _run(
        tmp_path, "mbo", "replay", "--from", "2023-12-25T23:00:00Z",
        "--to", "2023-12-25T23:00:00.500Z", "--speed", "10", "--json",
    )  # fmt: skip
    assert paced.returncode == 0, paced.stderr
    lines = [json.loads(line) for line in paced.stdout.splitlines()]
    assert [line["bin_end_ns"] for line in lines] == [
        1703545200_000_000_000 + 100_000_000 * k for k in range(1, 6)
    ]
    assert lines[1]["add_qty"] == 539
    bad = _run(tmp_path, "mbo", "replay", "--speed", "fast")
    assert bad.returncode == 2
    assert "speed 'fast': not a replay speed" in bad.stderr


def test_research_when_run_from_a_project_then_validate_generate_run_compare(
    tmp_path: Path,
) -> None:
    import shutil

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "research" / "configs", tmp_path / "research" / "configs")
    shutil.copytree(root / "config" / "instruments", tmp_path / "config" / "instruments")
    pipeline = tmp_path / "research" / "configs" / "pipelines" / "es_evening.yaml"
    pipeline.write_text(
        pipeline.read_text().replace("2023-12-26T00:00:00Z", "2023-12-25T23:10:00Z")
    )

    valid = _run(tmp_path, "research", "validate-configs")
    assert valid.returncode == 0, valid.stderr
    ran = _run(tmp_path, "research", "run", "--experiment", "es_ema_random", "--json")
    assert ran.returncode == 0, ran.stderr
    runs = json.loads(ran.stdout)["runs"]
    assert len(runs) == 16
    generated = _run(tmp_path, "research", "generate", "--pipeline", "es_evening", "--json")
    assert json.loads(generated.stdout)["created"] is False  # run made it already
    compared = _run(tmp_path, "research", "compare", runs[0]["run_id"][:8], runs[1]["run_id"][:8])
    assert compared.returncode == 0, compared.stderr
    assert "total_pnl_ticks" in compared.stdout

    serving = tmp_path / "research" / "configs" / "serving" / "es_ema.yaml"
    serving.write_text(serving.read_text().replace("pipeline: es_evening", "pipeline: es_night"))
    broken = _run(tmp_path, "research", "validate-configs")
    assert broken.returncode == 1
    assert "serving/es_ema.yaml:4: pipeline: 'es_night' is not in" in broken.stderr
    assert "Traceback" not in broken.stderr
    refused = _run(tmp_path, "research", "run", "--experiment", "es_ema_random")
    assert refused.returncode == 2
    assert "es_ema.yaml:4: pipeline" in refused.stderr


def test_gold_dsl_when_written_validated_and_broken_then_exit_codes_say_so(
    tmp_path: Path,
) -> None:
    written = _run(tmp_path, "research", "gold-dsl")
    assert written.returncode == 0, written.stderr
    dsl = tmp_path / "vp.yaml"
    dsl.write_text(written.stdout)
    valid = _run(tmp_path, "research", "gold-validate", str(dsl))
    assert valid.returncode == 0, valid.stderr
    assert "valid, 23 nodes" in " ".join(valid.stdout.split())
    dsl.write_text(written.stdout.replace("input: composite\n", "input: d3\n", 1))
    cycle = _run(tmp_path, "research", "gold-validate", str(dsl))
    assert cycle.returncode == 2
    assert "a cycle among nodes d1, d2, d3" in " ".join(cycle.stderr.split())
    assert "Traceback" not in cycle.stderr
