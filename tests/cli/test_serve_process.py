"""Real servers: `bastion serve` (and the documented gunicorn worker) answer, then stop on SIGTERM.

Each test starts a server process on 127.0.0.1, bounds every wait, and kills the
process group in `finally` whatever happened.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

SNIPPETS = Path(__file__).parents[2] / "docs" / "snippets"
HEALTHCHECK = Path(__file__).parents[2] / "deploy" / "healthcheck.py"
# Generous: workers import the app and calibrate password hashing on a shared, loaded machine.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(
    command: list[str], cwd: Path, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Run `command` in its own process group, its output in a log file."""
    log = cwd / "server.log"
    environment = {
        **os.environ,
        "BASTION_ENVIRONMENT": "test",
        "BASTION_LOG_JSON": "false",
        **env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - the tests' own commands
            command,
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, log
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _get_health(process: subprocess.Popen[bytes], port: int, log: Path) -> httpx.Response:
    """GET /health once the server answers (bounded)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited:\n{log.read_text()}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"no answer on /health:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes], log: Path) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after SIGTERM:\n{log.read_text()}") from None


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{log.read_text()}"
        assert process.poll() is None, f"the server exited:\n{log.read_text()}"
        time.sleep(0.05)


def _refuses_connections(port: int) -> bool:
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


def _read_until_closed(connection: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _healthcheck(path: str, port: int) -> int:
    """The image's health check script, run as the container runs it."""
    environment = {**os.environ, "PORT": str(port)}
    command = [sys.executable, str(HEALTHCHECK), path]
    return subprocess.run(command, env=environment, timeout=STOP_TIMEOUT, check=False).returncode  # noqa: S603


def test_bastion_serve_answers_without_a_server_header_and_exits_0_on_sigterm(
    tmp_path: Path,
) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "bastion.cli", "serve", "notes_app.main:app"]
    with _server([*command, "--port", str(port)], tmp_path) as (process, log):
        health = _get_health(process, port, log)
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        assert "server" not in health.headers
        assert "x-request-id" in health.headers
        assert _healthcheck("/health", port) == 0
        assert _healthcheck("/ready", port) == 0
        assert _healthcheck("/nowhere", port) == 1
        assert _stop(process, log) == 0
    assert "Shutting down" in log.read_text()
    assert _healthcheck("/health", port) == 1


def test_a_request_in_flight_at_sigterm_completes_before_the_server_exits(
    tmp_path: Path,
) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "bastion.cli", "serve", "notes_app.main:app"]
    body = b'{"title": "in flight", "body": "sent in two parts"}'
    head = (
        f"POST /api/v1/notes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    with _server([*command, "--port", str(port), "--workers", "1"], tmp_path) as (process, log):
        _get_health(process, port, log)
        with socket.create_connection(("127.0.0.1", port), timeout=STOP_TIMEOUT) as request:
            request.sendall(head)
            # `100 Continue` comes when the app asks for the body: the request is under way.
            assert request.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
            process.send_signal(signal.SIGTERM)
            _wait_for_line(log, "Shutting down", process)
            assert _refuses_connections(port), "new connections are still accepted"
            request.sendall(body)
            response = _read_until_closed(request)
        assert process.wait(timeout=STOP_TIMEOUT) == 0
    status, _, rest = response.partition(b"\r\n")
    assert status == b"HTTP/1.1 401 Unauthorized"
    assert b'"error"' in rest  # the whole response, then the server closed the connection


def test_the_documented_gunicorn_worker_answers_without_a_server_header(
    tmp_path: Path,
) -> None:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "notes_app.main:app",
        "--worker-class",
        "gunicorn_worker.BastionUvicornWorker",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--graceful-timeout",
        "35",
    ]
    with _server(command, tmp_path, PYTHONPATH=str(SNIPPETS)) as (process, log):
        health = _get_health(process, port, log)
        assert health.status_code == 200
        assert "server" not in health.headers
        assert _stop(process, log) == 0


def test_several_workers_on_in_memory_rate_limits_are_warned_of_in_production(
    tmp_path: Path,
) -> None:
    # Each worker counts its own budget: the warning needs the worker count, which
    # `bastion serve` announces to its workers as uvicorn and gunicorn do.
    (tmp_path / "prod_app.py").write_text(
        "from bastion import create_app\n"
        "from bastion.core import BastionSettings\n"
        "app = create_app(BastionSettings())\n"
    )
    port = _free_port()
    command = [sys.executable, "-m", "bastion.cli", "serve", "prod_app:app", "--workers", "2"]
    environment = {
        "BASTION_ENVIRONMENT": "production",
        "BASTION_SECRET_KEY": secrets.token_urlsafe(48),
        "BASTION_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
        "BASTION_REDIS_URL": "",
        "WEB_CONCURRENCY": "",
    }
    serve = [*command, "--port", str(port), "--app-dir", str(tmp_path)]
    with _server(serve, tmp_path, **environment) as (process, log):
        assert _get_health(process, port, log).status_code == 200
        _wait_for_line(log, "rate limits are counted in process memory while 2 workers", process)
        assert _stop(process, log) == 0
