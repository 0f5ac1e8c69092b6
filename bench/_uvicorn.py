"""Serve an app under uvicorn for a benchmark: pinned, bounded, counted, always stopped.

127.0.0.1 only. The server's process group is killed on exit whatever happened.
Database connections are counted from /proc (Linux): the TCP sockets the server's
processes hold to the database port, or their descriptors open on the SQLite file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running uvicorn: its port and supervising process."""

    port: int
    process: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The supervisor and every descendant (the workers)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
        found, todo = [], [self.process.pid]
        while todo and len(found) < 256:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def database_connections(self, database: str | int) -> int | None:
        """Connections open now: to TCP port `database`, or on the SQLite file `database`."""
        if not Path("/proc/self/fd").is_dir():
            return None
        targets: set[str] = set()
        if isinstance(database, int):
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with suppress(OSError):
                    for line in Path(table).read_text().splitlines()[1:]:
                        fields = line.split()
                        if int(fields[2].rsplit(":", 1)[1], 16) == database and fields[3] == "01":
                            targets.add(f"socket:[{fields[9]}]")
        else:
            targets.add(str(Path(database).resolve()))
        count = 0
        for pid in self.pids():
            with suppress(OSError):
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with suppress(OSError):
                        count += os.readlink(fd) in targets
        return count


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if probe.recv(16).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start (exit {process.poll()})")


@contextmanager
def serve(
    app: str,
    *,
    workers: int,
    cpus: list[int] | None,
    environment: Mapping[str, str],
    log: Path,
    app_dir: Path | None = None,
) -> Iterator[Server]:
    """Run `uvicorn APP` on a free 127.0.0.1 port, pinned to `cpus` (when taskset exists)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--lifespan", "on", "--log-level", "warning"]
    command += ["--no-access-log", "--no-server-header"]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    taskset = shutil.which("taskset")
    if cpus and taskset:
        command = [taskset, "-c", ",".join(map(str, cpus)), *command]
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            env={**os.environ, **environment},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        _wait_until_listening(port, process)
        yield Server(port, process)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
