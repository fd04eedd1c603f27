"""The demo explains its jargon once, in English and Japanese (``make demo`` runs it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"
JA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _explained() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for node in ast.walk(ast.parse(DEMO.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "explain":
            term, en, ja = (ast.literal_eval(a) for a in node.args)
            assert term not in out, f"{term} explained twice"
            out[term] = (en, ja)
    return out


def test_demo_explains_each_term_once_in_both_languages() -> None:
    explained = _explained()
    for term in ("key token", "hard-binding hash", "locator", "fingerprint, N bits"):
        en, ja = explained[term]
        assert len(en) > 40 and not JA.search(en)
        assert JA.search(ja) and len(ja) > 20


def test_demo_uses_the_current_command_names() -> None:
    text = DEMO.read_text(encoding="utf-8")
    assert 'run("check-source"' not in text and 'run("publish"' not in text
