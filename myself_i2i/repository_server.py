"""``myself-i2i repo serve``: a manifest repository over HTTP (FastAPI; extra ``[web]``).

* ``GET /by-locator/XX/<locator>.c2pa`` — the manifest store (same paths as a static copy);
* ``GET /api/search?fingerprint=HEX&radius=N`` — nearest manifests by fingerprint;
* ``POST /api/manifests?fingerprint=HEX[&locator=HEX][&title=T]`` with the store as the
  body and ``Authorization: Bearer <upload token>`` — only the owner adds manifests;
* ``GET /revocations/<grant id>.cose`` and ``POST /api/revocations/<grant id>`` (upload
  token; the body must be a signed revocation of that grant) — an artist's withdrawn grants.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at
# run time, and ``Request`` is imported inside :func:`create_repository_app` (the web
# extra is optional), so string annotations could not be resolved and the upload
# endpoint would take ``request`` for a required query parameter (422 on every upload).
import hmac
import re
from pathlib import Path
from typing import Any

from myself_i2i.errors import ConfigError
from myself_i2i.repository import SEARCH_RADIUS, LocalRepository, _locator_path

MAX_STORE_BYTES = 8 * 1024 * 1024
_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def create_repository_app(root: Path, token: str | None = None) -> Any:
    """The FastAPI app serving the repository at ``root``.

    Raises:
        ConfigError: FastAPI is not installed.
        RepositoryError: ``root`` is not a repository.
    """
    try:
        from fastapi import FastAPI, HTTPException, Request, Response
    except ImportError as e:
        raise ConfigError(
            "the repository server needs the web extra: pip install 'myself-i2i[web]'.",
            "リポジトリサーバーには web 追加機能が必要です：pip install 'myself-i2i[web]'。",
        ) from e
    repo = LocalRepository.open(root, create=True)
    upload_token = token or repo.upload_token()
    repo.close()
    app = FastAPI(title="myself_i2i manifest repository", docs_url=None, redoc_url=None)

    def _open() -> LocalRepository:
        return LocalRepository.open(root)

    @app.get("/by-locator/{prefix}/{filename}")
    def get_manifest(prefix: str, filename: str) -> Response:
        m = re.fullmatch(r"([0-9a-f]{16})\.c2pa", filename)
        if not m or m.group(1)[:2] != prefix:
            raise HTTPException(404)
        # the file itself, as a static host serves it (no index access, no write lock)
        try:
            store = _locator_path(root, bytes.fromhex(m.group(1))).read_bytes()
        except FileNotFoundError:
            raise HTTPException(404) from None
        return Response(store, media_type="application/c2pa")

    @app.get("/api/search")
    def search(fingerprint: str, radius: int = SEARCH_RADIUS) -> dict[str, Any]:
        fp = fingerprint.lower()
        if not _HEX16.match(fp) or not 0 <= radius <= 16:
            raise HTTPException(422, "fingerprint: 16 hex digits; radius: 0-16")
        with _open() as r:
            cands = r.search(fp, radius)
        return {"candidates": [{"locator": c.locator.hex(), "distance": c.distance} for c in cands]}

    @app.post("/api/manifests", status_code=201)
    async def upload(
        request: Request, fingerprint: str, locator: str | None = None, title: str = ""
    ) -> dict[str, str]:
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not given or not hmac.compare_digest(given, upload_token):
            raise HTTPException(401, "upload token required")
        fp = fingerprint.lower()
        if not _HEX16.match(fp) or (locator is not None and not _HEX16.match(locator.lower())):
            raise HTTPException(422, "fingerprint / locator: 16 hex digits")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_STORE_BYTES:
            raise HTTPException(413, "manifest store too large")
        parts: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_STORE_BYTES:
                raise HTTPException(413, "manifest store too large")
        body = b"".join(parts)
        if not body:
            raise HTTPException(422, "empty body")
        with _open() as r:
            loc = r.add(
                body,
                locator=bytes.fromhex(locator) if locator else None,
                fingerprint=fp,
                title=title[:200],
            )
        return {"locator": loc.hex()}

    @app.get("/revocations/{filename}")
    def get_revocation(filename: str) -> Response:
        m = re.fullmatch(r"([0-9a-f]{32})\.cose", filename)
        if not m:
            raise HTTPException(404)
        with _open() as r:
            raw = r.get_revocation(m.group(1))
        if raw is None:
            raise HTTPException(404)
        return Response(raw, media_type="application/cose")

    @app.post("/api/revocations/{grant_id}", status_code=201)
    async def upload_revocation(request: Request, grant_id: str) -> dict[str, str]:
        from myself_i2i.errors import GrantError
        from myself_i2i.grants import MAX_GRANT_BYTES, parse_revocation

        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not given or not hmac.compare_digest(given, upload_token):
            raise HTTPException(401, "upload token required")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_GRANT_BYTES:
                raise HTTPException(413, "revocation too large")
        try:
            rev = parse_revocation(body)
        except GrantError:
            raise HTTPException(422, "not a signed grant revocation") from None
        if rev.grant_id != grant_id:
            raise HTTPException(422, "the revocation names another grant")
        with _open() as r:
            r.add_revocation(grant_id, body)
        return {"grant": grant_id}

    return app
