"""Shared fixtures: a private MYSELF_I2I_HOME per test and the --runslow switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own empty MYSELF_I2I_HOME and English messages."""
    h = tmp_path / "home"
    monkeypatch.setenv("MYSELF_I2I_HOME", str(h))
    monkeypatch.setenv("MYSELF_I2I_LANG", "en")
    yield h
