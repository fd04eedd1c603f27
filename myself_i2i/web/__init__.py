"""The web verifier: a page and an HTTP API over :func:`myself_i2i.verify.verify_bytes`.

Needs the ``web`` extra (FastAPI, uvicorn, python-multipart). Importing this package
without it raises :class:`~myself_i2i.errors.ConfigError` with the install command.

* ``GET /`` — the page (drop an image, paste the post, read the answer);
* ``POST /api/verify`` — multipart ``image`` [+ ``text``, ``key_token``, ``against``];
  returns ``Report.to_dict()``; ``?include=thumbnails`` adds a top-level ``thumbnails``;
* ``GET /api/health``, ``GET /openapi.json``, ``GET /docs`` (a short page, no CDN).

Each verification runs in a worker process with memory and time limits
(:mod:`myself_i2i.web.pool`); :func:`serve` adds the uvicorn settings for a public server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from myself_i2i.errors import ConfigError


def require_web() -> None:
    """Check that the web extra is installed.

    Raises:
        ConfigError: FastAPI, uvicorn or python-multipart is missing.
    """
    import importlib.util

    # python-multipart is imported as ``python_multipart`` (new) or ``multipart`` (old).
    needed: dict[str, tuple[str, ...]] = {
        "fastapi": ("fastapi",),
        "uvicorn": ("uvicorn",),
        "python-multipart": ("python_multipart", "multipart"),
    }
    missing = [
        dist
        for dist, modules in needed.items()
        if not any(importlib.util.find_spec(m) is not None for m in modules)
    ]
    if missing:
        raise ConfigError(
            f"the web verifier needs the web extra ({', '.join(missing)} missing): "
            "pip install 'myself-i2i[web]'",
            f"Web 検証ページには web 追加機能が必要です（{', '.join(missing)} がありません）："
            "pip install 'myself-i2i[web]'",
        )


require_web()

if TYPE_CHECKING:
    from myself_i2i.web.app import WebConfig, create_app, serve, uvicorn_config

__all__ = ["WebConfig", "create_app", "require_web", "serve", "uvicorn_config"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the verification worker processes import this package (for
    # myself_i2i.web.pool) and should not pay for FastAPI.
    if name in __all__:
        from myself_i2i.web import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
