"""``myself-i2i repo serve``: a manifest repository over HTTP (FastAPI; extra ``[web]``).

* ``GET /by-locator/XX/<locator>.c2pa`` — the manifest store (same paths as a static copy);
* ``GET /api/search?fingerprint=HEX&radius=N`` — nearest manifests by fingerprint;
* ``POST /api/manifests?fingerprint=HEX[&locator=HEX][&title=T]`` with the store as the
  body and ``Authorization: Bearer <upload token>`` — only the owner adds manifests;
* ``GET /revocations/<grant id>.cose`` and ``POST /api/revocations/<grant id>`` (upload
  token; the body must be a signed revocation of that grant) — an artist's withdrawn grants.

The C2PA Soft Binding Resolution API (OpenAPI 1.1.0, published with the C2PA soft-binding
documents):

* ``GET /services/supportedAlgorithms`` — ``{watermarks: [{alg}], fingerprints: [{alg}]}``;
* ``GET /matches/byBinding?alg=&value=`` (value base64; ``maxResults``) and ``POST
  /matches/byBinding`` with ``{alg, value}`` — ``{matches: [{manifestId, endpoint,
  similarityScore}]}``; our extension fields: ``firstPublished`` (ISO 8601, when this
  repository first received the manifest) and ``distance`` (fingerprint bits); an
  optional ``radius`` (0-16) for fingerprint look-ups;
* ``POST /matches/byContent`` with an image body — the watermark and fingerprint are read
  from the pixels here;
* ``GET /manifests/{manifestId}`` — the manifest store (``application/c2pa``), with the
  first-published time in the ``First-Published`` header.

What it served before stays: ``GET /by-locator/XX/<locator>.c2pa`` (the paths of a static
copy), ``GET /api/search``, and ``POST /api/manifests`` (upload). An upload with the
bearer token is the owner's; without it, an upload is accepted only when open publishing
is on and the store proves itself (see :func:`myself_i2i.softbinding.publish.prove_store`),
within per-key and per-address limits, and its signer is not on the block list.

The app keeps no state of its own: one repository connection per thread, everything else
in the repository, so several worker processes can serve one PostgreSQL database.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at
# run time, and ``Request`` is imported inside :func:`create_repository_app` (the web
# extra is optional), so string annotations could not be resolved and the upload
# endpoint would take ``request`` for a required query parameter (422 on every upload).
import base64
import binascii
import contextlib
import datetime as dt
import hmac
import json
import os
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from myself_i2i.errors import ConfigError, MyselfI2IError
from myself_i2i.repository import (
    SEARCH_RADIUS,
    DuplicateLocator,
    LocalRepository,
    _locator_path,
    is_postgresql,
    open_repository,
)

MAX_STORE_BYTES = 8 * 1024 * 1024
#: Largest image accepted by ``POST /matches/byContent``.
MAX_CONTENT_BYTES = 25 * 1024 * 1024
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
#: Environment of :func:`app_from_env` (what ``repo serve --workers N`` passes its workers).
ENV_REPO = "MYSELF_I2I_SERVE_REPO"
ENV_TOKEN = "MYSELF_I2I_REPO_TOKEN"
ENV_OPEN = "MYSELF_I2I_SERVE_OPEN"
ENV_PUBLIC_URL = "MYSELF_I2I_SERVE_PUBLIC_URL"


@dataclass(frozen=True)
class OpenPublishing:
    """Limits of publishing without the bearer token (off unless ``enabled``).

    Args:
        enabled: accept uploads that prove themselves.
        max_store_bytes: largest manifest store (real ones are 20-60 kB).
        per_key_per_hour: new manifests one signer key may publish per hour.
        per_client_per_hour: new manifests one client address may publish per hour.
    """

    enabled: bool = False
    max_store_bytes: int = 512 * 1024
    per_key_per_hour: int = 200
    per_client_per_hour: int = 500

    @classmethod
    def on(cls) -> "OpenPublishing":
        return cls(enabled=True)


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.timezone.utc).isoformat() if t is not None else None


def _score(distance: int) -> int:
    """The API's 0-100 similarity from a 64-bit Hamming distance."""
    return max(0, min(100, round(100 * (64 - distance) / 64)))


def create_repository_app(
    root: Path | str,
    token: str | None = None,
    open_publishing: OpenPublishing | None = None,
    public_url: str | None = None,
    threads: int = 8,
) -> Any:
    """The FastAPI app serving the repository ``root`` (a folder or a PostgreSQL URL).

    Args:
        root: repository folder, or ``postgresql://…``.
        token: the upload bearer token; default: the folder's ``upload-token`` file (a
            PostgreSQL repository has none: without ``token`` only open publishing adds).
        open_publishing: accept self-proving uploads without the token, within limits.
        public_url: this service's public base URL, returned as each match's ``endpoint``.
        threads: request threads of this process, and so at most this many database
            connections per worker process.

    Raises:
        ConfigError: FastAPI is not installed.
        RepositoryError: ``root`` is not a repository or cannot be reached.
    """
    try:
        from fastapi import FastAPI, HTTPException, Request, Response
        from starlette.concurrency import run_in_threadpool
    except ImportError as e:
        raise ConfigError(
            "the repository server needs the web extra: pip install 'myself-i2i[web]'.",
            "リポジトリサーバーには web 追加機能が必要です：pip install 'myself-i2i[web]'。",
        ) from e
    from myself_i2i.softbinding import FINGERPRINT_ALG
    from myself_i2i.softbinding.watermark import WATERMARK_ALG

    spec = str(root)
    local_root = None if is_postgresql(spec) else Path(spec).expanduser()
    policy = open_publishing or OpenPublishing()
    first = open_repository(spec, create=True)
    upload_token = token
    if upload_token is None and isinstance(first, LocalRepository):
        upload_token = first.upload_token()
    first.close()
    local = threading.local()

    def repo() -> Any:
        """This thread's repository connection (opened on first use, then kept)."""
        r = getattr(local, "repo", None)
        if r is not None and getattr(r, "broken", False):
            r = None  # the database connection died (server restart): open a new one
        if r is None:
            r = open_repository(spec)
            local.repo = r
        return r

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        # Each request thread keeps one repository connection, so the thread pool's size
        # bounds this process's database connections (anyio's default is 40).
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(
        title="myself_i2i manifest repository (C2PA Soft Binding Resolution API)",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )

    def match(locator: bytes, distance: int | None, when: dt.datetime | None) -> dict[str, Any]:
        m: dict[str, Any] = {
            "manifestId": locator.hex(),
            "endpoint": public_url,
            "similarityScore": 100 if distance is None else _score(distance),
            "firstPublished": _iso(when),
        }
        if distance is not None:
            m["distance"] = distance
        return m

    def by_binding(alg: str, value: str, max_results: int, radius: int) -> dict[str, Any]:
        if not 1 <= max_results <= 100 or not 0 <= radius <= 16:
            raise HTTPException(400, "maxResults: 1-100; radius: 0-16")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(400, "value: base64") from None
        if alg not in (FINGERPRINT_ALG, WATERMARK_ALG):
            raise HTTPException(400, f"unsupported alg; see /services/supportedAlgorithms: {alg}")
        if len(raw) != 8:
            raise HTTPException(400, "value: 8 bytes for this alg")
        r = repo()
        if alg == WATERMARK_ALG:
            when = r.first_published(raw)
            return {"matches": [match(raw, None, when)] if when is not None else []}
        cands = r.search(raw.hex(), radius, limit=max_results)
        return {"matches": [match(c.locator, c.distance, c.first_published) for c in cands]}

    @app.get("/services/supportedAlgorithms")
    def supported() -> dict[str, Any]:
        return {"watermarks": [{"alg": WATERMARK_ALG}], "fingerprints": [{"alg": FINGERPRINT_ALG}]}

    @app.get("/matches/byBinding")
    def matches_by_binding(
        alg: str, value: str, maxResults: int = 10, radius: int = SEARCH_RADIUS
    ) -> dict[str, Any]:
        return by_binding(alg, value, maxResults, radius)

    @app.post("/matches/byBinding")
    async def matches_by_large_binding(request: Request, maxResults: int = 10) -> dict[str, Any]:
        try:
            query = json.loads(await _read_capped(request, 64 * 1024))
        except ValueError:
            raise HTTPException(400, "body: JSON {alg, value}") from None
        if not isinstance(query, dict):
            raise HTTPException(400, "body: JSON {alg, value}")
        alg, value = query.get("alg"), query.get("value")
        if not isinstance(alg, str) or not isinstance(value, str):
            raise HTTPException(400, "body: {alg, value}")
        radius = query.get("radius", SEARCH_RADIUS)
        rad = radius if isinstance(radius, int) else -1
        return await run_in_threadpool(by_binding, alg, value, maxResults, rad)

    @app.post("/matches/byContent")
    async def matches_by_content(
        request: Request, alg: str | None = None, maxResults: int = 10
    ) -> dict[str, Any]:
        if alg is not None and alg not in (FINGERPRINT_ALG, WATERMARK_ALG):
            raise HTTPException(400, f"unsupported alg: {alg}")
        if not 1 <= maxResults <= 100:
            raise HTTPException(400, "maxResults: 1-100")
        body = await _read_capped(request, MAX_CONTENT_BYTES)
        if not body:
            raise HTTPException(400, "empty body")
        return await run_in_threadpool(_by_content, body, alg, maxResults)

    def _by_content(body: bytes, alg: str | None, max_results: int) -> dict[str, Any]:
        from myself_i2i.images import open_image, perceptual_hash
        from myself_i2i.softbinding.watermark import decode

        try:
            with open_image(body, name="upload") as img:
                locator = decode(img) if alg in (None, WATERMARK_ALG) else None
                fp = perceptual_hash(img)
        except MyselfI2IError:
            raise HTTPException(415, "not a supported image") from None
        r = repo()
        out: list[dict[str, Any]] = []
        if locator is not None and (when := r.first_published(locator)) is not None:
            out.append(match(locator, None, when))
        if alg in (None, FINGERPRINT_ALG):
            for c in r.search(fp, SEARCH_RADIUS, limit=max_results):
                if all(m["manifestId"] != c.locator.hex() for m in out):
                    out.append(match(c.locator, c.distance, c.first_published))
        return {"matches": out[:max_results]}

    @app.get("/manifests/{manifest_id}")
    def get_manifest_by_id(manifest_id: str) -> Response:
        mid = manifest_id.lower()
        if not _HEX16.match(mid):
            raise HTTPException(404, "C2PA Manifest not found")
        r = repo()
        loc = bytes.fromhex(mid)
        store = r.get(loc)
        if store is None:
            raise HTTPException(404, "C2PA Manifest not found")
        headers = {}
        when = r.first_published(loc)
        if when is not None:
            headers["First-Published"] = _iso(when) or ""
        return Response(store, media_type="application/c2pa", headers=headers)

    @app.get("/by-locator/{prefix}/{filename}")
    def get_manifest(prefix: str, filename: str) -> Response:
        m = re.fullmatch(r"([0-9a-f]{16})\.c2pa", filename)
        if not m or m.group(1)[:2] != prefix:
            raise HTTPException(404)
        loc = bytes.fromhex(m.group(1))
        if local_root is not None:
            # the file itself, as a static host serves it (no index access, no write lock)
            try:
                store = _locator_path(local_root, loc).read_bytes()
            except FileNotFoundError:
                raise HTTPException(404) from None
        else:
            store = repo().get(loc)
            if store is None:
                raise HTTPException(404)
        return Response(store, media_type="application/c2pa")

    @app.get("/api/search")
    def search(fingerprint: str, radius: int = SEARCH_RADIUS) -> dict[str, Any]:
        fp = fingerprint.lower()
        if not _HEX16.match(fp) or not 0 <= radius <= 16:
            raise HTTPException(422, "fingerprint: 16 hex digits; radius: 0-16")
        cands = repo().search(fp, radius)
        return {
            "candidates": [
                {
                    "locator": c.locator.hex(),
                    "distance": c.distance,
                    "firstPublished": _iso(c.first_published),
                }
                for c in cands
            ]
        }

    @app.post("/api/manifests", status_code=201)
    async def upload(
        request: Request,
        response: Response,
        fingerprint: str | None = None,
        locator: str | None = None,
        title: str = "",
    ) -> dict[str, Any]:
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        owner = bool(
            given and upload_token and hmac.compare_digest(given.encode(), upload_token.encode())
        )
        if not owner and (given or not policy.enabled):
            raise HTTPException(401, "upload token required")
        cap = MAX_STORE_BYTES if owner else policy.max_store_bytes
        body = await _read_capped(request, cap)
        if not body:
            raise HTTPException(422, "empty body")
        if owner:
            fp = (fingerprint or "").lower()
            if not _HEX16.match(fp) or (locator is not None and not _HEX16.match(locator.lower())):
                raise HTTPException(422, "fingerprint / locator: 16 hex digits")
            return await run_in_threadpool(
                _owner_publish, body, bytes.fromhex(locator) if locator else None, fp, title
            )
        client = request.client.host if request.client else "unknown"
        result, status = await run_in_threadpool(_open_publish, body, client)
        response.status_code = status
        return result

    def _owner_publish(body: bytes, locator: bytes | None, fp: str, title: str) -> dict[str, Any]:
        r = repo()
        loc = r.add(body, locator=locator, fingerprint=fp, title=title[:200])
        return {"locator": loc.hex(), "firstPublished": _iso(r.first_published(loc))}

    def _open_publish(body: bytes, client: str) -> tuple[dict[str, Any], int]:
        """Steps: 1. duplicate → the existing locator; 2. per-address limit; 3. the store
        proves itself; 4. signer not blocked; 5. per-key limit; 6. add without replacing."""
        from myself_i2i.softbinding.publish import prove_store

        r = repo()
        # 1. Duplicate detection (does not count against the limits).
        dup = r.find_store(body)
        if dup is not None:
            return {"locator": dup.hex(), "firstPublished": _iso(r.first_published(dup))}, 200
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        # 2. Per-address limit (before the costly validation).
        if r.recent_count(client=client, since=since) >= policy.per_client_per_hour:
            raise HTTPException(429, "too many uploads from this address; retry later")
        # 3. Proof.
        try:
            proof = prove_store(body)
        except MyselfI2IError as e:
            raise HTTPException(422, e.text.en) from None
        # 4. Block list.
        if r.is_blocked(proof.signer):
            raise HTTPException(403, "this signer is blocked by the repository operator")
        # 5. Per-key limit.
        if r.recent_count(signer=proof.signer, since=since) >= policy.per_key_per_hour:
            raise HTTPException(429, "too many uploads for this key; retry later")
        # 6. Add; a locator already holding another manifest is never replaced.
        try:
            loc = r.add(
                body,
                locator=proof.locator,
                fingerprint=proof.fingerprint,
                title=proof.title,
                signer=proof.signer,
                client=client,
                replace=False,
            )
        except DuplicateLocator:
            raise HTTPException(409, "this locator already holds another manifest") from None
        return {"locator": loc.hex(), "firstPublished": _iso(r.first_published(loc))}, 201

    async def _read_capped(request: Request, cap: int) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise HTTPException(413, "body too large")
        parts: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            parts.append(chunk)
            size += len(chunk)
            if size > cap:
                raise HTTPException(413, "body too large")
        return b"".join(parts)

    @app.get("/revocations/{filename}")
    def get_revocation(filename: str) -> Response:
        m = re.fullmatch(r"([0-9a-f]{32})\.cose", filename)
        if not m:
            raise HTTPException(404)
        get = getattr(repo(), "get_revocation", None)  # folders keep revocations
        raw = get(m.group(1)) if get is not None else None
        if raw is None:
            raise HTTPException(404)
        return Response(raw, media_type="application/cose")

    @app.post("/api/revocations/{grant_id}", status_code=201)
    async def upload_revocation(request: Request, grant_id: str) -> dict[str, str]:
        from myself_i2i.errors import GrantError
        from myself_i2i.grants import MAX_GRANT_BYTES, parse_revocation

        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not given or upload_token is None or not hmac.compare_digest(given, upload_token):
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
        add = getattr(repo(), "add_revocation", None)
        if add is None:
            raise HTTPException(501, "this repository does not keep revocations")
        add(grant_id, body)
        return {"grant": grant_id}

    return app


def app_from_env() -> Any:
    """The app as configured by ``repo serve`` for its worker processes (uvicorn factory).

    Raises:
        ConfigError: ``MYSELF_I2I_SERVE_REPO`` is not set.
    """
    spec = os.environ.get(ENV_REPO)
    if not spec:
        raise ConfigError(f"{ENV_REPO} is not set.", f"{ENV_REPO} が設定されていません。")
    return create_repository_app(
        spec,
        token=os.environ.get(ENV_TOKEN) or None,
        open_publishing=OpenPublishing.on() if os.environ.get(ENV_OPEN) == "1" else None,
        public_url=os.environ.get(ENV_PUBLIC_URL) or None,
    )
