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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A real PostgreSQL server for the session (temporary directory, unprivileged user).

    Skips, saying why, only where the server binaries are missing and cannot be run.
    """
    pytest.importorskip("psycopg", reason="psycopg not installed: pip install -e '.[dev]'")
    from myself_i2i._internal.pg_cluster import PostgresUnavailable, temporary_postgres

    try:
        with temporary_postgres({"fsync": "off"}) as base:
            yield base
    except PostgresUnavailable as e:
        pytest.skip(f"no PostgreSQL server here ({e}); `make postgresql` installs it")


@pytest.fixture
def pg_url(pg_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on :func:`pg_server` for one test."""
    import re

    from myself_i2i._internal.pg_cluster import create_database

    name = "t_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40]
    name += f"_{abs(hash(request.node.nodeid)) % 10**8}"
    return create_database(pg_server, name)
