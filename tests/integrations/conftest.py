"""Fixtures for the plugin tests: an identity and a way to register sources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from myself_i2i.identity import Identity, IdentityStore
from myself_i2i.models import Relation
from myself_i2i.registry import SourceRegistry
from myself_i2i.testing import illustration, save


@pytest.fixture
def identity(home: Path) -> Identity:
    del home
    return IdentityStore.default().create("Tester")


@pytest.fixture
def register() -> Callable[[Path], None]:
    """Register a file as the user's own drawing in the default registry."""

    def _register(path: Path) -> None:
        with SourceRegistry.open() as reg:
            res = reg.add_paths([path], Relation.OWN_DRAWING)
            assert not res.failed

    return _register


@pytest.fixture
def make_source() -> Callable[[Path, int], Path]:
    def _make(path: Path, seed: int = 1) -> Path:
        return save(illustration(96, 96, seed=seed), path)

    return _make
