"""``verify`` on C2PA files made by others: the verdicts issue 9 expects, from c2pa-rs's own view.

The files, their sources and the expectations are in ``tests/corpus/c2pa/corpus.json``
(see the README there; ``python bench/world_corpus.py --refresh-json`` recomputes the c2pa
part). Each file is verified with an empty keyring and no manifest repositories, as a new
user would.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.errors import MyselfI2IError
from myself_i2i.keyring import Keyring
from myself_i2i.report import EXIT_CODES
from myself_i2i.verify import VerifyOptions, verify_image

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "c2pa"
ENTRIES: list[dict[str, Any]] = json.loads((CORPUS / "corpus.json").read_text("utf-8"))["files"]
IDS = [str(e["file"]) for e in ENTRIES]


def _options(tmp_path: Path) -> VerifyOptions:
    return VerifyOptions(keyring=Keyring(tmp_path / "keyring.json"), use_default_repositories=False)


def _accepted_chain(entry: dict[str, Any]) -> bool:
    """c2pa-rs read a signature and found nothing wrong with the signing certificate."""
    if entry["signer"] is None:
        return False
    codes = entry["c2pa"]["failure"]
    return not any(
        c.startswith("signingCredential.") and c != "signingCredential.untrusted" for c in codes
    )


def test_corpus_is_listed_completely() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.name not in ("corpus.json", "README.md")}
    assert on_disk == set(IDS)
    # a few MB in all: every file here earns its place (see README.md)
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) < 4_200_000


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_verdict_is_the_expected_one(entry: dict[str, Any], tmp_path: Path) -> None:
    path = CORPUS / entry["file"]
    expected = entry["expected_verdict"]
    if expected == "error":
        with pytest.raises(MyselfI2IError):
            verify_image(path, _options(tmp_path))
        return
    report = verify_image(path, _options(tmp_path))
    codes = [f.code for f in report.findings]
    assert report.verdict.value == expected, f"{entry['shows']} findings: {codes}"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_only_our_errors_escape(entry: dict[str, Any], tmp_path: Path) -> None:
    # a one-line error of ours is allowed; any other exception fails the test
    with contextlib.suppress(MyselfI2IError):
        verify_image(CORPUS / entry["file"], _options(tmp_path))


SIGNED = [e for e in ENTRIES if _accepted_chain(e)]


@pytest.mark.parametrize("entry", SIGNED, ids=[str(e["file"]) for e in SIGNED])
def test_accepted_chain_shows_signer_and_issuer(entry: dict[str, Any], tmp_path: Path) -> None:
    report = verify_image(CORPUS / entry["file"], _options(tmp_path))
    assert report.signer is not None, entry["signer"]
    assert report.signer.name, entry["signer"]
    assert report.signer.issuer, entry["signer"]


def test_cli_batch_gives_every_file_its_line() -> None:
    paths = [str(CORPUS / e["file"]) for e in ENTRIES]
    r = CliRunner().invoke(app, ["verify", *paths], catch_exceptions=False)
    out = r.stdout + r.stderr
    assert "Traceback" not in out
    headlines = [line for line in out.splitlines() if line and not line[0].isspace()]
    missing = [p for p in paths if sum(p in line for line in headlines) != 1]
    assert not missing, f"exit {r.exit_code}; no single line for {missing}\n{out}"
    assert r.exit_code in EXIT_CODES.values(), out
