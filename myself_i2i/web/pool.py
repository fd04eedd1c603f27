"""Verification in worker processes, so that one hostile upload cannot take the server down.

The web app never verifies in its own process. A :class:`VerifierPool` keeps ``size``
worker processes, started once (``spawn``: no state inherited from the server's threads);
each one has already imported the verifier, opened the repositories and set its own
memory limit (``RLIMIT_AS``) before it says it is ready. A request then:

1. is refused at once (``Busy`` -> 503) when every worker is busy and ``queue_size``
   requests already wait;
2. waits for an idle worker (at most ``queue_timeout`` seconds, then ``Busy``);
3. sends the upload over a pipe and waits at most ``time_limit`` seconds for the answer.

A worker that runs out of time is killed; one that dies (a native crash, the kernel) is
noticed by the end of its pipe; one that hit its memory limit (``MemoryError``) is retired.
In each case a replacement is started in the background and the request gets a
:class:`WorkerFailure` with a bilingual message. Nothing here imports FastAPI: the worker
processes import only this module and the library.

Exceptions::

    Exception
    ├── Busy            every worker busy and the queue full (-> 503, Retry-After)
    └── WorkerFailure   the worker died, ran out of time or memory (-> status, text)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from myself_i2i.errors import ConfigError
from myself_i2i.i18n import Text

log = logging.getLogger("myself_i2i.web")

MB = 1024 * 1024


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker process needs (picklable; no FastAPI types)."""

    memory_limit_bytes: int | None
    keyring_path: str | None
    repositories: tuple[str, ...]
    use_default_repositories: bool


@dataclass(frozen=True)
class Job:
    """One verification, as sent to a worker."""

    data: bytes
    name: str
    text: str | None = None
    key_token: str | None = None
    include_thumbnails: bool = False
    against: tuple[bytes, str] | None = None  #: the illustrator's original and its base name


@dataclass(frozen=True)
class Outcome:
    """A worker's answer: a report body, or an error status with a bilingual text."""

    status: int
    body: dict[str, Any] | None = None
    text: Text | None = None
    retire: bool = False  #: the worker should not be used again (e.g. after MemoryError)


class Busy(Exception):
    """Every worker is busy and the queue is full (or the wait was too long)."""


class WorkerFailure(Exception):
    """The worker gave no answer: it died, ran out of time, or could not start."""

    def __init__(self, status: int, text: Text) -> None:
        super().__init__(text.en)
        self.status = status
        self.text = text


# --- the worker process ------------------------------------------------------------------

_INTERNAL = Text(
    "Internal error while verifying; the server log has the details.",
    "検証中に内部エラーが発生しました。詳細はサーバーのログにあります。",
)


def _public_names(repos: list[Any]) -> dict[str, str]:
    """Server paths in report text -> what a visitor may see (a folder's base name)."""
    from myself_i2i.paths import home

    names: dict[str, str] = {}
    for r in repos:
        name = str(getattr(r, "name", ""))
        if name and not name.startswith(("http://", "https://")):
            names[name] = Path(name).name or "repository"
    names.setdefault(str(home()), "~")
    names.setdefault(tempfile.gettempdir(), "~tmp")
    return names


def scrub(value: Any, names: dict[str, str]) -> Any:
    """``value`` (JSON-like) with every server path in ``names`` replaced by its public name."""
    if isinstance(value, str):
        for secret in sorted(names, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, names[secret])
        return value
    if isinstance(value, dict):
        return {k: scrub(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, names) for v in value]
    return value


class _Verifier:
    """The state a worker keeps between jobs: imported modules and open repositories."""

    def __init__(self, settings: WorkerSettings) -> None:
        # Import the whole verifier now (recovery and the watermark decoder included), so
        # the first request is not slow and the memory limit already covers the libraries.
        import myself_i2i.recovery
        import myself_i2i.softbinding.watermark  # noqa: F401
        from myself_i2i.repository import (
            LocalRepository,
            configured_repositories,
            open_repository,
        )

        self.settings = settings
        repos: list[Any] = [open_repository(r) for r in settings.repositories]
        if settings.use_default_repositories:
            repos += [open_repository(r) for r in configured_repositories()]
            if (LocalRepository.default_path() / "index.sqlite").exists():
                repos.append(LocalRepository.open(LocalRepository.default_path()))
        self.repos = repos
        self.names = _public_names(repos)
        if settings.keyring_path:
            self.names[settings.keyring_path] = Path(settings.keyring_path).name

    def run(self, job: Job) -> Outcome:
        from myself_i2i.errors import ConfigError, InputError, MyselfI2IError

        try:
            try:
                return Outcome(200, body=scrub(self._verify(job), self.names))
            except MyselfI2IError as e:
                # the library turns a decoder's MemoryError into a one-line ImageError; here
                # it still means this worker hit its limit, so it is answered and retired
                if isinstance(e.__cause__, MemoryError):
                    raise e.__cause__ from None
                raise
        except MemoryError:
            limit = self.settings.memory_limit_bytes or 0
            return Outcome(
                422,
                text=Text(
                    f"This image needs more memory than this server allows ({limit // MB} MB) "
                    "to be checked.",
                    f"この画像の確認には、このサーバーで許可されたメモリ（{limit // MB} MB）を"
                    "超える量が必要です。",
                ),
                retire=True,
            )
        except MyselfI2IError as e:
            # InputError / ImageError (corrupt, truncated, bomb) and ConfigError (a malformed
            # key token) are the client's; anything else is the server's setup.
            if not isinstance(e, (InputError, ConfigError)):
                # The server's own setup (a damaged keyring, a broken repository): the
                # operator reads the details in the log, a visitor gets no server paths.
                print(f"myself_i2i.web worker: {e.diagnostics()}", file=sys.stderr)
                return Outcome(500, text=_INTERNAL)
            return Outcome(
                422, text=Text(scrub(e.text.en, self.names), scrub(e.text.ja, self.names))
            )
        except Exception:
            # A bug or an untranslated decoder error: logged, answered, and the worker kept
            # (restarting it would let a cheap file cost a second of start-up each time).
            traceback.print_exc(file=sys.stderr)
            return Outcome(500, text=_INTERNAL)

    def _verify(self, job: Job) -> dict[str, Any]:
        from myself_i2i.keyring import Keyring
        from myself_i2i.verify import VerifyOptions, verify_bytes

        s = self.settings
        # The keyring is re-read for each request: an operator's `trust add` applies at once.
        keyring = Keyring(Path(s.keyring_path)) if s.keyring_path else Keyring.default()
        opts = VerifyOptions(
            post_text=job.text,
            key_token=job.key_token,
            keyring=keyring,
            repositories=self.repos,
            use_default_repositories=False,  # opened once above
            include_thumbnails=job.include_thumbnails,
            use_own_identity=False,  # "trusted" here means only the keys the operator listed
        )
        if job.against is None:
            report = verify_bytes(job.data, job.name, opts)
        else:
            original, original_name = job.against
            # VerifyOptions.against takes paths: the original lives in a private temporary
            # directory that is removed when this block ends, error or not.
            with tempfile.TemporaryDirectory(prefix="myself-i2i-web-") as tmp:
                path = Path(tmp) / original_name
                path.write_bytes(original)
                opts.against = [path]
                report = verify_bytes(job.data, job.name, opts)
            for ev in report.evidence:  # the client's name, not the temporary path
                ev["original"] = original_name
        body = report.to_dict()
        if job.include_thumbnails:
            body["thumbnails"] = dict(report.thumbnails)
        return body


def _worker_main(conn: Connection, settings: WorkerSettings) -> None:
    """The loop of one worker process: ready, then one job at a time until told to stop."""
    # Ctrl+C is for the server, which stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if settings.memory_limit_bytes:
            import resource

            lim = settings.memory_limit_bytes
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        verifier = _Verifier(settings)
    except BaseException as e:  # report why, whatever it is, then stop
        text = getattr(e, "text", None)
        msg = text.en if isinstance(text, Text) else f"{type(e).__name__}: {e}"
        with contextlib.suppress(OSError):
            conn.send(("failed", msg))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            outcome = verifier.run(job)
        except MemoryError:
            outcome = Outcome(500, text=_DIED, retire=True)
        conn.send(outcome)
        if outcome.retire:
            return


# --- the server side -----------------------------------------------------------------------

_DIED = Text(
    "The verifier stopped while checking this image (it may be malformed). "
    "Try again; if it happens again, the file cannot be checked here.",
    "この画像の確認中に検証プロセスが停止しました（画像が壊れている可能性があります）。"
    "もう一度試してください。再び起きる場合、このファイルはここでは確認できません。",
)


def _timed_out(seconds: float) -> Text:
    return Text(
        f"Checking this image took longer than {seconds:g} s and was stopped. "
        "Try again later, or with a smaller image.",
        f"この画像の確認が {seconds:g} 秒を超えたため中止しました。"
        "時間をおいて、または小さな画像で試してください。",
    )


def _child() -> None:
    """Entry point of a worker process: the socket's descriptor is the last argument."""
    conn = Connection(int(sys.argv[-1]))
    settings = conn.recv()
    _worker_main(conn, settings)


#: Fewer malloc arenas and one BLAS thread: the address space stays small, so the memory
#: limit is spent on images, not on reservations.
_CHILD_ENV = {"MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


class _Worker:
    """One worker process and the parent's end of its socket.

    Started with ``python -c`` and a socket pair rather than ``multiprocessing``: a spawned
    process would re-import the server's ``__main__``, which may not be importable.
    """

    def __init__(self, proc: subprocess.Popen[bytes], conn: Connection) -> None:
        self.proc = proc
        self.conn = conn
        self.jobs = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    @classmethod
    def start(cls, settings: WorkerSettings, startup_timeout: float) -> _Worker:
        """Start a worker and wait until it is ready (blocking: run it in a thread).

        Raises:
            ConfigError: the worker could not start (e.g. a memory limit too small).
        """
        ours, theirs = socket.socketpair()
        with theirs:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from myself_i2i.web.pool import _child; _child()",
                    str(theirs.fileno()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env={**os.environ, **_CHILD_ENV},
            )
        worker = cls(proc, Connection(ours.detach()))
        msg: Any = None
        with contextlib.suppress(EOFError, OSError):
            worker.conn.send(settings)
            if worker.conn.poll(startup_timeout):
                msg = worker.conn.recv()
        if not (isinstance(msg, tuple) and msg and msg[0] == "ready"):
            worker.kill()
            why = msg[1] if isinstance(msg, tuple) and len(msg) > 1 else "no answer"
            raise ConfigError(
                f"a verification worker could not start ({why}); check the memory limit.",
                f"検証プロセスを起動できません（{why}）。メモリ上限を確認してください。",
            )
        return worker

    def call(self, job: Job, timeout: float) -> Outcome | None:
        """Send ``job`` and wait for the answer; None when the worker died or ran late."""
        self.jobs += 1
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                return None
            answer = self.conn.recv()
        except (EOFError, OSError):
            return None
        return answer if isinstance(answer, Outcome) else None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)
        self.kill()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        with contextlib.suppress(OSError):
            self.conn.close()


@dataclass
class VerifierPool:
    """``size`` worker processes, a bounded queue, and limits per verification.

    Use from one asyncio event loop: ``await start()``, ``await run(job)``, ``await close()``.
    """

    settings: WorkerSettings
    size: int = 2
    queue_size: int = 32
    heavy_slots: int = 1  #: workers that may be busy with heavy jobs at once
    heavy_queue: int = 4  #: heavy jobs that may wait for a heavy slot
    time_limit: float = 20.0
    queue_timeout: float = 30.0
    max_jobs: int = 1000  #: a worker is replaced after this many jobs (bounds slow leaks)
    startup_timeout: float = 60.0
    _idle: asyncio.Queue[_Worker] | None = field(default=None, init=False, repr=False)
    _workers: set[_Worker] = field(default_factory=set, init=False, repr=False)
    _waiting: int = field(default=0, init=False, repr=False)
    _heavy: asyncio.Queue[None] | None = field(default=None, init=False, repr=False)
    _heavy_waiting: int = field(default=0, init=False, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)

    def pids(self) -> list[int]:
        """The process ids of the live workers (for tests and the load bench)."""
        with self._lock:
            return sorted(w.pid for w in self._workers)

    def idle(self) -> int:
        """How many workers are waiting for a job (for tests and monitoring)."""
        return self._idle.qsize() if self._idle is not None else 0

    @property
    def started(self) -> bool:
        return self._idle is not None

    async def start(self) -> None:
        """Start every worker (in parallel) and wait until each is ready.

        Raises:
            ConfigError: a worker could not start.
        """
        if self._idle is not None and not self._closed:
            return
        self._closed = False
        self._idle = asyncio.Queue()
        self._heavy = asyncio.Queue()
        for _ in range(self.heavy_slots):
            self._heavy.put_nowait(None)
        results = await asyncio.gather(
            *(self._start_one() for _ in range(self.size)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            raise errors[0]

    async def _start_one(self) -> None:
        worker = await asyncio.to_thread(_Worker.start, self.settings, self.startup_timeout)
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._workers.add(worker)
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        """Drop ``worker`` and start its replacement in the background."""
        with self._lock:
            self._workers.discard(worker)
        threading.Thread(
            target=worker.kill if kill else worker.stop, daemon=True, name="myself-i2i-reap"
        ).start()
        if not self._closed:
            task = asyncio.get_running_loop().create_task(self._replace())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _replace(self) -> None:
        delay = 1.0
        while not self._closed:
            try:
                await self._start_one()
                return
            except Exception as e:  # keep trying: a transient failure must not shrink the pool
                log.warning("could not start a verification worker: %s", e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _take(self, queue: asyncio.Queue[Any]) -> Any:
        """An item of ``queue`` within ``queue_timeout``, else Busy; never loses an item.

        (``asyncio.wait_for(queue.get())`` can drop an item that arrives as it times out.)
        """
        task = asyncio.ensure_future(queue.get())
        try:
            await asyncio.wait({task}, timeout=self.queue_timeout)
        except BaseException:  # we are being cancelled: an item already taken goes back
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            if not task.cancelled() and task.exception() is None:
                queue.put_nowait(task.result())
            raise
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if task.cancelled():
            raise Busy
        return task.result()

    async def run(self, job: Job | Callable[[], Job], *, heavy: bool = False) -> Outcome:
        """Verify ``job`` in a worker (``job`` may be a callable, built once a worker is free).

        A ``heavy`` job (a large picture) first needs one of ``heavy_slots``, so large
        pictures can never take every worker from ordinary ones.

        Raises:
            Busy: every worker busy and ``queue_size`` waiting (or ``heavy_queue`` for a
                heavy job), or no worker within ``queue_timeout``.
            WorkerFailure: the worker died or ran out of time (it is replaced).
        """
        if self._idle is None or self._heavy is None or self._closed:
            await self.start()
        assert self._idle is not None and self._heavy is not None
        if not heavy:
            return await self._run(job)
        if self._heavy.empty() and self._heavy_waiting >= self.heavy_queue:
            raise Busy
        self._heavy_waiting += 1
        try:
            await self._take(self._heavy)
        finally:
            self._heavy_waiting -= 1
        try:
            return await self._run(job)
        finally:
            self._heavy.put_nowait(None)

    async def _run(self, job: Job | Callable[[], Job]) -> Outcome:
        assert self._idle is not None
        # 1. Admission: a bounded queue, then Busy.
        if self._idle.empty() and self._waiting >= self.queue_size:
            raise Busy
        # 2. Wait for an idle worker.
        self._waiting += 1
        try:
            worker: _Worker = await self._take(self._idle)
        finally:
            self._waiting -= 1
        # 3. One job, within the time limit; the worker goes back, or is replaced.
        try:
            real = job() if callable(job) else job
        except BaseException:
            self._idle.put_nowait(worker)  # not used
            raise
        healthy, kill = False, True
        try:
            t0 = time.monotonic()
            outcome = await asyncio.to_thread(worker.call, real, self.time_limit)
            if outcome is None:
                if time.monotonic() - t0 >= self.time_limit and worker.alive():
                    raise WorkerFailure(503, _timed_out(self.time_limit))
                raise WorkerFailure(500, _DIED)
            kill = False
            healthy = not outcome.retire and worker.jobs < self.max_jobs
            return outcome
        finally:
            if healthy:
                self._idle.put_nowait(worker)
            else:
                self._retire(worker, kill=kill)

    async def close(self) -> None:
        """Stop every worker (idle ones politely, busy ones by force)."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
