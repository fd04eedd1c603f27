"""The studio's FastAPI application (see :mod:`myself_i2i.studio`).

A thin client of the library, working with the user's own identity and files:
:func:`~myself_i2i.protect.protect_artwork`, :func:`~myself_i2i.grants.make_grant`,
:meth:`~myself_i2i.registry.SourceRegistry.add_paths` and
:func:`~myself_i2i.sign.sign_image`. Uploads are written to a private temporary folder
(mode 0700) that lives as long as the app; results are downloaded from there.

Who may drive it (numbered in :class:`_Guard`):

1. only requests addressed to this loopback server (``Host`` is ``127.0.0.1:PORT`` or
   ``localhost:PORT``), which defeats DNS rebinding;
2. every ``POST`` carries the per-run CSRF token in ``X-CSRF-Token``; the token is only in
   the page this server serves, and another site cannot read it nor send the header
   without a CORS pre-flight this server never answers;
3. a ``POST`` with an ``Origin`` must come from this server;
4. bodies above the upload limit are refused before they are read.
"""

from __future__ import annotations

import hmac
import re
import secrets
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from myself_i2i import __version__
from myself_i2i.errors import ConfigError, InputError, MyselfI2IError
from myself_i2i.i18n import Text

MB = 1024 * 1024

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_STATIC = {
    "studio.js": "text/javascript; charset=utf-8",
    "studio.css": "text/css; charset=utf-8",
}
_LOOPBACK = ("127.0.0.1",)


@dataclass(frozen=True)
class StudioConfig:
    """Settings of the studio.

    Attributes:
        max_upload_bytes: the largest request body (all files of one action), 200 MB.
        csrf_token: the token the page must send; a fresh random one by default.
    """

    max_upload_bytes: int = 200 * MB
    csrf_token: str = ""


def _error(status: int, text: Text) -> JSONResponse:
    return JSONResponse({"error": text.to_dict()}, status_code=status)


class _Guard:
    """ASGI middleware: security headers, loopback Host, CSRF token, Origin, size limit."""

    def __init__(self, app: ASGIApp, token: str, limit: int) -> None:
        self.app = app
        self.token = token
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        port = (scope.get("server") or ("", 80))[1]
        mine = {f"{h}:{port}" for h in ("127.0.0.1", "localhost")}
        if port == 80:
            mine |= {"127.0.0.1", "localhost"}
        # 1. Loopback Host only.
        if headers.get("host", "") not in mine:
            resp = _error(
                403,
                Text(
                    "This studio only answers on 127.0.0.1.",
                    "このスタジオは 127.0.0.1 でのみ応答します。",
                ),
            )
            await resp(scope, receive, send_with_headers)
            return
        if scope["method"] == "POST":
            # 2. The CSRF token.
            given = headers.get("x-csrf-token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                resp = _error(
                    403,
                    Text(
                        "Missing or wrong page token: reload the studio page.",
                        "ページのトークンがないか違います。スタジオのページを再読み込みしてください。",
                    ),
                )
                await resp(scope, receive, send_with_headers)
                return
            # 3. Origin, when the browser sends one.
            origin = headers.get("origin")
            if origin is not None and origin not in {f"http://{h}" for h in mine}:
                resp = _error(
                    403, Text("Cross-site request refused.", "他サイトからの要求は拒否します。")
                )
                await resp(scope, receive, send_with_headers)
                return
            # 4. Size.
            length = headers.get("content-length", "0")
            if not length.isdigit() or int(length) > self.limit:
                resp = _error(
                    413,
                    Text(
                        f"The upload is too large (at most {self.limit // MB} MB).",
                        f"アップロードが大きすぎます（{self.limit // MB} MB まで）。",
                    ),
                )
                await resp(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


_SAFE = re.compile(r"[^0-9A-Za-z._\-\u3040-\u30ff\u4e00-\u9fff]+")


def _safe_name(name: str | None, default: str) -> str:
    base = Path(name or default).name
    base = _SAFE.sub("_", base).strip("._") or default
    return base[:120]


class _Store:
    """The private folder of one studio run: uploads and results, by random id."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="myself-i2i-studio-")
        self.root = Path(self._dir.name)
        self.results: dict[str, Path] = {}

    async def save(self, upload: UploadFile, default: str) -> Path:
        folder = self.root / "in" / secrets.token_hex(8)
        folder.mkdir(parents=True)
        path = folder / _safe_name(upload.filename, default)
        path.write_bytes(await upload.read())
        return path

    def out_dir(self) -> Path:
        folder = self.root / "out" / secrets.token_hex(8)
        folder.mkdir(parents=True)
        return folder

    def publish(self, path: Path) -> dict[str, str]:
        rid = secrets.token_urlsafe(12)
        self.results[rid] = path
        return {"id": rid, "name": path.name, "url": f"/api/download/{rid}"}


def _identity(passphrase: str | None = None) -> Any:
    """The user's identity; an encrypted key takes the page's passphrase or the env one."""
    import os

    from myself_i2i.identity import PASSPHRASE_ENV, IdentityStore

    store = IdentityStore.default()
    if not store.exists() or not store.encrypted:
        return store.load(None)
    return store.load(passphrase or os.environ.get(PASSPHRASE_ENV) or None)


def create_studio_app(config: StudioConfig | None = None) -> FastAPI:
    """The studio as an ASGI app (serve it on 127.0.0.1 only: see :func:`serve_studio`)."""
    cfg = config or StudioConfig()
    token = cfg.csrf_token or secrets.token_urlsafe(32)
    store = _Store()
    app = FastAPI(
        title="myself_i2i studio",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.csrf_token = token
    app.state.store = store

    @app.exception_handler(MyselfI2IError)
    async def _our_error(_req: Request, exc: MyselfI2IError) -> JSONResponse:
        from myself_i2i.errors import PledgeRefused

        # The user knows their files by name, not by this run's private folder.
        private = re.compile(re.escape(str(store.root)) + r"/(?:in|out)/[0-9a-f]+/")
        text = Text(private.sub("", exc.text.en), private.sub("", exc.text.ja))
        return _error(422 if isinstance(exc, PledgeRefused) else 400, text)

    @app.get("/")
    def index() -> Response:
        html = (
            resources.files("myself_i2i.studio")
            .joinpath("static", "studio.html")
            .read_text("utf-8")
        )
        return Response(html.replace("{{CSRF}}", token), media_type="text/html; charset=utf-8")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in _STATIC:
            return _error(404, Text("Not found.", "見つかりません。"))
        data = resources.files("myself_i2i.studio").joinpath("static", name).read_bytes()
        return Response(data, media_type=_STATIC[name])

    @app.get("/api/identity")
    def identity_get() -> dict[str, Any]:
        from myself_i2i.identity import IdentityStore

        s = IdentityStore.default()
        if not s.exists():
            return {"exists": False}
        name, tok, _ca, leaf = s.public()
        return {
            "exists": True,
            "name": name,
            "token": tok,
            "encrypted": s.encrypted,
            "validUntil": leaf.not_valid_after_utc.date().isoformat(),
        }

    @app.post("/api/identity")
    def identity_create(name: Annotated[str, Form()]) -> dict[str, Any]:
        from myself_i2i.identity import IdentityStore

        if not name.strip():
            raise ConfigError("Give a name or @handle.", "名前か @ハンドルを入力してください。")
        ident = IdentityStore.default().create(name.strip()[:64])
        return {"exists": True, "name": ident.name, "token": ident.token}

    @app.post("/api/protect")
    async def protect(
        files: Annotated[list[UploadFile], File()],
        contact: Annotated[str, Form()] = "",
        passphrase: Annotated[str, Form()] = "",
    ) -> dict[str, Any]:
        from myself_i2i.protect import ProtectOptions, protect_artwork

        ident = _identity(passphrase)
        out: list[dict[str, str]] = []
        notes: list[dict[str, str]] = []
        for up in files:
            src = await store.save(up, "artwork.png")
            target = store.out_dir() / f"{src.stem}.protected{src.suffix}"
            res = protect_artwork(
                src, ident, output=target, options=ProtectOptions(contact=contact or None)
            )
            out.append(store.publish(res.output))
            notes.extend(n.to_dict() for n in res.notes_text)
        return {"results": out, "notes": notes, "artist": ident.name, "token": ident.token}

    @app.post("/api/permit")
    async def permit(
        artwork: Annotated[UploadFile, File()],
        to: Annotated[str, Form()],
        until: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
        passphrase: Annotated[str, Form()] = "",
    ) -> dict[str, Any]:
        import datetime as dt

        from myself_i2i.grants import make_grant, parse_grant
        from myself_i2i.protect import artwork_of

        ident = _identity(passphrase)
        src = await store.save(artwork, "artwork.png")
        expires: dt.datetime | None = None
        if until.strip():
            try:
                day = dt.date.fromisoformat(until.strip())
            except ValueError as e:
                raise ConfigError(
                    f"{until!r} is not a date (YYYY-MM-DD).",
                    f"{until!r} は日付（YYYY-MM-DD）ではありません。",
                ) from e
            expires = dt.datetime.combine(day, dt.time(23, 59, 59), dt.timezone.utc)
        raw = make_grant(artwork_of(src), ident, to, until=expires, note=note or None)
        g = parse_grant(raw)
        path = store.out_dir() / f"{src.stem}.{g.grantee_token[5:9].lower()}.grant"
        path.write_bytes(raw)
        return {"result": store.publish(path), "grant": g.to_dict()}

    @app.post("/api/sources")
    async def sources(
        files: Annotated[list[UploadFile], File()],
        relation: Annotated[str, Form()] = "own-drawing",
    ) -> dict[str, Any]:
        from myself_i2i.models import Relation
        from myself_i2i.registry import SourceRegistry

        rel = Relation.parse(relation)
        if rel is Relation.PERMITTED:
            raise ConfigError(
                "In the studio, register your own pictures; for someone else's picture use "
                "their signed grant when signing.",
                "スタジオでは自分の絵・写真を登録します。他の人の絵は署名時に作者の許可証を"
                "使ってください。",
            )
        paths = [await store.save(up, "source.png") for up in files]
        with SourceRegistry.open() as reg:
            res = reg.add_paths(paths, rel, None)
        return {
            "added": res.added,
            "already": res.already,
            "failed": [t.to_dict() for t in res.failed_text],
        }

    @app.post("/api/sign")
    async def sign(
        image: Annotated[UploadFile, File()],
        sources: Annotated[list[UploadFile] | None, File()] = None,
        grants: Annotated[list[UploadFile] | None, File()] = None,
        t2i: Annotated[bool, Form()] = False,
        hashtag: Annotated[str, Form()] = "#Myself_i2i",
        passphrase: Annotated[str, Form()] = "",
    ) -> dict[str, Any]:
        from myself_i2i.grants import MAX_GRANT_BYTES
        from myself_i2i.models import SourceSpec
        from myself_i2i.sign import SignOptions, sign_image

        ident = _identity(passphrase)
        img = await store.save(image, "generated.png")
        specs = [SourceSpec(await store.save(s, "source.png")) for s in (sources or [])]
        blobs: list[bytes] = []
        for g in grants or []:
            blob = await g.read()
            if len(blob) > MAX_GRANT_BYTES:
                raise InputError("The grant file is too large.", "許可証ファイルが大きすぎます。")
            blobs.append(blob)
        target = store.out_dir() / f"{img.stem}.signed{img.suffix}"
        res = sign_image(
            img,
            ident,
            t2i=t2i and not specs,
            sources=specs,
            output=target,
            options=SignOptions(hashtag=hashtag, grants=tuple(blobs)),
        )
        return {
            "result": store.publish(res.output),
            "kind": res.pledge.kind.value if res.pledge else None,
            "sources": [
                {"title": s.record.title, "relation": s.record.relation.value, "reason": s.reason}
                for s in res.sources
            ],
            "notes": [n.to_dict() for n in res.notes_text],
        }

    @app.get("/api/download/{rid}")
    def download(rid: str) -> Response:
        path = store.results.get(rid)
        if path is None or not path.exists():
            return _error(
                404,
                Text("No such file (it was made in an earlier run?).", "ファイルがありません。"),
            )
        return FileResponse(path, filename=path.name, media_type="application/octet-stream")

    app.add_middleware(_Guard, token=token, limit=cfg.max_upload_bytes)
    return app


def check_loopback(host: str) -> None:
    """The studio signs with your key: it listens on 127.0.0.1 and nowhere else.

    Raises:
        ConfigError: any other address.
    """
    if host not in _LOOPBACK:
        raise ConfigError(
            f"the studio works with your signing key, so it only listens on 127.0.0.1 (not "
            f"{host!r}). Use the web verifier (`myself-i2i serve`) for a public page.",
            f"スタジオはあなたの署名鍵を使うため 127.0.0.1 でのみ待ち受けます（{host!r} は不可）。"
            "公開ページには Web 検証ページ（`myself-i2i serve`）を使ってください。",
        )


def serve_studio(port: int = 8765, *, host: str = "127.0.0.1", open_browser: bool = True) -> None:
    """Run the studio with uvicorn on 127.0.0.1 until interrupted.

    Raises:
        ConfigError: ``host`` is not 127.0.0.1.
    """
    check_loopback(host)
    import threading
    import webbrowser

    import uvicorn

    app = create_studio_app()
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (f"http://127.0.0.1:{port}/",)).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
