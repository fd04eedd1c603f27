"""Helpers shared by the plugins: identity, bilingual errors for host UIs, outcomes."""

from __future__ import annotations

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
