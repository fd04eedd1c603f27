"""The package's public surface: ``__all__`` lists exactly what resolves, nothing private."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import myself_i2i


def test_all_names_resolve_and_are_documented() -> None:
    assert set(myself_i2i.__all__) - {"__version__"} == set(myself_i2i._EXPORTS)
    for name in myself_i2i.__all__:
        obj = getattr(myself_i2i, name)
        assert obj is not None
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_all_matches_type_checking_imports() -> None:
    """Every lazily exported name is also imported for type checkers, and vice versa."""
    tree = ast.parse(Path(myself_i2i.__file__).read_text("utf-8"))
    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                typed.update(a.asname or a.name for a in imp.names)
    assert typed == set(myself_i2i.__all__) - {"__version__"}


def test_no_private_names_exported() -> None:
    assert not [n for n in myself_i2i.__all__ if n.startswith("_") and n != "__version__"]
    for name in myself_i2i.__all__:
        if name == "__version__":
            continue
        module = importlib.import_module(myself_i2i._EXPORTS[name])
        assert "_internal" not in module.__name__


def test_unknown_attribute_raises() -> None:
    try:
        getattr(myself_i2i, "does_not_exist")  # noqa: B009
    except AttributeError as e:
        assert "does_not_exist" in str(e)
    else:
        raise AssertionError("expected AttributeError")
