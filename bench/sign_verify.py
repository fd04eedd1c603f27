"""Benchmark: our sign / verify against c2pa-python's plain default ``Builder.sign``.

    .venv/bin/python bench/sign_verify.py [--repeat 5] [--count 16] [--formats png,jpeg]
                                          [--sizes 1024] [--skip-in-process]

Everything is compared with the baseline in the same run, each measurement repeated
``--repeat`` times (median; runs of the two sides alternate, so load changes hit both),
and printed as a ratio. Timings on a shared machine are noisy: the load average before and
after is printed, and the CPU time (user + sys) of whole processes is shown beside the
wall-clock time, since it moves much less with the load.

1. Whole processes, the issue's benchmark: ``--count`` noisy (photo-like) pictures of
   ``--whole-size``² per format.

   * baseline: one Python process that imports ``c2pa`` and signs every file with the
     plain default ``Builder.sign`` (library thumbnail on) — what
     ``c2pa_backend.sign_default`` does, without our package's imports;
   * ``myself-i2i sign --t2i -o DIR FILES`` with the watermark (the default) and with
     ``--no-watermark`` (t2i pledge, our thumbnail, fingerprint, local repository on);
   * start-up: ``myself-i2i --help``; ``myself-i2i verify one.jpg`` of a signed file as a
     third party (no manifest repository) and on the signer's machine (its repository
     holds the manifest, so the watermark is decoded to look for conflicts).

   The child processes may write bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped from
   their environment) and every command runs once untimed first: an installed package
   has its ``.pyc`` files, and an editable checkout without them would pay ~50 ms of
   compiling our modules on every start, which no user pays.

2. In process, per picture (``--sizes``): :func:`myself_i2i.sign.sign_image` (watermark off
   and on, local repository off) against ``c2pa_backend.sign_default``; ``verify_bytes``
   against c2pa's default ``Reader`` JSON.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from myself_i2i._internal import c2pa_backend
from myself_i2i.identity import Identity, IdentityStore
from myself_i2i.keyring import Keyring
from myself_i2i.models import PledgeKind
from myself_i2i.pledge import PLEDGE_LABEL, Pledge
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.testing import baseline_manifest, illustration, photo_like, save
from myself_i2i.verify import VerifyOptions, verify_bytes

MIME = {"png": "image/png", "jpeg": "image/jpeg"}
SUFFIX = {"png": ".png", "jpeg": ".jpg"}

# The whole-process baseline: c2pa only, the same calls as c2pa_backend.sign_default.
BASELINE = """
import sys
from pathlib import Path
import c2pa
chain, key = Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]).read_bytes()
out = Path(sys.argv[3])
TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
for name in sys.argv[4:]:
    p = Path(name)
    mime = "image/png" if p.suffix == ".png" else "image/jpeg"
    created = {"action": "c2pa.created", "digitalSourceType": TAM}
    manifest = {
        "claim_generator_info": [{"name": "baseline", "version": "1"}],
        "title": p.name, "format": mime,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [created]}}],
    }
    builder = c2pa.Builder.from_json(manifest)
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, key, None))
    with builder, signer, open(p, "rb") as src, open(out / p.name, "w+b") as dst:
        builder.sign(signer, mime, src, dst)
"""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _run(
    cmd: list[str], env: dict[str, str], fresh: Path | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run; ``fresh`` is emptied first (the output dir).

    ``ok``: the exit codes that are a normal outcome (verify's verdicts).
    """
    if fresh is not None:
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:4])} failed: {proc.stderr.decode()[-500:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("myself-i2i")
    return [str(script)] if script.exists() else [sys.executable, "-m", "myself_i2i"]


def whole_process(
    work: Path, ident: Identity, args: argparse.Namespace, env: dict[str, str]
) -> None:
    chain, key = work / "chain.pem", work / "key.pem"
    chain.write_bytes(ident.chain_pem)
    key.write_bytes(ident.private_key_pem())
    base_py = work / "baseline.py"
    base_py.write_text(BASELINE)
    out = work / "out"
    cli = _cli()
    n, side = args.count, args.whole_size
    print(f"\n## Whole processes: {n} noisy {side}² pictures per format, median of {args.repeat}")
    print(f"load average before: {_load()}")
    print(
        "| files | command | wall s | baseline wall s | wall ratio | CPU s | baseline CPU s | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    signed_jpeg: Path | None = None
    for fmt in args.formats:
        folder = work / f"whole-{fmt}"
        files = [
            str(save(photo_like(side, side, seed=i), folder / f"p{i:02d}{SUFFIX[fmt]}"))
            for i in range(n)
        ]
        runs: dict[str, list[tuple[float, float]]] = {"base": [], "on": [], "off": []}
        cmds = {
            "base": [sys.executable, str(base_py), str(chain), str(key), str(out), *files],
            "on": [*cli, "sign", "--t2i", "-o", str(out), *files],
            "off": [*cli, "sign", "--t2i", "--no-watermark", "-o", str(out), *files],
        }
        for cmd in cmds.values():  # warm-up: bytecode, page cache
            _run(cmd, env, fresh=out)
        for _ in range(args.repeat):
            for what, cmd in cmds.items():  # alternate, so a load change hits every side
                runs[what].append(_run(cmd, env, fresh=out))
        if fmt == "jpeg":
            _run(cmds["on"], env, fresh=out)
            signed_jpeg = work / "one.jpg"
            shutil.copy(out / "p00.signed.jpg", signed_jpeg)
        bw = statistics.median(w for w, _ in runs["base"])
        bc = statistics.median(c for _, c in runs["base"])
        for what, label in (("on", "sign (watermark)"), ("off", "sign --no-watermark")):
            w = statistics.median(x for x, _ in runs[what])
            c = statistics.median(x for _, x in runs[what])
            print(
                f"| {n} x {side}² {fmt.upper()} | {label} | {w:.2f} | {bw:.2f} | "
                f"**{w / bw:.2f}x** | {c:.2f} | {bc:.2f} | {c / bc:.2f}x |"
            )
        sys.stdout.flush()
    print("\n| start-up | wall s | CPU s |")
    print("|---|---|---|")
    starts: dict[str, list[str]] = {"myself-i2i --help": [*cli, "--help"]}
    third_party = dict(env, MYSELF_I2I_HOME=str(work / "third-party-home"))
    (work / "third-party-home").mkdir(exist_ok=True)
    if signed_jpeg is not None:
        starts["myself-i2i verify one.jpg (third party, no repository)"] = [
            *cli,
            "verify",
            str(signed_jpeg),
        ]
        starts["myself-i2i verify one.jpg (signer's machine, repository)"] = [
            *cli,
            "verify",
            str(signed_jpeg),
        ]
    for label, cmd in starts.items():
        e = third_party if "third party" in label else env
        _run(cmd, e, ok=(0, 11))  # warm-up
        results = [_run(cmd, e, ok=(0, 11)) for _ in range(max(args.repeat, 5))]
        w = statistics.median(x for x, _ in results)
        c = statistics.median(x for _, x in results)
        print(f"| {label} | {w:.3f} | {c:.3f} |")
    print(f"load average after: {_load()}")


def _baseline_manifest(name: str, mime: str) -> dict[str, Any]:
    pledge = Pledge.new(PledgeKind.T2I, ("#Myself_i2i",))
    return baseline_manifest(name, mime, {"label": PLEDGE_LABEL, "data": pledge.to_assertion()})


def in_process(work: Path, ident: Identity, args: argparse.Namespace) -> None:
    print(f"\n## In process, per picture (illustration-like), median of {args.repeat}")
    print(f"load average before: {_load()}")
    print(
        "| image | wm | ours ms | default ms | ours/default | growth KB ours | "
        "growth KB default | verify ms | c2pa read ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for fmt in args.formats:
            src = save(illustration(size, size, seed=size), work / f"in{size}{SUFFIX[fmt]}")
            data, mime = src.read_bytes(), MIME[fmt]
            default_out: list[bytes] = []

            def default(
                data: bytes = data,
                mime: str = mime,
                name: str = src.name,
                default_out: list[bytes] = default_out,
            ) -> None:
                dest = io.BytesIO()
                c2pa_backend.sign_default(
                    source=io.BytesIO(data),
                    dest=dest,
                    mime=mime,
                    manifest=_baseline_manifest(name, mime),
                    chain_pem=ident.chain_pem,
                    private_key_pem=ident.private_key_pem(),
                )
                default_out[:] = [dest.getvalue()]

            default_ms = _median_ms(default, args.repeat)
            for watermark in (False, True):
                out = work / f"out{size}{SUFFIX[fmt]}"
                opts = SignOptions(
                    watermark=watermark, use_registry=False, keep_in_repository=False
                )

                def ours(out: Path = out, opts: SignOptions = opts, src: Path = src) -> None:
                    out.unlink(missing_ok=True)
                    sign_image(src, ident, t2i=True, output=out, options=opts)

                ours_ms = _median_ms(ours, args.repeat)
                signed = out.read_bytes()
                vopts = VerifyOptions(
                    keyring=Keyring(work / "empty-keyring.json"),
                    key_token=ident.token,
                    use_default_repositories=False,
                )
                verify_ms = _median_ms(
                    functools.partial(verify_bytes, signed, out.name, vopts), args.repeat
                )
                read_ms = _median_ms(
                    functools.partial(c2pa_backend.read_default, signed, mime), args.repeat
                )
                print(
                    f"| {size}² {fmt.upper()} | {'on' if watermark else 'off'} | {ours_ms:.0f} | "
                    f"{default_ms:.0f} | **{ours_ms / default_ms:.2f}x** | "
                    f"{(len(signed) - len(data)) / 1024:.1f} | "
                    f"{(len(default_out[0]) - len(data)) / 1024:.1f} | "
                    f"{verify_ms:.1f} | {read_ms:.1f} |"
                )
                sys.stdout.flush()
    print(f"load average after: {_load()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--count", type=int, default=16, help="pictures per whole-process run")
    ap.add_argument("--whole-size", type=int, default=1024)
    ap.add_argument("--sizes", default="1024", help="in-process picture sizes")
    ap.add_argument("--formats", default="png,jpeg")
    ap.add_argument("--skip-in-process", action="store_true")
    ap.add_argument("--skip-whole", action="store_true")
    args = ap.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory(prefix="mi2i-bench-") as tmp:
        work = Path(tmp)
        os.environ["MYSELF_I2I_HOME"] = str(work / "home")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        ident = IdentityStore.default().create("bench")
        print(f"c2pa {c2pa_backend.sdk_version()}, {os.cpu_count()} CPUs")
        if not args.skip_whole:
            whole_process(work, ident, args, env)
        if not args.skip_in_process:
            in_process(work, ident, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
