"""A small HTTP/1.1 keep-alive load generator on asyncio streams (used when wrk is absent).

Each of CONNECTIONS connections sends one prebuilt request, reads the answer
(`Content-Length` framing, as both apps answer), and sends the next, until the
deadline: load and time are bounded. A generic client (httpx) spends more CPU per
request than the server under test does on `/health`, so on a small machine it
would measure itself; this one parses only the status line and the length.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

#: Longest a single request may take before the connection counts as failed.
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Result:
    """One run: throughput, latency percentiles (ms) and failed requests."""

    rate: float
    p50: float
    p99: float
    errors: int


def _percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def request_bytes(
    method: str, path: str, *, token: str | None = None, body: bytes | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length < 0:
        raise ValueError("an answer without Content-Length")
    await reader.readexactly(length)
    return status


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


async def _connection(port: int, request: bytes, deadline: float, result: _Tally) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            status = await asyncio.wait_for(_exchange(reader, writer, request), REQUEST_TIMEOUT)
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
            result.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)  # a refused connection must not spin
            continue
        if status >= 400:
            result.errors += 1
        else:
            result.latencies.append(time.perf_counter() - started)
    if writer is not None:
        writer.close()


async def load(port: int, request: bytes, *, seconds: float, connections: int) -> Result:
    """Keep `connections` requests in flight for `seconds`; return what was measured."""
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_connection(port, request, deadline, tally) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    return Result(
        rate=len(ordered) / elapsed,
        p50=_percentile(ordered, 0.50),
        p99=_percentile(ordered, 0.99),
        errors=tally.errors,
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    number = text.rstrip("usm")
    return float(number) * _UNITS[text[len(number) :]]


def wrk(wrk_path: str, port: int, request: bytes, *, seconds: float, connections: int) -> Result:
    """Run wrk (one thread) with the same request; parse its summary."""
    head, _, body = request.partition(b"\r\n\r\n")
    method, path = head.split(b" ")[:2]
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    script = [
        f"wrk.method = {json.dumps(method.decode())}",
        f"wrk.body = {json.dumps(body.decode())}",
    ]
    script += [
        f"wrk.headers[{json.dumps(k.decode())}] = {json.dumps(v.decode())}"
        for k, v in headers.items()
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write("\n".join(script) + "\n")
    try:
        output = subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
            [
                wrk_path,
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                file.name,
                f"http://127.0.0.1:{port}{path.decode()}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(file.name)
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rate is not None, output
    return Result(
        rate=float(rate.group(1)),
        p50=_wrk_ms(percentiles["50"]),
        p99=_wrk_ms(percentiles["99"]),
        errors=(int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in sockets.groups()) if sockets else 0),
    )
