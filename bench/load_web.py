"""A hostile load on the web verifier: does it stay small and keep answering valid requests?

    .venv/bin/python bench/load_web.py [--duration 60] [--concurrency 50] [--size 768]
                                       [--workers 2] [--memory-limit-mb 768]

1. Makes a private MYSELF_I2I_HOME, an identity and the valid pictures (``--size``
   pixels): a signed t2i PNG, a signed t2i JPEG, a tampered PNG (one pixel changed,
   manifest put back) and an unsigned PNG, each with the verdict it must get; and the
   hostile files: random bytes, random bytes behind a PNG signature, a decompression bomb
   over the pixel limit (15000x15000), picture bombs under it (6000x6000 and 9400x9400
   zeros: 108 and 265 MB decoded; the larger is about the largest picture the library
   accepts), a truncated signed PNG, a signed PNG with a 64 MB zTXt chunk.
2. Starts ``python -m myself_i2i serve`` (the real CLI: worker processes, head and body
   deadlines) as a subprocess on 127.0.0.1 and a free port, and waits for /api/health.
3. Runs ``--concurrency`` clients for ``--duration`` seconds. ``--slow-clients`` of them
   (5) are slow bodies, one after another: each announces 200 kB and trickles 64 bytes
   every 0.5 s until the server answers or closes. The others take the next kind from a
   fixed cycle (8 valid, 2 garbage, 1 PNG garbage, 2 bombs, 2 picture bombs, 2
   truncated, 2 zTXt per 19) as httpx requests (each client one keep-alive connection). A valid client waits
   Retry-After after a 503 and tries again, up to 5 times (its latency counts the waits);
   a hostile client sends its next request at once.
4. Samples the RSS of the server and all its child processes (psutil) every 0.1 s, and
   reports: requests/s, p50/p99 latency of the VALID requests, answers by kind and HTTP
   status, failures of valid requests (not 200 or a wrong verdict), valid answers in
   each 10 s window, the peak RSS of the server with its workers, and whether the server
   still answers.

Exits 1 if a valid request failed (busy 503s included), the peak RSS reached 1 GB, or the
server died. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from myself_i2i.identity import IdentityStore
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.testing import illustration, save, tampered_copy

FAST = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)
MB = 1024 * 1024
GB = 1024 * MB

#: How often a valid client tries again after a 503 (waiting Retry-After each time).
RETRIES = 5

#: One cycle of request kinds (19 requests) of the ordinary clients.
CYCLE = (
    ["valid"] * 8
    + ["garbage"] * 2
    + ["png-garbage"]
    + ["bomb"] * 2
    + ["picture-bomb"] * 2
    + ["truncated"] * 2
    + ["ztxt"] * 2
)
KINDS = [*CYCLE, "slow-body"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_bomb(width: int, height: int) -> bytes:
    """A valid RGB PNG of zeros: small to send, ``3 * width * height`` bytes decoded."""
    rows = (b"\0" * (1 + 3 * width)) * 100
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(rows) for _ in range(height // 100)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height - height % 100, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def _with_ztxt(png: bytes, size: int) -> bytes:
    """``png`` with a zTXt chunk after IHDR that inflates to ``size`` bytes."""
    end_ihdr = 8 + 8 + 13 + 4
    ztxt = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * size, 9))
    return png[:end_ihdr] + ztxt + png[end_ihdr:]


@dataclass(frozen=True)
class Upload:
    kind: str
    name: str
    data: bytes
    verdict: str | None = None  #: what a valid picture must get


def _uploads(d: Path, size: int) -> dict[str, list[Upload]]:
    # 1. Identity, valid pictures, hostile files.
    ident = IdentityStore(d / "home" / "identity").create("bench")
    t2i = sign_image(
        save(illustration(size, size, 1), d / "t2i.png"), ident, t2i=True, options=FAST
    ).output
    jpg = sign_image(
        save(illustration(size, size, 2), d / "t2i.jpg"), ident, t2i=True, options=FAST
    ).output
    valid = [
        (t2i, "untrusted-signer"),
        (jpg, "untrusted-signer"),
        (tampered_copy(t2i, d / "tampered.png"), "tampered"),
        (save(illustration(size, size, 3), d / "unsigned.png"), "unsigned"),
    ]
    rng = random.Random(7)
    signed = t2i.read_bytes()
    return {
        "valid": [Upload("valid", p.name, p.read_bytes(), v) for p, v in valid],
        "garbage": [Upload("garbage", "noise.png", rng.randbytes(50_000))],
        "png-garbage": [
            Upload("png-garbage", "noise.png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(50_000))
        ],
        "bomb": [Upload("bomb", "bomb.png", _png_bomb(15_000, 15_000))],
        "picture-bomb": [
            Upload("picture-bomb", "big6000.png", _png_bomb(6_000, 6_000)),
            Upload("picture-bomb", "big9400.png", _png_bomb(9_400, 9_400)),
        ],
        "truncated": [Upload("truncated", "cut.png", signed[: len(signed) // 2])],
        "ztxt": [Upload("ztxt", "ztxt.png", _with_ztxt(signed, 64 * MB))],
    }


@dataclass
class Tally:
    statuses: dict[str, Counter[str]] = field(default_factory=dict)
    valid_latencies: list[float] = field(default_factory=list)
    valid_ok_at: list[float] = field(default_factory=list)  #: seconds since start
    failures: list[str] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)  #: monotonic time of each answer

    def count(self, kind: str, status: str) -> None:
        self.statuses.setdefault(kind, Counter())[status] += 1
        self.done_at.append(time.monotonic())


async def _slow_body(port: int, limit: float) -> str:
    """Announce 200 kB, trickle 64 bytes every 0.5 s; the server's status, or 'closed'."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /api/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 200000\r\n\r\n"
            b'--b\r\nContent-Disposition: form-data; name="image"; filename="slow.png"\r\n'
            b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n"
        )
        await writer.drain()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                line = await asyncio.wait_for(reader.readline(), 0.5)
            except asyncio.TimeoutError:
                writer.write(b"x" * 64)
                await writer.drain()
                continue
            if not line:
                return "closed"
            return line.split()[1].decode() if line.startswith(b"HTTP/1.1") else "garbled"
        return "no answer"
    except (ConnectionError, OSError):
        return "closed"
    finally:
        writer.close()


async def _client(
    base: str,
    port: int,
    uploads: dict[str, list[Upload]],
    start: int,
    t0: float,
    end: float,
    tally: Tally,
) -> None:
    i = start
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        while time.monotonic() < end:
            kind = CYCLE[i % len(CYCLE)] if start >= 0 else "slow-body"
            i += 1
            if kind == "slow-body":
                tally.count(kind, await _slow_body(port, 120))
                continue
            variants = uploads[kind]
            up = variants[(i // len(CYCLE)) % len(variants)]
            t_req = time.monotonic()
            # A valid client is polite: after a 503 it waits Retry-After and tries again
            # (up to RETRIES times); a hostile one sends its next request at once.
            r: httpx.Response | None = None
            for attempt in range(RETRIES + 1 if kind == "valid" else 1):
                try:
                    r = await client.post(
                        "/api/verify",
                        files={"image": (up.name, up.data, "application/octet-stream")},
                        data={"text": "new picture #Myself_i2i"},
                    )
                except httpx.HTTPError as e:
                    tally.count(kind, type(e).__name__)
                    if kind == "valid":
                        tally.failures.append(f"{up.name}: {type(e).__name__}: {e}")
                    r = None
                    break
                tally.count(kind, str(r.status_code))
                if r.status_code != 503 or attempt == RETRIES or kind != "valid":
                    break
                await asyncio.sleep(float(r.headers.get("retry-after", "5")))
            took = time.monotonic() - t_req
            if kind != "valid" or r is None:
                continue
            if r.status_code != 200:
                tally.failures.append(f"{up.name}: HTTP {r.status_code} {r.text[:160]}")
            elif r.json().get("verdict") != up.verdict:
                tally.failures.append(
                    f"{up.name}: verdict {r.json().get('verdict')} != {up.verdict}"
                )
            else:
                tally.valid_latencies.append(took)
                tally.valid_ok_at.append(time.monotonic() - t0)


class RssSampler(threading.Thread):
    """The summed RSS of a process and all its descendants, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.peak_parent = 0
        self.peak_worker = 0
        self.max_workers = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                parent = self.root.memory_info().rss
                kids = self.root.children(recursive=True)
            except psutil.Error:
                return
            rss = []
            for k in kids:
                with contextlib.suppress(psutil.Error):
                    rss.append(k.memory_info().rss)
            self.peak = max(self.peak, parent + sum(rss))
            self.peak_parent = max(self.peak_parent, parent)
            self.peak_worker = max([self.peak_worker, *rss])
            self.max_workers = max(self.max_workers, len(rss))


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--slow-clients", type=int, default=5, help="of the concurrency")
    ap.add_argument("--size", type=int, default=768, help="valid picture edge in pixels")
    ap.add_argument("--workers", type=int, default=2, help="verification processes")
    ap.add_argument("--memory-limit-mb", type=int, default=768, help="per worker")
    ap.add_argument("--server-log", type=Path, help="keep the server's stderr in this file")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="myself-i2i-loadweb-") as tmp:
        d = Path(tmp)
        uploads = _uploads(d, args.size)
        # 2. The server: the real CLI, on 127.0.0.1 only.
        port = _free_port()
        env = {**os.environ, "MYSELF_I2I_HOME": str(d / "home")}
        cmd = [
            sys.executable, "-m", "myself_i2i", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(args.workers),
            "--memory-limit-mb", str(args.memory_limit_mb),
        ]  # fmt: skip
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # the workers' tracebacks (hostile files) go to a file, not the terminal
        log_path = args.server_log or d / "server.log"
        threading.Thread(
            target=lambda: log_path.write_bytes(server.stderr.read() if server.stderr else b""),
            daemon=True,
        ).start()
        base = f"http://127.0.0.1:{port}"
        sampler: RssSampler | None = None
        try:
            deadline = time.monotonic() + 90
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
            sampler = RssSampler(server.pid)
            sampler.start()
            time.sleep(0.5)
            idle_mb = sampler.peak / MB
            # 3. The load.
            tally = Tally()
            t0 = time.monotonic()

            async def load() -> None:
                end = t0 + args.duration
                await asyncio.gather(
                    *(
                        _client(
                            base,
                            port,
                            uploads,
                            -1 if i < args.slow_clients else i * 7,
                            t0,
                            end,
                            tally,
                        )
                        for i in range(args.concurrency)
                    )
                )

            asyncio.run(load())
            wall = time.monotonic() - t0
            # 4. Report.
            alive = server.poll() is None
            try:
                alive = alive and httpx.get(base + "/api/health", timeout=10).status_code == 200
            except httpx.HTTPError:
                alive = False
        finally:
            if sampler is not None:
                sampler.stop.set()
                sampler.join(2)
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    assert sampler is not None
    lat = sorted(tally.valid_latencies)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    sizes = ", ".join(f"{u.name} {len(u.data) // 1024} kB" for u in uploads["valid"])
    print(f"valid pictures {args.size}x{args.size}: {sizes}")
    print(
        f"load: {args.concurrency} clients ({args.slow_clients} slow bodies) for "
        f"{args.duration:.0f} s, "
        f"{args.workers} workers of {args.memory_limit_mb} MB"
    )
    during = sum(1 for t in tally.done_at if t - t0 <= args.duration)
    print(
        f"answers: {during} during the {args.duration:.0f} s -> "
        f"{during / args.duration:.1f} req/s ({len(tally.done_at)} in all, the last after "
        f"{wall:.1f} s: slow bodies run out their deadline, polite clients their retries)"
    )
    print(
        f"valid requests: {len(lat)} ok -> {len(lat) / wall:.1f} req/s; "
        f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    windows = Counter(int(t // 10) for t in tally.valid_ok_at)
    n_windows = int(wall // 10) + 1
    print("valid answers per 10 s: " + " ".join(str(windows[w]) for w in range(n_windows)))
    every = Counter(int((t - t0) // 10) for t in tally.done_at)
    print("all answers per 10 s:   " + " ".join(str(every[w]) for w in range(n_windows)))
    print("answers by kind and status:")
    for kind in dict.fromkeys(KINDS):
        counts = tally.statuses.get(kind, Counter())
        print(f"  {kind:13} " + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())))
    print(
        f"server peak RSS with its workers: {sampler.peak / MB:.0f} MB "
        f"(server process {sampler.peak_parent / MB:.0f} MB, largest worker "
        f"{sampler.peak_worker / MB:.0f} MB, up to {sampler.max_workers} workers at once; "
        f"{idle_mb:.0f} MB idle)"
    )
    print(f"failures of valid requests: {len(tally.failures)}")
    for f in tally.failures[:10]:
        print(f"  {f}")
    print(f"server alive after the load: {'yes' if alive else 'NO'}")
    ok = not tally.failures and alive and sampler.peak < GB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
