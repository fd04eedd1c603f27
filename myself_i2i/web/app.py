"""The FastAPI application of the web verifier (see :mod:`myself_i2i.web`).

The app is a thin client of the library: it reads the upload, calls
:func:`~myself_i2i.verify.verify_bytes` and returns ``Report.to_dict()``. Errors of the
:class:`~myself_i2i.errors.MyselfI2IError` family are caught once, in the exception
handlers, and returned as ``{"error": {"en": ..., "ja": ...}}``; nothing reaches the
client as a traceback.

Uploads are limited twice: by ``Content-Length`` before any byte is read, and by counting
the bytes while they arrive (a chunked or lying client). They are kept in memory (or in
Starlette's anonymous spooled temp file); only the ``against`` original is written, to a
:class:`tempfile.TemporaryDirectory` removed when the request ends.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myself_i2i import __version__
from myself_i2i.errors import ConfigError, InputError, MyselfI2IError
from myself_i2i.i18n import Text
from myself_i2i.keyring import Keyring
from myself_i2i.verify import VerifyOptions, verify_bytes

log = logging.getLogger("myself_i2i.web")

MB = 1024 * 1024

#: Strict: everything comes from this server; report thumbnails are data: URLs and the
#: preview of the dropped file is a blob: URL.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "docs.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@dataclass(frozen=True)
class WebConfig:
    """Settings of the web verifier. Every field has a safe default.

    Attributes:
        max_upload_bytes: the largest request body accepted (image + original + text),
            50 MB by default; larger requests get 413 before they are read.
        keyring_path: the keyring of trusted creators; None (default) means the server's
            own ``$MYSELF_I2I_HOME/keyring.json``, re-read for each request.
        repositories: manifest repositories (folders or URLs) searched to recover the
            manifest of a re-encoded copy, in addition to the configured defaults.
        use_default_repositories: also search the repositories configured in the server's
            ``MYSELF_I2I_HOME`` (and the local one), as ``myself-i2i verify`` does.
    """

    max_upload_bytes: int = 50 * MB
    keyring_path: Path | None = None
    repositories: tuple[str, ...] = field(default_factory=tuple)
    use_default_repositories: bool = True

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1024:
            raise ConfigError(
                f"max_upload_bytes must be at least 1024 (got {self.max_upload_bytes}).",
                f"max_upload_bytes は 1024 以上にしてください（{self.max_upload_bytes}）。",
            )


class ApiError(HTTPException):
    """An HTTP error with a bilingual message; FastAPI re-raises it from body parsing."""

    def __init__(self, status_code: int, text: Text) -> None:
        super().__init__(status_code, text.en)
        self.text = text


def _too_large(limit: int) -> ApiError:
    mb = f"{limit / MB:.0f} MB" if limit >= MB else f"{limit} bytes"
    return ApiError(
        413,
        Text(
            f"The upload is too large: at most {mb} per request.",
            f"アップロードが大きすぎます：1 回あたり {mb} までです。",
        ),
    )


def _error_body(text: Text, **extra: Any) -> dict[str, Any]:
    return {"error": {**text.to_dict(), **extra}}


class _Guard:
    """ASGI middleware: security headers everywhere, the upload limit on ``/api/``."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        # 1. Content-Length, before reading anything.
        for k, v in scope.get("headers", []):
            if k == b"content-length" and (not v.isdigit() or int(v) > self.limit):
                err = _too_large(self.limit)
                resp = JSONResponse(_error_body(err.text), status_code=413)
                resp.headers["connection"] = "close"
                await resp(scope, receive, send_with_headers)
                return
        # 2. Count while reading (chunked bodies, or a Content-Length that lies).
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _too_large(self.limit)
            return message

        await self.app(scope, counting_receive, send_with_headers)


def _sniff(data: bytes) -> str | None:
    """The image type by content (magic numbers), whatever the file name or header says."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _read_upload(upload: UploadFile, what: Text) -> bytes:
    """The bytes of an uploaded image, refused with 415 unless PNG, JPEG or WebP."""
    data = upload.file.read()
    if not data:
        raise ApiError(
            422,
            Text(f"The {what.en} is empty.", f"{what.ja}が空です。"),
        )
    if _sniff(data) is None:
        raise ApiError(
            415,
            Text(
                f"The {what.en} is not a PNG, JPEG or WebP image. Save it in one of these formats.",
                f"{what.ja}は PNG・JPEG・WebP 画像ではありません。いずれかの形式で保存してください。",
            ),
        )
    return data


def _safe_name(name: str | None, default: str) -> str:
    """The upload's base name for messages (never used as a path on this server)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())[:120]
    return base if base and base not in (".", "..") else default


def create_app(config: WebConfig | None = None) -> FastAPI:
    """Build the web verifier.

    Args:
        config: :class:`WebConfig`; default: 50 MB uploads, the server's keyring.

    Raises:
        ConfigError: a setting is wrong.
        RepositoryError: a configured repository cannot be opened.
    """
    cfg = config or WebConfig()
    repos: list[Any] = []
    if cfg.repositories:
        from myself_i2i.repository import open_repository

        repos = [open_repository(r) for r in cfg.repositories]
    app = FastAPI(
        title="myself_i2i web verifier",
        version=__version__,
        description=(
            "Verify a downloaded image against the #Myself_i2i pledge and the post text. "
            "The response is the same JSON as `myself-i2i verify --json` "
            "(schemas/report.schema.json)."
        ),
        # Swagger UI and ReDoc load their scripts from a CDN, which the CSP forbids:
        # /docs is a short local page pointing at /openapi.json instead.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(_Guard, limit=cfg.max_upload_bytes)

    # --- errors: caught once, answered as {"error": {"en", "ja"}} -------------------------

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_error_body(exc.text), status_code=exc.status_code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        text = Text(str(exc.detail), str(exc.detail))
        return JSONResponse(_error_body(text), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        text = Text(
            f"The request is incomplete or malformed ({', '.join(fields)}). "
            "Send multipart/form-data with an 'image' file.",
            f"リクエストが不完全か不正です（{', '.join(fields)}）。"
            "multipart/form-data で 'image' ファイルを送ってください。",
        )
        return JSONResponse(_error_body(text, fields=fields), status_code=422)

    @app.exception_handler(MyselfI2IError)
    async def library_error(request: Request, exc: MyselfI2IError) -> JSONResponse:
        # InputError / ImageError (corrupt, truncated, bomb) and ConfigError (a malformed
        # key token) are the client's; anything else is the server's setup (keyring,
        # repository), still answered without a traceback.
        status = 422 if isinstance(exc, (InputError, ConfigError)) else 500
        if status == 500:
            log.warning("verify failed: %s", exc.diagnostics())
        return JSONResponse(_error_body(exc.text), status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in the web verifier")
        text = Text(
            "Internal error while verifying; the server log has the details.",
            "検証中に内部エラーが発生しました。詳細はサーバーのログにあります。",
        )
        return JSONResponse(_error_body(text), status_code=500)

    # --- the API ------------------------------------------------------------------------

    @app.post(
        "/api/verify",
        summary="Verify an image / 画像を検証",
        response_model=None,
        responses={
            200: {"description": "Report.to_dict() (schemas/report.schema.json)"},
            413: {"description": "Request body larger than max_upload_bytes"},
            415: {"description": "Not a PNG, JPEG or WebP image"},
            422: {"description": "Corrupt image, malformed key token, or missing field"},
        },
    )
    def verify(
        image: Annotated[UploadFile, File(description="The downloaded image (PNG, JPEG or WebP).")],
        text: Annotated[
            str | None, Form(description="The post text (hashtags, key token).")
        ] = None,
        key_token: Annotated[str | None, Form(description="Expected signer key token.")] = None,
        against: Annotated[
            UploadFile | None, File(description="Your original, to compare with (evidence).")
        ] = None,
        include: Annotated[
            str | None,
            Query(description="'thumbnails' adds a top-level `thumbnails` map (id -> data: URL)."),
        ] = None,
    ) -> JSONResponse:
        # A sync endpoint: FastAPI runs it in the thread pool, so verifying (CPU-bound,
        # tens of milliseconds) does not block the event loop.
        data = _read_upload(image, Text("image", "画像"))
        name = _safe_name(image.filename, "image")
        want_thumbs = "thumbnails" in (include or "").split(",")
        keyring = Keyring(cfg.keyring_path) if cfg.keyring_path else Keyring.default()
        opts = VerifyOptions(
            post_text=text or None,
            key_token=(key_token or "").strip() or None,
            keyring=keyring,
            repositories=repos,
            use_default_repositories=cfg.use_default_repositories,
            include_thumbnails=want_thumbs,
        )
        if against is not None and against.filename is not None and against.size != 0:
            original = _read_upload(against, Text("original", "原画"))
            # VerifyOptions.against takes paths: the original lives in a private
            # temporary directory that is removed when this block ends, error or not.
            with tempfile.TemporaryDirectory(prefix="myself-i2i-web-") as tmp:
                path = Path(tmp) / _safe_name(against.filename, "original.png")
                path.write_bytes(original)
                opts.against = [path]
                report = verify_bytes(data, name, opts)
            for ev in report.evidence:  # do not leak the temp path to the client
                ev["original"] = path.name
        else:
            report = verify_bytes(data, name, opts)
        body = report.to_dict()
        if want_thumbs:
            body["thumbnails"] = dict(report.thumbnails)
        return JSONResponse(body)

    @app.get("/api/health", summary="Liveness / 稼働確認")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "maxUploadBytes": cfg.max_upload_bytes}

    # --- the page -----------------------------------------------------------------------

    def _static(name: str) -> Response:
        body = resources.files("myself_i2i.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=_STATIC[name], headers={"cache-control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return _static("index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return _static("docs.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _STATIC:
            raise ApiError(404, Text("Not found.", "見つかりません。"))
        return _static(name)

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, config: WebConfig | None = None) -> None:
    """Run the web verifier with uvicorn until interrupted.

    Raises:
        ConfigError: a setting is wrong.
    """
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
