"""Run ``verify`` over C2PA files made by others and count right and wrong verdicts.

Usage::

    python bench/world_corpus.py                       # tests/corpus/c2pa (corpus.json)
    python bench/world_corpus.py --dir bench/out/world # any folder, expectations on the fly
    python bench/world_corpus.py --refresh-json        # recompute corpus.json's c2pa fields

With the committed corpus the expected verdicts are read from ``corpus.json``. For any other
folder each file's expectation is computed on the fly from c2pa-rs's own validation (through
c2pa-python, no network, no trust list) with the rules of issue 9, :func:`expected_verdict`.
c2pa is imported here directly on purpose: the reference must not go through the code
under test.

A bigger local set (not committed; bench/out/ is gitignored) is built from public
repositories brought by the ``fetch`` tool, e.g. for each media file of
contentauth/c2pa-rs, c2pa-org/public-testfiles, microsoft/c2pa-extension-validator,
TrustNXT/c2pa-ts, contentauth/c2pa-python and contentauth/c2pa-js::

    git --git-dir=/work/.mirror/OWNER+REPO/repo show COMMIT:PATH > bench/out/world/OWNER+REPO/PATH

(duplicates removed by content hash), then ``python bench/world_corpus.py --dir bench/out/world``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "c2pa"

#: The reference read: never fetch anything (remote manifests, OCSP, identity services)
#: and no trust list, as the verifier does with an empty keyring.
REFERENCE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "verify_trust": False, "ocsp_fetch": False},
    "core": {"allowed_network_hosts": []},
}

MIME_BY_SUFFIX = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".dng": "image/x-adobe-dng",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".jxl": "image/jxl",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".pdf": "application/pdf",
}

#: Worst last: the order of issue 9's verdicts, plus "error" (a MyselfI2IError is expected).
VERDICT_RANK = [
    "verified",
    "recovered",
    "untrusted-signer",
    "no-pledge",
    "unsigned",
    "credential-invalid",
    "invalid",
    "wrong-signer",
    "contradicts-post",
    "pledge-violated",
    "tampered",
]


@dataclass
class Reference:
    """What c2pa-rs says about one file."""

    state: str | None = None  # Valid / Trusted / Invalid; None when the reader failed
    error: str | None = None  # the reader's error, when it failed
    active_label: str | None = None
    failure: list[dict[str, str]] = field(default_factory=list)
    informational: list[str] = field(default_factory=list)
    ingredient_failure: list[str] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)


def c2pa_reference(path: Path) -> Reference:
    """Read ``path`` with c2pa-rs (no network, no trust list)."""
    ctx = c2pa.Context(c2pa.Settings.from_dict(REFERENCE_SETTINGS))
    mime = MIME_BY_SUFFIX.get(path.suffix.lower(), "application/octet-stream")
    try:
        with path.open("rb") as f:
            reader = c2pa.Reader(mime, f, context=ctx)
            with reader:
                data = json.loads(reader.json())
                state = str(reader.get_validation_state())
    except Exception as e:  # any reader failure is part of the reference
        return Reference(error=f"{type(e).__name__.lstrip('_')}: {str(e).strip()[:160]}")
    vr = data.get("validation_results") or {}
    active = vr.get("activeManifest") or {}
    label = data.get("active_manifest")
    manifest = (data.get("manifests") or {}).get(label) or {}
    ing: list[str] = []
    for delta in vr.get("ingredientDeltas") or []:
        ing += [
            str(x.get("code")) for x in (delta.get("validationDeltas") or {}).get("failure", [])
        ]
    return Reference(
        state=state,
        active_label=label,
        failure=[
            {
                "code": str(x.get("code")),
                "url": str(x.get("url", "")),
                "explanation": str(x.get("explanation", "")),
            }
            for x in active.get("failure", [])
        ],
        informational=[str(x.get("code")) for x in active.get("informational", [])],
        ingredient_failure=ing,
        signature={
            k: v
            for k, v in (manifest.get("signature_info") or {}).items()
            if k in ("alg", "issuer", "common_name", "time")
        },
    )


def _code_verdict(code: str, url: str, active_label: str | None) -> str | None:
    """Issue 9's verdict for one active-manifest failure code (None: no effect)."""
    if code.startswith("cawg."):
        return None  # identity findings never make a file tampered or invalid
    in_active = active_label is None or f"/{active_label}" in url or url == active_label
    if code.startswith("ingredient.") or not in_active:
        return "invalid"
    if code == "signingCredential.untrusted":
        return None
    if code.startswith("signingCredential.") or code == "claimSignature.outsideValidity":
        return "credential-invalid"
    if code.startswith(("assertion.", "claimSignature.")) or code == "timeStamp.mismatch":
        return "tampered"
    if code.startswith("timeStamp."):
        return "credential-invalid"
    return "invalid"  # unknown failure code: fail closed


def expected_verdict(ref: Reference) -> str:
    """The verdict issue 9 asks for a file made by others (no pledge, empty keyring)."""
    if ref.error is not None:
        if "ManifestNotFound" in ref.error or "Remote:" in ref.error:
            return "unsigned"  # none embedded, or only a remote URL that is never fetched
        if "could not be parsed" in ref.error:
            return "error"  # the asset itself is broken: one-line ImageError, exit 2
        return "invalid"  # a manifest is there but unreadable / malformed
    found = ["no-pledge"]
    found += [v for x in ref.failure if (v := _code_verdict(x["code"], x["url"], ref.active_label))]
    if ref.ingredient_failure:
        found.append("invalid")
    worst = max(found, key=VERDICT_RANK.index)
    if ref.state == "Invalid" and worst == "no-pledge":
        only_cawg = ref.failure and all(x["code"].startswith("cawg.") for x in ref.failure)
        if not only_cawg:
            worst = "invalid"  # c2pa-rs's Invalid never passes
    return worst


@dataclass
class Outcome:
    file: str
    expected: str
    got: str
    first_code: str = ""
    message: str = ""
    signer: str = ""
    issuer: str = ""

    @property
    def right(self) -> bool:
        return self.expected == self.got


def run_verifier(path: Path, home: Path) -> Outcome:
    """Our verdict for ``path`` with an empty keyring and no repositories."""
    from myself_i2i.errors import MyselfI2IError
    from myself_i2i.keyring import Keyring
    from myself_i2i.verify import VerifyOptions, verify_image

    opts = VerifyOptions(keyring=Keyring(home / "keyring.json"), use_default_repositories=False)
    try:
        report = verify_image(path, opts)
    except MyselfI2IError as e:
        return Outcome(str(path), "", "error", type(e).__name__, str(e).splitlines()[0][:160])
    except Exception as e:  # a leak is itself a defect: record it, keep going
        return Outcome(str(path), "", "crash", type(e).__name__, str(e)[:160])
    bad = [f for f in report.findings if f.severity.value != "info"] or list(report.findings)
    s = report.signer
    return Outcome(
        str(path),
        "",
        report.verdict.value,
        bad[0].code if bad else "",
        bad[0].text.en[:160] if bad else "",
        (s.name or "") if s else "",
        (s.issuer or "") if s else "",
    )


def _corpus_entries() -> list[dict[str, Any]]:
    data = json.loads((CORPUS / "corpus.json").read_text("utf-8"))
    return list(data["files"])


def refresh_json() -> None:
    """Recompute the c2pa fields and expected verdicts of corpus.json, keeping the rest."""
    path = CORPUS / "corpus.json"
    data = json.loads(path.read_text("utf-8"))
    for entry in data["files"]:
        entry.update(describe(CORPUS / entry["file"]))
    data["c2pa_rs"] = c2pa.sdk_version()
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def describe(path: Path) -> dict[str, Any]:
    """The corpus.json fields computed from c2pa-rs's reading of ``path``."""
    ref = c2pa_reference(path)
    c2pa_fields: dict[str, Any] = {"state": ref.state}
    if ref.error:
        c2pa_fields["error"] = ref.error
    c2pa_fields["failure"] = [x["code"] for x in ref.failure]
    c2pa_fields["explanations"] = {x["code"]: x["explanation"] for x in ref.failure}
    c2pa_fields["informational"] = ref.informational
    c2pa_fields["ingredient_failure"] = ref.ingredient_failure
    out: dict[str, Any] = {
        "mime": MIME_BY_SUFFIX.get(path.suffix.lower(), "application/octet-stream"),
        "bytes": path.stat().st_size,
        "c2pa": c2pa_fields,
        "signer": {
            "alg": ref.signature.get("alg"),
            "subject_cn": ref.signature.get("common_name"),
            "issuer": ref.signature.get("issuer"),
        }
        if ref.signature
        else None,
        "expected_verdict": expected_verdict(ref),
    }
    return out


def category(expected: str, path: Path) -> str:
    return f"{expected} / {path.suffix.lower().lstrip('.')}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--dir", type=Path, help="a folder of C2PA files (default: the corpus)")
    ap.add_argument("--refresh-json", action="store_true", help="rewrite corpus.json's c2pa part")
    ap.add_argument("--json", type=Path, help="write every outcome to this JSON file")
    args = ap.parse_args(argv)
    if args.refresh_json:
        refresh_json()
        return 0
    if args.dir is None:
        items = [(CORPUS / e["file"], str(e["expected_verdict"])) for e in _corpus_entries()]
    else:
        files = sorted(
            p for p in args.dir.rglob("*") if p.is_file() and p.suffix.lower() in MIME_BY_SUFFIX
        )
        items = [(p, expected_verdict(c2pa_reference(p))) for p in files]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, expected in items:
            o = run_verifier(path, Path(tmp))
            o.expected = expected
            outcomes.append(o)
    by_expected: Counter[str] = Counter()
    right_expected: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    right_cat: Counter[str] = Counter()
    for (path, _), o in zip(items, outcomes, strict=True):
        by_expected[o.expected] += 1
        right_expected[o.expected] += o.right
        by_cat[category(o.expected, path)] += 1
        right_cat[category(o.expected, path)] += o.right
    total_right = sum(o.right for o in outcomes)
    print(f"{total_right}/{len(outcomes)} right, {len(outcomes) - total_right} wrong")
    print("\nby expected verdict:")
    for k in sorted(by_expected, key=[*VERDICT_RANK, "error"].index):
        print(f"  {k:20} {right_expected[k]:4}/{by_expected[k]:<4} right")
    print("\nby expected verdict / format:")
    for k in sorted(by_cat):
        print(f"  {k:28} {right_cat[k]:4}/{by_cat[k]:<4} right")
    wrong = [o for o in outcomes if not o.right]
    if wrong:
        print("\nwrong (expected -> got, first finding code: message):")
        for o in wrong:
            print(f"  {o.file}\n      {o.expected} -> {o.got}, {o.first_code}: {o.message}")
    if args.json:
        args.json.write_text(
            json.dumps([o.__dict__ for o in outcomes], indent=1, ensure_ascii=False), "utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
