"""The ingest benchmark's HTTP clients: a one-shot timed POST, and a load generator process.

Both speak HTTP/1.1 over plain sockets with pre-built requests, so the client
costs a few microseconds per request and never becomes what is measured.

The load generator runs as its own process (``python -m bench.ingest_load``,
its plan as JSON on stdin, its figures as JSON on stdout): ``connections``
keep-alive connections each push ``rows_per_request``-row bodies in a loop for
``seconds`` after a warm-up. Connection ``c`` owns its own blocks of skus, so
connections never wait on each other's row locks; ``change`` says how many of
the rows it pushes are newer than what it pushed before (new price, newer
``updatedAt``): all of them, none, or one in ten.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from datetime import timedelta
from typing import Any

from bench.ingest_data import FAMILY, T0, UNIT, VAT, description


def _request_head(method: str, path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", "Content-Type: application/json",
             f"Content-Length: {length}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise ValueError("response without Content-Length")


def post(host: str, port: int, path: str, headers: dict[str, str], body: bytes,
         timeout: float = 120.0) -> tuple[int, bytes, float]:
    """(status, body, seconds from the first byte sent to the last byte received), on a new connection."""
    request = _request_head("POST", path, headers, len(body)) + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        sock.sendall(request)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the response head")
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = _content_length(head)
        parts = [rest]
        received = len(rest)
        while received < length:
            chunk = sock.recv(min(1 << 20, length - received))
            if not chunk:
                raise ConnectionError("connection closed mid-body")
            parts.append(chunk)
            received += len(chunk)
        elapsed = time.perf_counter() - started
    return int(head.split(b" ", 2)[1]), b"".join(parts), elapsed


# ---------------------------------------------------------------- the load generator process


def _row_templates(prefix: str, start: int, count: int) -> list[str]:
    """Per row, the JSON object with ``%s`` for its price and ``updatedAt`` (the parts that change)."""
    rows = []
    for i in range(start, start + count):
        fixed = json.dumps({"sku": f"{prefix}-{i:06d}", "name": f"Item {i} of {prefix}",
                            "description": description(i, 120), "unitCode": UNIT, "vatCode": VAT,
                            "familyCode": FAMILY, "barcode": f"{3_000_000_000_000 + i}", "active": True},
                           separators=(",", ":"))
        rows.append(fixed[:-1].replace("%", "%%") + ',"price":"%s","updatedAt":"%s"}')
    return rows


def _price_and_stamp(version: int, index: int) -> tuple[str, str]:
    return f"{version % 100000}.{index % 100:02d}", (T0 + timedelta(seconds=version)).isoformat()


async def _connection(plan: dict[str, Any], index: int, stop: dict[str, float], out: dict[str, Any]) -> None:
    """Push ``plan["rows_per_request"]`` rows per request, cycling through this connection's blocks.

    ``plan["change"]``: "all" (every row newer in every request), "none" (every
    block is pushed with the same content every time: after its first push,
    unchanged) or "tenth" (in each push of a block, one row in ten is newer).
    """
    per_request = plan["rows_per_request"]
    block_rows = plan["rows_per_connection"]
    change = plan.get("change", "all")
    blocks = [
        _row_templates(plan["prefix"], index * block_rows + b * per_request, per_request)
        for b in range(block_rows // per_request)
    ]
    versions = [[plan["first_version"]] * per_request for _ in blocks]
    headers = plan["headers"][index % len(plan["headers"])]
    reader, writer = await asyncio.open_connection(plan["host"], plan["port"])
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent = 0
    try:
        while True:
            now = time.perf_counter()
            if now >= stop["end"]:
                return
            block, block_versions = blocks[sent % len(blocks)], versions[sent % len(blocks)]
            if change == "all":
                block_versions[:] = [v + 1 for v in block_versions]
            elif change == "tenth":
                for j in range((sent // len(blocks)) % 10, per_request, 10):
                    block_versions[j] += 1
            sent += 1
            out["sent"] += 1
            values = {v: _price_and_stamp(v, index) for v in set(block_versions)}  # few distinct versions
            body = ('{"items":[' + ",".join(
                t % values[v] for t, v in zip(block, block_versions, strict=True)
            ) + "]}").encode()
            writer.write(_request_head("POST", plan["path"], headers, len(body)) + body)
            started = time.perf_counter()
            head = await reader.readuntil(b"\r\n\r\n")
            payload = await reader.readexactly(_content_length(head))
            finished = time.perf_counter()
            if started >= stop["start"] and finished <= stop["end"]:
                if head[9:12] == b"200":
                    out["latencies"].append(finished - started)
                else:
                    out["errors"] += 1
                    out.setdefault("sample_error", payload[:300].decode(errors="replace"))
    finally:
        writer.close()


async def _run(plan: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "errors": 0, "sent": 0}
    now = time.perf_counter()
    stop = {"start": now + plan["warmup_seconds"], "end": now + plan["warmup_seconds"] + plan["seconds"]}
    await asyncio.gather(*(_connection(plan, c, stop, out) for c in range(plan["connections"])))
    latencies = sorted(out["latencies"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "requests": len(latencies), "errors": out["errors"], "seconds": plan["seconds"],
        "rps": len(latencies) / plan["seconds"], "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
        "sample_error": out.get("sample_error"), "sent": out["sent"],
    }


def main() -> None:
    plan = json.load(sys.stdin)
    try:
        import uvloop

        result = uvloop.run(_run(plan))
    except ImportError:  # uvloop ships with uvicorn[standard]; plain asyncio otherwise
        result = asyncio.run(_run(plan))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
