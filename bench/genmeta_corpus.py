"""Score the generation-metadata reader on the corpus of real generated images.

    python bench/genmeta_corpus.py              # the committed carriers (tests/genmeta/corpus)
    python bench/genmeta_corpus.py --dir bench/out/originals   # the full fetched originals
    python bench/genmeta_corpus.py --list       # also list every miss

Per category (the software that made the file): files, t2i/i2i right, wrong, the two
serious errors - "false t2i" (ground truth i2i read as t2i) and "refused t2i" (ground truth
t2i read as i2i) - files whose t2i/i2i the reader could not tell (unknown or no metadata),
and whether the software and the model were named right. Ground truth "unknown" files are not scored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from myself_i2i.errors import MyselfI2IError
from myself_i2i.genmeta import GenerationMetadata, GenKind, read_generation_metadata

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "genmeta" / "corpus"


@dataclass
class Tally:
    files: int = 0
    right: int = 0
    wrong: int = 0
    false_t2i: int = 0
    refused_t2i: int = 0
    untold: int = 0
    software_right: int = 0
    software_scored: int = 0
    model_right: int = 0
    model_scored: int = 0
    misses: list[str] = field(default_factory=list)


def original_path(originals: Path, source: str) -> Path:
    """``owner/repo@commit:path`` → originals/owner+repo/path."""
    repo, _, rest = source.partition("@")
    _commit, _, path = rest.partition(":")
    return originals / repo.replace("/", "+") / path


def software_matches(read: str | None, truth: str) -> bool:
    """``read`` is ``truth``, optionally followed by a version (not by a variant suffix)."""
    if not read or not read.startswith(truth):
        return False
    rest = read[len(truth) :]
    return rest == "" or (rest.startswith(" ") and not rest.startswith(" - "))


def verdict(meta: GenerationMetadata | None, truth: dict[str, Any]) -> str:
    """right / false_t2i / refused_t2i / untold / wrong for one file."""
    want = truth["kind"]
    got = "none" if meta is None else meta.kind.value
    if want == "none":
        return "right" if got == "none" else "wrong"
    if got == want:
        return "right"
    if want == "i2i" and got == GenKind.T2I.value:
        return "false_t2i"
    if want == "t2i" and got == GenKind.I2I.value:
        return "refused_t2i"
    return "untold"


def category(truth: dict[str, Any]) -> str:
    if truth["kind"] == "none":
        return "(no generation metadata)"
    return str(truth.get("software") or "(generator not recorded)")


def run(entries: list[dict[str, Any]], locate: Any) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for entry in entries:
        truth = entry["truth"]
        if truth["kind"] == "unknown":
            continue
        path: Path = locate(entry)
        try:
            meta = read_generation_metadata(path)
        except MyselfI2IError as e:
            meta, error = None, str(e)
        else:
            error = ""
        v = verdict(meta, truth)
        groups = [tallies[category(truth)], tallies["TOTAL"]]
        if entry.get("heldout"):
            groups.append(tallies["TOTAL held-out"])
        for t in groups:
            t.files += 1
            if v == "right":
                t.right += 1
            else:
                t.wrong += 1
                got = "none" if meta is None else f"{meta.kind.value} ({meta.source})"
                t.misses.append(f"{v}: {entry['file']} want {truth['kind']} got {got} {error}")
            if v == "false_t2i":
                t.false_t2i += 1
            elif v == "refused_t2i":
                t.refused_t2i += 1
            elif v == "untold":
                t.untold += 1
            if truth.get("model"):
                t.model_scored += 1
                read_model = meta.generator.model if meta is not None else None
                if read_model and truth["model"] in read_model:
                    t.model_right += 1
                else:
                    t.misses.append(
                        f"model: {entry['file']} want {truth['model']!r} got {read_model!r}"
                    )
            if truth.get("software"):
                t.software_scored += 1
                read_sw = meta.generator.software if meta is not None else None
                if software_matches(read_sw, truth["software"]):
                    t.software_right += 1
                else:
                    t.misses.append(
                        f"software: {entry['file']} want {truth['software']!r} got {read_sw!r}"
                    )
    return tallies


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score the genmeta reader on the real-file corpus.")
    ap.add_argument("--dir", type=Path, help="read the full originals kept under this folder")
    ap.add_argument("--list", action="store_true", help="list every miss")
    args = ap.parse_args(argv)
    entries = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))["files"]
    if args.dir is not None:
        originals: Path = args.dir

        def locate(e: dict[str, Any]) -> Path:
            return original_path(originals, str(e["source"]))

        present = [e for e in entries if locate(e).is_file()]
        if len(present) < len(entries):
            print(f"{len(entries) - len(present)} originals missing under {originals}")
        entries = present
    else:

        def locate(e: dict[str, Any]) -> Path:
            return CORPUS / str(e["file"])

    tallies = run(entries, locate)
    unknown = sum(1 for e in entries if e["truth"]["kind"] == "unknown")
    head = (
        f"{'category':<40} {'files':>5} {'right':>5} {'wrong':>5} {'falseT2I':>8} "
        f"{'refusedT2I':>10} {'untold':>6} {'software':>9} {'model':>9}"
    )
    print(head)
    print("-" * len(head))
    for name in sorted(tallies, key=lambda n: (n.startswith("TOTAL"), n.lower())):
        t = tallies[name]
        sw = f"{t.software_right}/{t.software_scored}" if t.software_scored else "-"
        model = f"{t.model_right}/{t.model_scored}" if t.model_scored else "-"
        print(
            f"{name:<40} {t.files:>5} {t.right:>5} {t.wrong:>5} {t.false_t2i:>8} "
            f"{t.refused_t2i:>10} {t.untold:>6} {sw:>9} {model:>9}"
        )
    print(f"(+ {unknown} files whose metadata cannot tell t2i from i2i: not scored)")
    print("held-out: files added after the reader was tuned on the rest (corpus.json 'heldout')")
    if args.list:
        for m in tallies["TOTAL"].misses:
            print(m)
    total = tallies["TOTAL"]
    return 1 if total.false_t2i or total.refused_t2i else 0


if __name__ == "__main__":
    sys.exit(main())
