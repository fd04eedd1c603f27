"""Helpers shared by the plugins: identity, bilingual errors for host UIs, outcomes."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from myself_i2i.errors import MyselfI2IError
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity, IdentityStore
from myself_i2i.sign import SignResult


def load_identity() -> Identity:
    """The user's identity; the passphrase comes from ``MYSELF_I2I_PASSPHRASE`` if needed.

    Raises:
        IdentityError: no identity yet, or a wrong / missing passphrase.
    """
    return IdentityStore.default().load()


def for_host(error: MyselfI2IError) -> MyselfI2IError:
    """The same error, with ``str(error)`` showing both languages.

    Host UIs (ComfyUI's error dialog, the webui console) print ``str(exception)``; the
    library keeps the English line there, so plugins widen it before re-raising.
    """
    error.args = (error.diagnostics(),)
    return error


@dataclass(frozen=True)
class Outcome:
    """What a plugin did with one picture."""

    path: Path  #: the file written (signed, or unsigned with ``reason``)
    signed: bool
    result: SignResult | None = None
    reason: Text | None = None  #: why it was not signed

    def line(self, lang: str = "en") -> str:
        """One line for the host's log / UI."""
        if self.signed and self.result is not None:
            pledge = self.result.pledge
            kind = pledge.kind.value if pledge is not None else "provenance only"
            srcs = ", ".join(f"{s.record.title} ({s.reason})" for s in self.result.sources)
            if lang == "ja":
                return f"✔ 署名済み {self.path.name}: {kind}" + (f"・素材: {srcs}" if srcs else "")
            return f"✔ signed {self.path.name}: {kind}" + (f"; sources: {srcs}" if srcs else "")
        why = self.reason.get("ja" if lang == "ja" else "en") if self.reason else ""
        if lang == "ja":
            return f"✘ 未署名で保存 {self.path.name}: {why}"
        return f"✘ saved UNSIGNED {self.path.name}: {why}"


def quote_commands(text: Text, paths: Iterable[Path]) -> Text:
    """``text`` with the paths in its ``myself-i2i sources add PATH`` commands shell-quoted.

    The library writes the path as it is; a folder with a space would break the command a
    user copies from a plugin's log, and commands there must run as printed.
    """
    en, ja = text.en, text.ja
    for path in paths:
        raw = f"`myself-i2i sources add {path} "
        quoted = f"`myself-i2i sources add {shlex.quote(str(path))} "
        en, ja = en.replace(raw, quoted), ja.replace(raw, quoted)
    return Text(en, ja)
