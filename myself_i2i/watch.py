"""Watch an output folder of any generation UI and sign new pictures as they appear.

Polling, no extra dependency: every ``interval`` seconds the folder is listed (recursively,
leaving out the signed folder and hidden / temporary files). A picture is handled once it
is complete:

1. its size and modification time are the same on two polls in a row, and it decodes;
2. its embedded generation metadata decides the claim, with the rules of the UI plugins:
   t2i → signed t2i; i2i → every recorded input is looked up by name in the ``inputs``
   folder and declared as a source; no metadata, metadata that cannot tell, a
   post-processed copy (A1111's Extras tab: not a generation, the picture may be anyone's),
   or an input without a file name / file → not signed;
3. the signed copy goes to the signed folder under the same relative name;
4. the state file (``.myself_i2i-watch.json`` in the signed folder) records what was done
   with each file (by path, size and mtime), so a restart neither re-signs nor re-reports;
5. every picture it did not sign is listed with the reason: in the log (logger
   ``myself_i2i.watch``), in ``myself_i2i-not-signed.txt`` in the signed folder (English
   and Japanese, rewritten after each pass) and in :func:`summary_lines`. Commands in the
   reasons run as printed.

Stop with :meth:`Watcher.run`'s ``stop`` event (the CLI sets it on Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shlex
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from myself_i2i.errors import AlreadySigned, InputError, MyselfI2IError, PledgeRefused
from myself_i2i.i18n import Lang, Text
from myself_i2i.identity import Identity
from myself_i2i.images import SUFFIX_FORMATS, open_image
from myself_i2i.models import SourceSpec
from myself_i2i.paths import replace_file
from myself_i2i.sign import SignOptions, sign_image

STATE_NAME = ".myself_i2i-watch.json"
STATE_VERSION = 1
NOT_SIGNED_NAME = "myself_i2i-not-signed.txt"
log = logging.getLogger("myself_i2i.watch")
Status = Literal["signed", "refused", "skipped", "error"]


@dataclass(frozen=True)
class WatchOptions:
    """How to watch. Defaults are what ``myself-i2i watch OUTDIR`` does."""

    signed_dir: Path | None = None  #: default ``OUTDIR/signed``
    inputs_dir: Path | None = None  #: where i2i input files are looked up by name
    interval: float = 2.0  #: seconds between polls
    sign: SignOptions = field(default_factory=SignOptions)


@dataclass(frozen=True)
class WatchEvent:
    """What happened to one picture."""

    path: Path
    status: Status
    output: Path | None = None
    reason: Text | None = None

    def line(self, lang: Lang = "en") -> str:
        """One line for the terminal."""
        mark = {"signed": "✔", "refused": "✘", "skipped": "·", "error": "!"}[self.status]
        words = {
            "signed": ("signed", "署名"),
            "refused": ("NOT signed", "未署名"),
            "skipped": ("skipped", "スキップ"),
            "error": ("error", "エラー"),
        }[self.status]
        head = f"{mark} {self.path}: {words[1] if lang == 'ja' else words[0]}"
        if self.output is not None:
            head += f" → {self.output}"
        if self.reason is not None:
            head += f" — {self.reason.get(lang)}"
        return head


class Watcher:
    """Polls ``outdir``; see the module docstring. Use :meth:`poll` or :meth:`run`."""

    def __init__(self, outdir: Path, identity: Identity, options: WatchOptions | None = None):
        if not outdir.is_dir():
            raise InputError(
                f"{outdir}: not a folder. Give the output folder of your generation UI.",
                f"{outdir}: フォルダではありません。生成ソフトの出力フォルダを指定してください。",
            )
        self.outdir = outdir
        self.identity = identity
        self.options = options or WatchOptions()
        self.signed_dir = self.options.signed_dir or outdir / "signed"
        self.signed_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.signed_dir / STATE_NAME
        self._seen: dict[str, tuple[int, int]] = {}  # rel path -> (size, mtime_ns) last poll
        self._done: dict[str, dict[str, object]] = self._load_state()

    # -- state ---------------------------------------------------------------------

    def _load_state(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.state_path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise InputError(
                f"{self.state_path}: the watch state cannot be read ({e}). Move it away to "
                "start again (already signed pictures would be signed again).",
                f"{self.state_path}: 監視の状態ファイルを読めません（{e}）。移動すると最初から"
                "やり直します（署名済みの画像も再署名されます）。",
            ) from e
        files = data.get("files") if isinstance(data, dict) else None
        return {str(k): v for k, v in files.items() if isinstance(v, dict)} if files else {}

    def _save_state(self) -> None:
        state = {"version": STATE_VERSION, "files": self._done}
        replace_file(self.state_path, json.dumps(state, ensure_ascii=False, indent=1).encode())

    # -- polling -------------------------------------------------------------------

    def _candidates(self) -> Iterator[tuple[str, Path, tuple[int, int]]]:
        signed = self.signed_dir.resolve()
        for root, dirs, files in os.walk(self.outdir):
            rootp = Path(root)
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and (rootp / d).resolve() != signed
            )
            for name in sorted(files):
                if name.startswith(".") or Path(name).suffix.lower() not in SUFFIX_FORMATS:
                    continue
                path = rootp / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                yield path.relative_to(self.outdir).as_posix(), path, (st.st_size, st.st_mtime_ns)

    def poll(self) -> list[WatchEvent]:
        """One pass: handle every picture that is complete and not handled yet."""
        events: list[WatchEvent] = []
        current: dict[str, tuple[int, int]] = {}
        for rel, path, sig in self._candidates():
            current[rel] = sig
            done = self._done.get(rel)
            if done is not None and (done.get("size"), done.get("mtime_ns")) == sig:
                continue
            if self._seen.get(rel) != sig or sig[0] == 0:
                continue  # 1. new or still growing: look again next poll
            try:
                open_image(path).close()
            except MyselfI2IError:
                continue  # not decodable yet (still being written) or never: try later
            event = self._handle(rel, path)
            events.append(event)
            if event.status in ("signed", "skipped"):
                log.info("%s", event.line("en"))
            else:
                log.warning("%s", event.line("en"))
            self._done[rel] = {
                "size": sig[0],
                "mtime_ns": sig[1],
                "status": event.status,
                "output": str(event.output) if event.output else None,
                "reason": event.reason.to_dict() if event.reason else None,
            }
            self._save_state()
        self._seen = current
        if events:
            self._write_not_signed()
        return events

    def not_signed(self) -> list[tuple[str, str, Text | None]]:
        """(relative path, status, reason) of every picture handled but not signed."""
        out: list[tuple[str, str, Text | None]] = []
        for rel, rec in sorted(self._done.items()):
            status = str(rec.get("status"))
            if status in ("refused", "error"):
                reason = rec.get("reason")
                text = (
                    Text(str(reason.get("en", "")), str(reason.get("ja", "")))
                    if isinstance(reason, dict)
                    else None
                )
                out.append((rel, status, text))
        return out

    def _write_not_signed(self) -> None:
        """5. The list of pictures left unsigned, with the reason, beside the signed copies."""
        rows = self.not_signed()
        lines = [
            f"# {len(rows)} picture(s) in {self.outdir} NOT signed / 署名していない画像",
            "",
        ]
        for rel, status, reason in rows:
            lines.append(f"{rel} [{status}]")
            if reason is not None:
                lines += [f"  en: {reason.en}", f"  ja: {reason.ja}"]
        target = self.signed_dir / NOT_SIGNED_NAME
        try:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text("\n".join(lines) + "\n", "utf-8")
            os.replace(tmp, target)
        except OSError as e:
            log.warning("cannot write %s: %s", target, e)

    def _handle(self, rel: str, path: Path) -> WatchEvent:
        target = self.signed_dir / rel
        sources: list[Path] = []
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            t2i, sources = self._claim(path, target)
            opts = self.options.sign
            sign_image(
                path,
                self.identity,
                t2i=t2i,
                sources=[SourceSpec(path=s) for s in sources],
                output=target,
                options=dataclasses.replace(opts, in_place=False),
            )
            return WatchEvent(path, "signed", output=target)
        except AlreadySigned as e:
            return WatchEvent(path, "skipped", reason=e.text)
        except PledgeRefused as e:
            return WatchEvent(path, "refused", reason=self._runnable(e.text, path, target, sources))
        except MyselfI2IError as e:
            return WatchEvent(path, "error", reason=e.text)

    def _sign_command(self, path: Path, target: Path, claim: list[str]) -> str:
        """The ``myself-i2i sign`` command that writes what the watcher would have written."""
        opts = self.options.sign
        return " ".join(
            [
                "myself-i2i sign",
                shlex.quote(str(path)),
                *claim,
                "-o",
                shlex.quote(str(target)),
                f"--hashtag {shlex.quote(opts.hashtag)}",
                *([] if opts.watermark else ["--no-watermark"]),
            ]
        )

    def _runnable(self, text: Text, path: Path, target: Path, sources: list[Path]) -> Text:
        """A refusal by the signer, with its commands quoted and the sign command after them."""
        from myself_i2i.integrations._common import quote_commands

        text = quote_commands(text, sources)
        if "myself-i2i sources add" not in text.en or not sources:
            return text
        cmd = self._sign_command(path, target, [f"--source {shlex.quote(str(s))}" for s in sources])
        return Text(f"{text.en} Then sign it: `{cmd}`.", f"{text.ja} その後、署名: `{cmd}`。")

    def _claim(self, path: Path, target: Path) -> tuple[bool, list[Path]]:
        """2. t2i or the i2i source files, from the picture's own metadata.

        Raises:
            PledgeRefused: the metadata does not allow an honest claim.
            MetadataError: malformed metadata.
        """
        from myself_i2i.genmeta import GenKind, read_generation_metadata, text_chunks

        with open_image(path, load=False) as img:
            texts = text_chunks(img)
        if "postprocessing" in texts or "extras" in texts:
            # A1111 / Forge modules/postprocessing.py saves Extras-tab output with the
            # "postprocessing" text (and the original's texts copied along): not a generation
            raise PledgeRefused(
                "a post-processed copy (the webui's Extras tab): it is not a generation and the "
                "picture may be anyone's, so it is not signed.",
                "後処理したコピー（webui の Extras タブ）です。生成ではなく誰の画像かも分からない"
                "ため署名しません。",
            )
        meta = read_generation_metadata(path)
        t2i_cmd = self._sign_command(path, target, ["--t2i"])
        if meta is None:
            raise PledgeRefused(
                "no generation metadata, so how it was made cannot be checked. If you made it "
                f"from text only, sign it yourself: `{t2i_cmd}`; if images were used, give "
                "--source with each input file instead of --t2i.",
                "生成メタデータがないため生成方法を確認できません。テキストのみで生成した場合は"
                f"ご自身で署名してください: `{t2i_cmd}`。画像を使った場合は --t2i の代わりに"
                "入力ファイルごとに --source を指定してください。",
            )
        if meta.kind is GenKind.T2I:
            return True, []
        if meta.kind is GenKind.UNKNOWN:
            why = "; ".join(meta.reasons) or "undecidable"
            unclear_cmd = self._sign_command(path, target, ["--t2i", "--allow-unclear-metadata"])
            raise PledgeRefused(
                f"its {meta.source} metadata does not tell whether an image was used ({why}). "
                f"If you are sure no image was used: `{unclear_cmd}`.",
                f"{meta.source} のメタデータから画像入力の有無が判断できません（{why}）。"
                f"画像を使っていないと確かな場合: `{unclear_cmd}`。",
            )
        sources: list[Path] = []
        for inp in meta.image_inputs:
            label = f"{inp.role}" + (f" (node {inp.node_id})" if inp.node_id else "")
            if not inp.name:
                raise PledgeRefused(
                    f"{label}: the metadata does not record the input's file name, so it "
                    "cannot be found; use the UI's plugin, or sign it yourself with "
                    "myself-i2i sign and --source for each input file.",
                    f"{label}: メタデータに入力のファイル名がないため素材を特定できません。"
                    "UI のプラグインを使うか、myself-i2i sign で入力ファイルごとに --source を"
                    "指定してご自身で署名してください。",
                )
            found = self._find_input(inp.name)
            if found is None:
                where = self.options.inputs_dir or "(no --inputs folder given)"
                raise PledgeRefused(
                    f"{label}: input {inp.name!r} not found in {where}.",
                    f"{label}: 入力 {inp.name!r} が {where} に見つかりません。",
                )
            sources.append(found)
        return False, sources

    def _find_input(self, name: str) -> Path | None:
        base = self.options.inputs_dir
        if base is None:
            return None
        import re

        clean = re.sub(r"\s*\[(input|output|temp)\]\s*$", "", name).replace("\\", "/")
        for cand in (base / clean, base / Path(clean).name):
            with contextlib.suppress(OSError):
                if cand.resolve().is_relative_to(base.resolve()) and cand.is_file():
                    return cand
        return None

    def run(
        self,
        stop: threading.Event,
        on_event: Callable[[WatchEvent], None] | None = None,
    ) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            for ev in self.poll():
                if on_event is not None:
                    on_event(ev)
            stop.wait(self.options.interval)


def watch_once(
    outdir: Path,
    identity: Identity,
    options: WatchOptions | None = None,
    *,
    settle: float | None = None,
) -> list[WatchEvent]:
    """Handle what is complete now: two polls ``settle`` seconds apart (default: interval).

    Raises:
        InputError: ``outdir`` is not a folder, or the state file is damaged.
    """
    import time

    w = Watcher(outdir, identity, options)
    events = w.poll()
    time.sleep(w.options.interval if settle is None else settle)
    return events + w.poll()


def summary_lines(events: list[WatchEvent], lang: Lang = "en") -> list[str]:
    """A closing summary: counts, then every picture not signed with the reason."""
    counts = {
        st: sum(1 for e in events if e.status == st)
        for st in ("signed", "refused", "skipped", "error")
    }
    unsigned = [e for e in events if e.status in ("refused", "error")]
    if lang == "ja":
        head = (
            f"署名 {counts['signed']} 件、未署名 {counts['refused']} 件、"
            f"スキップ {counts['skipped']} 件、エラー {counts['error']} 件"
        )
        tail = "署名していない画像:"
    else:
        head = (
            f"{counts['signed']} signed, {counts['refused']} not signed, "
            f"{counts['skipped']} skipped, {counts['error']} error(s)"
        )
        tail = "Not signed:"
    lines = [head]
    if unsigned:
        lines.append(tail)
        lines += [f"  {e.line(lang)}" for e in unsigned]
    return lines
