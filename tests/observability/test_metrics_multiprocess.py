"""Multiprocess metrics: the counts of several worker processes add up in any worker's scrape."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.test_serve_process import _free_port, _get_health, _server, _stop
from tests.observability.metrics_helpers import value

ROOT = Path(__file__).parents[2]
ROUTE = {"route": "/api/v1/notes/{note_id}", "method": "GET", "status": "200"}
TIMEOUT = 120


def _worker(requests: int, directory: Path) -> str:
    """Run one worker process serving `requests` requests; its output."""
    environment = {
        **os.environ,
        "BASTION_ENVIRONMENT": "test",
        "BASTION_CONFIGURE_LOGGING": "false",
        "BASTION_DATABASE_URL": "sqlite+aiosqlite:///:memory:",
        "BASTION_METRICS_DIR": str(directory),
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(  # noqa: S603 - the tests' own command
        [sys.executable, "-m", "tests.observability.multiprocess_app", str(requests)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_worker_processes_counts_add_up_in_one_scrape(tmp_path: Path) -> None:
    _worker(3, tmp_path)
    _worker(5, tmp_path)
    text = _worker(0, tmp_path)
    assert value(text, "http_requests_total", **ROUTE) == 8
    assert value(text, "http_request_duration_seconds_count", **ROUTE) == 8
    # The workers that exited are no longer in flight, nor is the scrape itself.
    assert value(text, "http_requests_in_flight") == 0


def test_bastion_serve_workers_share_one_metrics_directory(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    port = _free_port()
    command = [sys.executable, "-m", "bastion.cli", "serve", "--app-dir", str(ROOT)]
    command += ["tests.observability.multiprocess_app:app", "--port", str(port), "--workers", "2"]
    with _server(
        command,
        tmp_path,
        BASTION_METRICS_DIR=str(directory),
        BASTION_DATABASE_URL="sqlite+aiosqlite:///:memory:",
    ) as (process, log):
        _get_health(process, port, log)
        # Fresh connections, so the kernel spreads them over both workers.
        for _ in range(20):
            response = httpx.get(f"http://127.0.0.1:{port}/api/v1/notes/7", timeout=10)
            assert response.status_code == 200
        writers = {path.name.rsplit("_", 1)[-1] for path in directory.glob("counter_*.db")}
        deadline = time.monotonic() + TIMEOUT
        scrapes = []
        while time.monotonic() < deadline and len(scrapes) < 6:
            scrapes.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        assert _stop(process, log) == 0
    # Every scrape, whichever worker answered it, counts all 20 requests.
    assert [value(text, "http_requests_total", **ROUTE) for text in scrapes] == [20.0] * 6
    assert writers, "no worker wrote its counters to the directory"
