"""The web verifier: a page and an HTTP API over :func:`myself_i2i.verify.verify_bytes`.

Needs the ``web`` extra (FastAPI, uvicorn, python-multipart). Importing this package
without it raises :class:`~myself_i2i.errors.ConfigError` with the install command.

* ``GET /`` — the page (drop an image, paste the post, read the answer);
* ``POST /api/verify`` — multipart ``image`` [+ ``text``, ``key_token``, ``against``];
  returns ``Report.to_dict()``; ``?include=thumbnails`` adds a top-level ``thumbnails``;
* ``GET /api/health``, ``GET /openapi.json``, ``GET /docs`` (a short page, no CDN).
"""

from __future__ import annotations

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

from myself_i2i.web.app import WebConfig, create_app, serve  # noqa: E402

__all__ = ["WebConfig", "create_app", "require_web", "serve"]
