"""Graceful shutdown, measured: a request in flight when SIGTERM lands completes.

Starts `bastion serve notes_app.main:app` as the image does (1 and 2 workers), opens a
request whose body is still on its way (`Expect: 100-continue`, then HOLD seconds of
silence), sends SIGTERM, sends the body, and prints how long after SIGTERM the response
came, its status, how long the server took to exit after it, its exit status, and what a
new connection met meanwhile. 127.0.0.1 only; every wait is bounded; the server's
process group is killed at the end whatever happened.

`python -m bench shutdown` (development settings, in-memory SQLite unless
BASTION_DATABASE_URL is set).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

HOLD = 5.0
TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            if probe.recv(16).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def _new_connection(port: int) -> str:
    """What a client connecting during the shutdown meets."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = probe.recv(16)
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:  # accepted by the kernel, then dropped or never answered
        return f"no answer ({type(exc).__name__})"
    return "served" if answer else "closed unanswered"


def _run(workers: int) -> None:
    port = _free_port()
    body = b'{"title": "in flight", "body": "sent after SIGTERM"}'
    head = (
        f"POST /api/v1/notes HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    command = [sys.executable, "-m", "bastion.cli", "serve", "notes_app.main:app"]
    command += ["--port", str(port), "--workers", str(workers)]
    environment = {**os.environ, "BASTION_LOG_LEVEL": "WARNING"}
    environment.setdefault("BASTION_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=Path(directory), env=environment, start_new_session=True
        )
        try:
            _wait_until_listening(port, process)
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as request:
                request.sendall(head)
                if request.recv(64) != b"HTTP/1.1 100 Continue\r\n\r\n":
                    raise RuntimeError("the app did not ask for the body")
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                time.sleep(1.0)
                meanwhile = _new_connection(port)
                time.sleep(max(0.0, HOLD - (time.monotonic() - started)))
                request.sendall(body)
                response = b""
                while chunk := request.recv(65536):
                    response += chunk
                answered = time.monotonic()
            status = process.wait(timeout=TIMEOUT)
            exited = time.monotonic()
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=TIMEOUT)
    print(
        f"{workers} worker(s): response {response.split(b' ', 2)[1].decode()} "
        f"{answered - started:.2f} s after SIGTERM (body held {HOLD:.0f} s); "
        f"exit status {status} {exited - answered:.2f} s later; "
        f"a new connection meanwhile: {meanwhile}"
    )


def main() -> None:
    for workers in (1, 2):
        _run(workers)


if __name__ == "__main__":
    main()
