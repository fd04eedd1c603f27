"""Fixtures for the studio: an artist and an AI user, each with a home, and a shared repository."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from myself_i2i.identity import Identity
from myself_i2i.repository import LocalRepository
from myself_i2i.testing import illustration, save
from tests.core_helpers import new_identity


@dataclass(frozen=True)
class People:
    artist_home: Path
    ai_home: Path
    artist: Identity
    ai: Identity
    drawing: Path  #: the artist's drawing (unprotected)
    generated: Path  #: the AI user's generated image


def make_people(d: Path) -> People:
    repo = d / "artist-repo"
    LocalRepository.open(repo, create=True).close()  # published, still empty
    homes = []
    for name in ("artist-home", "ai-home"):
        h = d / name
        h.mkdir(parents=True)
        (h / "settings.json").write_text(json.dumps({"repositories": [str(repo)]}))
        homes.append(h)
    artist = new_identity("@hanako_draws", homes[0] / "identity")
    ai = new_identity("@ai_user", homes[1] / "identity")
    drawing = save(illustration(1200, 900, seed=31), d / "hanako.png")
    generated = save(illustration(512, 512, seed=32), d / "generated.png")
    return People(homes[0], homes[1], artist, ai, drawing, generated)


def x_copy(src: Path, out: Path) -> Path:
    """X: strip, long side 2048, JPEG q85."""
    with Image.open(src) as im:
        rgb = im.convert("RGB")
    scale = 2048 / max(rgb.size)
    rgb.resize((round(rgb.width * scale), round(rgb.height * scale))).save(out, quality=85)
    return out


@pytest.fixture
def people(tmp_path: Path) -> People:
    return make_people(tmp_path)
