"""Load on the web verifier: many verify requests in flight against one server process.

    .venv/bin/python bench/load_web.py [--requests 1000] [--concurrency 20] [--size 768]
                                       [--time-limit 600] [--workers 1]

1. Makes a private MYSELF_I2I_HOME, an identity and four pictures of ``--size`` pixels:
   a signed t2i PNG, a signed t2i JPEG, a tampered PNG (one pixel changed, manifest put
   back) and an unsigned PNG. Signing uses no watermark (faster to make; verification
   does the same work either way).
2. Starts ``uvicorn myself_i2i.web:create_app`` as a subprocess on 127.0.0.1 and a free
   port, and waits for ``/api/health``.
3. Sends ``--requests`` POST /api/verify (the four pictures in turn, with post text) with
   at most ``--concurrency`` in flight (httpx.AsyncClient), stopping at ``--time-limit``.
4. Reports throughput, p50 / p99 latency, failures (a non-200 answer or a wrong verdict),
   the server's peak RSS (``VmHWM`` from /proc/PID/status) and whether it still answers.

Exits 1 if any request failed or the server died. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from myself_i2i.identity import IdentityStore
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.testing import illustration, save, tampered_copy

FAST = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pictures(d: Path, size: int) -> list[tuple[Path, str]]:
    # 1. Identity and pictures.
    ident = IdentityStore(d / "home" / "identity").create("bench")
    t2i = sign_image(
        save(illustration(size, size, 1), d / "t2i.png"), ident, t2i=True, options=FAST
    ).output
    jpg = sign_image(
        save(illustration(size, size, 2), d / "t2i.jpg"), ident, t2i=True, options=FAST
    ).output
    return [
        (t2i, "untrusted-signer"),
        (jpg, "untrusted-signer"),
        (tampered_copy(t2i, d / "tampered.png"), "tampered"),
        (save(illustration(size, size, 3), d / "unsigned.png"), "unsigned"),
    ]


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def _load(
    base: str, pics: list[tuple[bytes, str, str]], n: int, concurrency: int, limit: float
) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    failures: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + limit

    async def one(client: httpx.AsyncClient, i: int) -> None:
        data, name, expected = pics[i % len(pics)]
        async with sem:
            if time.monotonic() > deadline:
                failures.append(f"#{i}: not sent (time limit)")
                return
            t0 = time.perf_counter()
            try:
                r = await client.post(
                    "/api/verify",
                    files={"image": (name, data, "application/octet-stream")},
                    data={"text": "new picture #Myself_i2i"},
                )
            except httpx.HTTPError as e:
                failures.append(f"#{i}: {type(e).__name__}: {e}")
                return
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                failures.append(f"#{i}: HTTP {r.status_code} {r.text[:200]}")
            elif r.json().get("verdict") != expected:
                failures.append(f"#{i}: verdict {r.json().get('verdict')} != {expected}")

    # 3. Bounded concurrency: a semaphore of ``concurrency`` and a connection pool as big.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        await asyncio.gather(*(one(client, i) for i in range(n)))
    return latencies, failures, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--size", type=int, default=768, help="picture edge in pixels")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds for the load phase")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="myself-i2i-loadweb-") as tmp:
        d = Path(tmp)
        pics = [(p.read_bytes(), p.name, v) for p, v in _pictures(d, args.size)]
        sizes = ", ".join(f"{name} {len(data) // 1024} kB" for data, name, _ in pics)
        # 2. The server, as a subprocess on 127.0.0.1 only.
        port = _free_port()
        env = {**os.environ, "MYSELF_I2I_HOME": str(d / "home")}
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "myself_i2i.web:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(args.workers),
        ]
        server = subprocess.Popen(cmd, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.2)
            idle_kb = _vm_hwm_kb(server.pid)
            latencies, failures, wall = asyncio.run(
                _load(base, pics, args.requests, args.concurrency, args.time_limit)
            )
            # 4. Report.
            alive = server.poll() is None
            try:
                alive = alive and httpx.get(base + "/api/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                alive = False
            peak_kb = _vm_hwm_kb(server.pid) if server.poll() is None else 0
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    lat = sorted(latencies)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    print(f"pictures: {args.size}x{args.size}: {sizes}")
    print(f"requests: {args.requests}, concurrency {args.concurrency}, workers {args.workers}")
    print(f"completed: {len(lat)} in {wall:.1f} s  ->  {len(lat) / wall:.1f} req/s")
    print(f"latency: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
    print(
        f"server peak RSS (VmHWM): {peak_kb / 1024:.0f} MB (after start: {idle_kb / 1024:.0f} MB)"
    )
    print(f"failures: {len(failures)}")
    for f in failures[:10]:
        print(f"  {f}")
    print(f"server alive after the load: {'yes' if alive else 'NO'}")
    return 0 if not failures and alive else 1


if __name__ == "__main__":
    sys.exit(main())
