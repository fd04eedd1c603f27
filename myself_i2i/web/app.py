"""The FastAPI application of the web verifier (see :mod:`myself_i2i.web`).

The app is a thin client of the library: it reads the upload and hands it to a
:class:`~myself_i2i.web.pool.VerifierPool`, whose worker processes call
:func:`~myself_i2i.verify.verify_bytes` and return ``Report.to_dict()``. The server
process itself never decodes an image, so a hostile file can cost a worker (replaced
at once), never the server. Errors are answered as ``{"error": {"en": ..., "ja": ...}}``;
nothing reaches the client as a traceback, and no error closes a keep-alive connection
that could be kept.

Defences, outside in (see docs/web.md):

1. uvicorn: a deadline for the request head (:func:`uvicorn_config`), keep-alive timeout,
   a bound on header size and on connections;
2. :class:`_Guard`: security headers; at most ``max_requests`` verify requests in progress
   (503 before the body is read); the body limit (``Content-Length``, then counted); a
   deadline for the whole body (408); unexpected exceptions become a JSON 500;
3. the pool: ``workers`` processes, ``queue_size`` waiting (then 503 with Retry-After), a
   time limit and a memory limit (``RLIMIT_AS``) per worker.

Uploads are kept by Starlette (parts above 1 MB spooled to an anonymous temporary file)
and read into memory only when a worker is free; only the ``against`` original is
written, by the worker, to a temporary directory removed when the job ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, File, Form, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from myself_i2i import __version__
from myself_i2i.errors import ConfigError, InputError, MyselfI2IError
from myself_i2i.i18n import Text
from myself_i2i.web.pool import Busy, Job, VerifierPool, WorkerFailure, WorkerSettings

if TYPE_CHECKING:
    import uvicorn

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
            Reports name a folder by its base name only, never by its path.
        use_default_repositories: also search the repositories configured in the server's
            ``MYSELF_I2I_HOME`` (and the local one), as ``myself-i2i verify`` does; they
            are opened once, when a worker starts.
        public: the page says that "trusted" means only the keys listed by the operator
            of this server (set it for a server others use).
        workers: verification worker processes (each verifies one image at a time).
        queue_size: verifications that may wait for a worker; more get 503 + Retry-After.
        memory_limit_bytes: address-space limit of each worker (``RLIMIT_AS``), 768 MB;
            None for no limit. An image that needs more gets 422.
        time_limit: seconds one verification may take; then the worker is killed and
            replaced, and the client gets 503.
        queue_timeout: seconds a request may wait for a worker before 503.
        heavy_pixels: a picture declaring more pixels than this (or whose size cannot be
            read from its header) is heavy: at most ``heavy_workers`` workers verify heavy
            pictures at once, and at most 4 more may wait, so large pictures (decompression
            bombs among them) cannot take every worker from ordinary ones.
        heavy_workers: workers that may be busy with heavy pictures at once.
        max_requests: verify requests in progress at once (receiving, waiting or being
            verified); more get 503 before their body is read.
        body_timeout: seconds to receive a whole request body; slower clients get 408.
        header_timeout: seconds to receive a request head (``serve`` only: uvicorn).
        keep_alive_timeout: seconds an idle keep-alive connection is kept (``serve``).
    """

    max_upload_bytes: int = 50 * MB
    keyring_path: Path | None = None
    repositories: tuple[str, ...] = field(default_factory=tuple)
    use_default_repositories: bool = True
    public: bool = False
    workers: int = 2
    queue_size: int = 32
    memory_limit_bytes: int | None = 768 * MB
    time_limit: float = 20.0
    queue_timeout: float = 30.0
    heavy_pixels: int = 16_000_000
    heavy_workers: int = 1
    max_requests: int = 64
    body_timeout: float = 30.0
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1024:
            raise ConfigError(
                f"max_upload_bytes must be at least 1024 (got {self.max_upload_bytes}).",
                f"max_upload_bytes は 1024 以上にしてください（{self.max_upload_bytes}）。",
            )
        if (
            self.workers < 1
            or self.queue_size < 0
            or self.max_requests < 1
            or self.heavy_workers < 1
        ):
            raise ConfigError(
                "workers, heavy_workers and max_requests must be at least 1, queue_size at least 0.",
                "workers・heavy_workers・max_requests は 1 以上、queue_size は 0 以上にしてください。",
            )
        if self.memory_limit_bytes is not None and self.memory_limit_bytes < 256 * MB:
            raise ConfigError(
                "memory_limit_bytes must be at least 256 MB (the verifier alone needs ~200 MB).",
                "memory_limit_bytes は 256 MB 以上にしてください（検証処理だけで約 200 MB 必要です）。",
            )
        timeouts = (
            self.time_limit,
            self.queue_timeout,
            self.body_timeout,
            self.header_timeout,
            self.keep_alive_timeout,
        )
        if min(timeouts) <= 0:
            raise ConfigError(
                "every timeout must be more than 0 seconds.",
                "タイムアウトはすべて 0 秒より大きくしてください。",
            )


class ApiError(HTTPException):
    """An HTTP error with a bilingual message; FastAPI re-raises it from body parsing."""

    def __init__(self, status_code: int, text: Text, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, text.en, headers)
        self.text = text


def _too_large(limit: int) -> ApiError:
    mb = f"{limit / MB:.0f} MB" if limit >= MB else f"{limit} bytes"
    return ApiError(
        413,
        Text(
            f"The upload is too large: at most {mb} per request.",
            f"アップロードが大きすぎます：1 回あたり {mb} までです。",
        ),
        {"connection": "close"},
    )


def _too_slow(seconds: float) -> ApiError:
    return ApiError(
        408,
        Text(
            f"The upload did not arrive within {seconds:g} s. Try again on a faster connection.",
            f"アップロードが {seconds:g} 秒以内に届きませんでした。速い回線で再度お試しください。",
        ),
        {"connection": "close"},
    )


RETRY_AFTER = "5"

_BUSY = Text(
    "The server is busy checking other images. Try again in a few seconds.",
    "サーバーは他の画像の確認で混み合っています。数秒後にもう一度お試しください。",
)

_INTERNAL = Text(
    "Internal error while verifying; the server log has the details.",
    "検証中に内部エラーが発生しました。詳細はサーバーのログにあります。",
)


def _error_body(text: Text, **extra: Any) -> dict[str, Any]:
    return {"error": {**text.to_dict(), **extra}}


def _error(status: int, text: Text, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(_error_body(text), status_code=status, headers=headers)


class _Guard:
    """ASGI middleware: security headers, the limits on verify requests, a last-resort 500.

    It sits inside Starlette's ServerErrorMiddleware, which would answer an unexpected
    exception and then re-raise it, making uvicorn drop the connection: here the
    exception becomes a JSON 500 and the connection stays usable.
    """

    def __init__(self, app: ASGIApp, config: WebConfig) -> None:
        self.app = app
        self.limit = config.max_upload_bytes
        self.body_timeout = config.body_timeout
        self.max_requests = config.max_requests
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
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
                await _error(413, err.text, err.headers)(scope, receive, send_with_headers)
                return
        # 2. A bound on the verify requests in progress, before reading their body.
        counted = scope.get("method") == "POST" and scope.get("path") == "/api/verify"
        if counted and self.in_progress >= self.max_requests:
            resp = _error(503, _BUSY, {"retry-after": RETRY_AFTER, "connection": "close"})
            await resp(scope, receive, send_with_headers)
            return
        # 3. Count while reading (chunked bodies, or a Content-Length that lies), and give
        #    the whole body a deadline.
        seen = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal seen, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except asyncio.TimeoutError:
                raise _too_slow(self.body_timeout) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _too_large(self.limit)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        if counted:
            self.in_progress += 1
        try:
            await self.app(scope, guarded_receive, send_with_headers)
        except Exception:
            if started:
                raise
            log.exception("unexpected error in the web verifier")
            await _error(500, _INTERNAL)(scope, receive, send_with_headers)
        finally:
            if counted:
                self.in_progress -= 1


def _declared_pixels(head: bytes) -> int | None:
    """Width x height as the image's header declares it, read without decoding anything.

    Only the fixed header fields are read (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X): enough
    to send a large picture to the heavy lane. None when they cannot be found.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        return int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
        kind = head[12:16]
        if kind == b"VP8 ":
            w = int.from_bytes(head[26:28], "little") & 0x3FFF
            h = int.from_bytes(head[28:30], "little") & 0x3FFF
            return w * h
        if kind == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return ((bits & 0x3FFF) + 1) * (((bits >> 14) & 0x3FFF) + 1)
        if kind == b"VP8X":
            w = int.from_bytes(head[24:27], "little") + 1
            h = int.from_bytes(head[27:30], "little") + 1
            return w * h
        return None
    if head.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 <= len(head):
            if head[i] != 0xFF:
                return None
            marker = head[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h = int.from_bytes(head[i + 5 : i + 7], "big")
                w = int.from_bytes(head[i + 7 : i + 9], "big")
                return w * h
            if marker in (0x01, *range(0xD0, 0xD8)):
                i += 2
                continue
            i += 2 + int.from_bytes(head[i + 2 : i + 4], "big")
    return None


#: Bytes read to find an image's declared size (JPEG metadata, a C2PA manifest included,
#: may come before the frame header).
_HEAD_BYTES = 1 * MB


def _check_upload(upload: UploadFile, what: Text, *, decodable: bool = False) -> None:
    """Refuse an empty upload (422) or one of a kind we do not take, by content (415).

    The image to verify may be any format c2pa reads; an original to compare with must be a
    picture we decode (PNG, JPEG, WebP). Only the first bytes are read; the rest stays where
    Starlette spooled it.
    """
    from myself_i2i._internal.c2pa_backend import supported_mime_types
    from myself_i2i.formats import DECODABLE, sniff_mime

    head = upload.file.read(4096)
    upload.file.seek(0)
    if not head:
        raise ApiError(
            422,
            Text(f"The {what.en} is empty.", f"{what.ja}が空です。"),
        )
    mime = sniff_mime(head)
    if not decodable and mime is not None and mime in supported_mime_types():
        return
    if mime not in DECODABLE:
        raise ApiError(
            415,
            Text(
                f"The {what.en} is not a PNG, JPEG or WebP image. Save it in one of these formats.",
                f"{what.ja}は PNG・JPEG・WebP 画像ではありません。いずれかの形式で保存してください。",
            )
            if decodable
            else Text(
                f"The {what.en} is not an image or media file C2PA can carry (PNG, JPEG, WebP, "
                "GIF, TIFF, HEIC, AVIF, SVG, MP4, ...).",
                f"{what.ja}は C2PA を格納できる画像・メディアファイル（PNG・JPEG・WebP・GIF・TIFF・"
                "HEIC・AVIF・SVG・MP4 など）ではありません。",
            ),
        )


def _safe_name(name: str | None, default: str) -> str:
    """The upload's base name for messages (never used as a path on this server)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())[:120]
    return base if base and base not in (".", "..") else default


def create_app(config: WebConfig | None = None) -> FastAPI:
    """Build the web verifier. Its worker processes start with the app (ASGI lifespan).

    Args:
        config: :class:`WebConfig`; default: 50 MB uploads, the server's keyring, two
            workers of 768 MB and 20 s each.

    Raises:
        ConfigError: a setting is wrong (at startup: a worker could not start).
        RepositoryError: a configured repository cannot be opened (at startup).
    """
    cfg = config or WebConfig()
    pool = VerifierPool(
        WorkerSettings(
            memory_limit_bytes=cfg.memory_limit_bytes,
            keyring_path=str(cfg.keyring_path) if cfg.keyring_path else None,
            repositories=tuple(cfg.repositories),
            use_default_repositories=cfg.use_default_repositories,
        ),
        size=cfg.workers,
        queue_size=cfg.queue_size,
        heavy_slots=min(cfg.heavy_workers, cfg.workers),
        time_limit=cfg.time_limit,
        queue_timeout=cfg.queue_timeout,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await pool.close()

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
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.config = cfg
    app.add_middleware(_Guard, config=cfg)

    # --- errors: caught once, answered as {"error": {"en", "ja"}} -------------------------

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status_code, exc.text, exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not parse the body
            text = Text(
                "The request body is not valid multipart/form-data.",
                "リクエスト本体が正しい multipart/form-data ではありません。",
            )
        else:
            text = Text(str(exc.detail), str(exc.detail))
        return _error(exc.status_code, text, exc.headers)

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
        status = 422 if isinstance(exc, (InputError, ConfigError)) else 500
        if status == 500:
            log.warning("web verifier: %s", exc.diagnostics())
            return _error(500, _INTERNAL)  # its text may name server paths
        return _error(status, exc.text)

    # --- the API ------------------------------------------------------------------------

    @app.post(
        "/api/verify",
        summary="Verify an image / 画像を検証",
        response_model=None,
        responses={
            200: {"description": "Report.to_dict() (schemas/report.schema.json)"},
            408: {"description": "The body did not arrive within body_timeout"},
            413: {"description": "Request body larger than max_upload_bytes"},
            415: {
                "description": "Not a file C2PA can carry (or an original that is not PNG, JPEG or WebP)"
            },
            422: {
                "description": "Corrupt image, malformed key token, missing field, or an "
                "image that needs more memory than a worker may use"
            },
            500: {"description": "The worker stopped, or the server's setup is broken"},
            503: {"description": "Busy (queue full) or the time limit was reached; Retry-After"},
        },
    )
    async def verify(
        image: Annotated[
            UploadFile,
            File(
                description="The downloaded file (any format c2pa reads: PNG, JPEG, WebP, GIF, TIFF, HEIC, AVIF, SVG, MP4, ...)."
            ),
        ],
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
        _check_upload(image, Text("image", "画像"))
        head = image.file.read(_HEAD_BYTES)
        image.file.seek(0)
        pixels = _declared_pixels(head)
        heavy = pixels is None or pixels > cfg.heavy_pixels
        use_against = against is not None and against.filename is not None and against.size != 0
        if use_against:
            assert against is not None
            _check_upload(against, Text("original", "原画"), decodable=True)

        def job() -> Job:
            # Built once a worker is free: a waiting request holds no copy of its upload.
            original = None
            if use_against:
                assert against is not None
                original = (against.file.read(), _safe_name(against.filename, "original.png"))
            return Job(
                data=image.file.read(),
                name=_safe_name(image.filename, "image"),
                text=text or None,
                key_token=(key_token or "").strip() or None,
                include_thumbnails="thumbnails" in (include or "").split(","),
                against=original,
            )

        try:
            outcome = await pool.run(job, heavy=heavy)
        except Busy:
            return _error(503, _BUSY, {"retry-after": RETRY_AFTER})
        except WorkerFailure as e:
            headers = {"retry-after": RETRY_AFTER} if e.status == 503 else None
            return _error(e.status, e.text, headers)
        if outcome.body is not None:
            return JSONResponse(outcome.body)
        return _error(outcome.status, outcome.text or _INTERNAL)

    @app.get("/api/health", summary="Liveness / 稼働確認")
    def health() -> dict[str, Any]:
        return {
            "ok": True,
            "version": __version__,
            "maxUploadBytes": cfg.max_upload_bytes,
            "public": cfg.public,
        }

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


def uvicorn_config(
    app: Any, host: str = "127.0.0.1", port: int = 8000, config: WebConfig | None = None
) -> uvicorn.Config:
    """The uvicorn settings for a server that faces the public.

    * a deadline for each request head (uvicorn has none of its own: a client that
      connects and then sends a byte a second would hold its connection forever);
    * ``timeout_keep_alive`` for idle connections; request heads of at most 16 kB;
    * at most ``4 * max_requests`` connections (uvicorn answers 503 above).
    """
    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol

    cfg = config or WebConfig()
    header_timeout = cfg.header_timeout

    class _HeadDeadline(H11Protocol):
        """h11 with a deadline for the request head, from connect or from the last response."""

        _head_timer: asyncio.TimerHandle | None = None
        _head_cycle: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._head_cycle = self.cycle
            self._head_timer = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expired(self) -> None:
            self._head_timer = None
            if self.cycle is self._head_cycle and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self._head_timer is not None and self.cycle is not self._head_cycle:
                self._disarm()  # a new request's head is complete

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm()  # the next request's head, on this keep-alive connection
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=_HeadDeadline,
        timeout_keep_alive=max(1, round(cfg.keep_alive_timeout)),
        limit_concurrency=4 * cfg.max_requests,
        h11_max_incomplete_event_size=16 * 1024,
    )


def serve(host: str = "127.0.0.1", port: int = 8000, config: WebConfig | None = None) -> None:
    """Run the web verifier with uvicorn until interrupted (see :func:`uvicorn_config`).

    Raises:
        ConfigError: a setting is wrong.
    """
    import uvicorn

    cfg = config or WebConfig()
    uvicorn.Server(uvicorn_config(create_app(cfg), host, port, cfg)).run()
