"""The signer's personal identity: a personal CA and the signing certificate it issues.

No paid certificate authority is needed. ``init`` makes two EC P-256 keys: the personal
CA key (self-signed CA certificate, CA:TRUE, pathlen 0, ~10 years) and the signing key,
whose certificate the CA issues (CA:FALSE, EKU emailProtection, AKI, SKI,
digitalSignature, ~2 years). c2pa-rs rejects self-signed leaves and leaves without EKU
or AKI; this profile is accepted.

Private keys are PKCS#8 PEM files; with a passphrase they are encrypted with scrypt
(N=2**17, r=8, p=1) and AES-256-CBC (see :mod:`myself_i2i._internal.keyfile`). Keys
written by older versions (PBKDF2, 2,048 rounds) still load; :meth:`IdentityStore.renew`
re-encrypts them the new way. Replacing an identity (``init --force``) first moves the
old folder to a timestamped backup beside it.

The **key token** (``mi2i:XXXX-XXXX-XXXX-XXXX-XXXX``) is 100 bits of SHA-256 over the
personal CA's public key (SubjectPublicKeyInfo, DER), base32 in groups of four. It is
what people type into a profile or a post; renewing the signing certificate keeps it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from myself_i2i._internal.keyfile import KeyProtection, encrypt_private_key, protection
from myself_i2i.errors import IdentityError
from myself_i2i.paths import ensure_home, home, replace_file

TOKEN_PREFIX = "mi2i:"
_TOKEN_RE = re.compile(r"mi2i:\s*([A-Z2-7]{4}(?:-?[A-Z2-7]{4}){4})", re.IGNORECASE)
CA_YEARS = 10
LEAF_YEARS = 2

PASSPHRASE_ENV = "MYSELF_I2I_PASSPHRASE"


def identity_dir(base: Path | None = None) -> Path:
    return (base or home()) / "identity"


def token_for_public_key(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key token of a personal CA public key."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(spki).digest()
    b32 = base64.b32encode(digest).decode("ascii")[:20]  # 20 chars x 5 bits = 100 bits
    return TOKEN_PREFIX + "-".join(b32[i : i + 4] for i in range(0, 20, 4))


def token_for_cert(cert: x509.Certificate) -> str:
    """The key token of a personal CA certificate."""
    pub = cert.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey):
        raise IdentityError(
            "the certificate does not hold an EC key; it is not a myself_i2i identity.",
            "証明書の鍵が EC ではありません。myself_i2i の ID ではありません。",
        )
    return token_for_public_key(pub)


def personal_token(cert: x509.Certificate) -> str | None:
    """The key token of ``cert`` if it is a myself_i2i personal CA, else None.

    The token is defined for our identity profile only: a self-issued, self-signed EC CA
    whose common name states its own token. A commercial or organisation CA (RSA, EC or
    other) has no token, so two unrelated signers under one CA never share one.
    """
    pub = cert.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or cert.subject != cert.issuer:
        return None
    token = token_for_public_key(pub)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cns or cns[0].value != f"myself_i2i personal CA {token}":
        return None
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        sig_hash = cert.signature_hash_algorithm
        if not bc.ca or sig_hash is None:
            return None
        pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(sig_hash))
    except (x509.ExtensionNotFound, InvalidSignature, ValueError):
        return None
    return token


def normalize_token(text: str) -> str | None:
    """Canonical form of a key token written any way (case, missing dashes), or None."""
    m = _TOKEN_RE.search(text.strip())
    if not m:
        return None
    raw = m.group(1).replace("-", "").upper()
    return TOKEN_PREFIX + "-".join(raw[i : i + 4] for i in range(0, 20, 4))


def find_tokens(text: str) -> list[str]:
    """All key tokens written in a post text, canonicalised."""
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        tok = normalize_token(m.group(0))
        if tok and tok not in out:
            out.append(tok)
    return out


@dataclass(frozen=True)
class Identity:
    """A loaded identity: what signing needs. The private key never leaves this object."""

    name: str
    token: str
    ca_cert: x509.Certificate
    leaf_cert: x509.Certificate
    _leaf_key: ec.EllipticCurvePrivateKey

    @property
    def chain_pem(self) -> bytes:
        """Leaf then CA certificate, PEM, as C2PA's x5chain wants them."""
        return self.leaf_cert.public_bytes(serialization.Encoding.PEM) + self.ca_cert.public_bytes(
            serialization.Encoding.PEM
        )

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)

    def private_key_pem(self) -> bytes:
        """The signing key, unencrypted PKCS#8 PEM, for handing to c2pa in memory only."""
        return self._leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def leaf_not_after(self) -> dt.datetime:
        return self.leaf_cert.not_valid_after_utc

    def profile_line(self) -> str:
        """The exact line to put in a profile or a post."""
        return f"#Myself_i2i {self.token}"


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org[:64]),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """digitalSignature always; keyCertSign and cRLSign only for the personal CA."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _make_ca(name: str, key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    token = token_for_public_key(key.public_key())
    subject = _name(f"myself_i2i personal CA {token}", name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(ca=True),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_leaf(
    name: str,
    leaf_key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    now: dt.datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(name, name))
        .issuer_name(ca_cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(
            min(now + dt.timedelta(days=365 * LEAF_YEARS), ca_cert.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(ca=False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _key_bytes(key: ec.EllipticCurvePrivateKey, passphrase: str | None) -> bytes:
    if passphrase:
        return encrypt_private_key(key, passphrase.encode("utf-8"))
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


KEY_FILES = ("ca.key.pem", "signer.key.pem")


def _protect_backup(folder: Path) -> None:
    """A backup holds private keys: folder 0700, key files 0600."""
    os.chmod(folder, 0o700)
    for name in KEY_FILES:
        p = folder / name
        if p.is_file() and not p.is_symlink():
            os.chmod(p, 0o600)


@dataclass(frozen=True)
class IdentityStore:
    """Where an identity lives on disk (``$MYSELF_I2I_HOME/identity``)."""

    directory: Path

    @classmethod
    def default(cls) -> IdentityStore:
        return cls(identity_dir())

    @property
    def meta_path(self) -> Path:
        return self.directory / "identity.json"

    def exists(self) -> bool:
        return self.meta_path.exists()

    def _meta(self) -> dict[str, object]:
        try:
            data = json.loads(self.meta_path.read_text("utf-8"))
        except FileNotFoundError:
            raise IdentityError(
                "no identity yet. Run `myself-i2i init --name YOUR_NAME` first.",
                "まだ ID がありません。先に `myself-i2i init --name 名前` を実行してください。",
            ) from None
        except (OSError, ValueError) as e:
            raise IdentityError(
                f"{self.meta_path}: identity file is damaged ({e}). Restore it from a backup "
                "or run `myself-i2i init --force`.",
                f"{self.meta_path}: ID ファイルが壊れています（{e}）。バックアップから戻すか "
                "`myself-i2i init --force` を実行してください。",
            ) from e
        if not isinstance(data, dict):
            raise IdentityError(
                f"{self.meta_path}: identity file is damaged. Restore it from a backup.",
                f"{self.meta_path}: ID ファイルが壊れています。バックアップから戻してください。",
            )
        return data

    def create(self, name: str, passphrase: str | None = None, *, force: bool = False) -> Identity:
        """Make a new personal CA and signing certificate.

        Raises:
            IdentityError: an identity exists already (and ``force`` is false).
        """
        if self.exists() and not force:
            raise IdentityError(
                f"an identity already exists in {self.directory}. Use `myself-i2i identity` to "
                "see it, `--renew` to renew its certificate, or `init --force` to replace it "
                "(your key token will change).",
                f"{self.directory} に ID がすでにあります。`myself-i2i identity` で確認、"
                "`--renew` で証明書を更新、`init --force` で置き換えできます（キートークンが変わります）。",
            )
        name = name.strip() or "myself_i2i user"
        ensure_home()
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _make_ca(name, ca_key, now)
        leaf_cert = _make_leaf(name, leaf_key, ca_key, ca_cert, now)
        token = token_for_cert(ca_cert)
        meta = {
            "name": name,
            "token": token,
            "encrypted": bool(passphrase),
            "created": now.isoformat(),
        }
        # 1. Write the new identity into a private staging folder beside the final one, so
        #    a crash never leaves a half-written identity in place.
        d = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.new-", dir=self.directory.parent))
        try:
            os.chmod(d, 0o700)
            _write_private(d / "ca.key.pem", _key_bytes(ca_key, passphrase))
            _write_private(d / "signer.key.pem", _key_bytes(leaf_key, passphrase))
            replace_file(d / "ca.cert.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
            replace_file(d / "signer.cert.pem", leaf_cert.public_bytes(serialization.Encoding.PEM))
            replace_file(
                d / self.meta_path.name, json.dumps(meta, ensure_ascii=False, indent=2).encode()
            )
            # 2. Keep whatever was there (a replaced identity) as a timestamped backup.
            self.back_up()
            # 3. Put the new identity in place.
            os.replace(d, self.directory)
        except BaseException:
            shutil.rmtree(d, ignore_errors=True)
            raise
        return Identity(name, token, ca_cert, leaf_cert, leaf_key)

    def back_up(self) -> Path | None:
        """Move the identity folder to ``identity.backup-YYYYMMDDTHHMMSSZ`` beside it.

        The backup keeps the folder private (0700) and its keys 0600. An empty folder is
        simply removed. Returns the backup's path, or None when there was nothing to keep.

        Raises:
            OSError: the folder cannot be moved.
        """
        d = self.directory
        if not d.exists():
            return None
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
            return None
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = d.with_name(f"{d.name}.backup-{stamp}")
        n = 1
        while backup.exists():
            n += 1
            backup = d.with_name(f"{d.name}.backup-{stamp}-{n}")
        os.rename(d, backup)
        _protect_backup(backup)
        return backup

    def backups(self) -> list[Path]:
        """Backups of replaced identities, oldest first."""
        parent, prefix = self.directory.parent, f"{self.directory.name}.backup-"
        if not parent.is_dir():
            return []
        found = [p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def key_protection(self) -> dict[str, KeyProtection]:
        """How each private key file is protected (read without decrypting)."""
        out: dict[str, KeyProtection] = {}
        for name in KEY_FILES:
            try:
                out[name] = protection((self.directory / name).read_bytes())
            except OSError:
                continue
        return out

    def needs_reencryption(self) -> bool:
        """True when a key is encrypted the old, weak way; :meth:`renew` fixes that."""
        return any(not p.strong for p in self.key_protection().values())

    @property
    def encrypted(self) -> bool:
        return bool(self._meta().get("encrypted"))

    def name(self) -> str:
        return str(self._meta().get("name", ""))

    def _load_key(self, path: Path, passphrase: str | None) -> ec.EllipticCurvePrivateKey:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise IdentityError(
                f"{path}: cannot read the private key ({e.strerror}). Restore it from a backup.",
                f"{path}: 秘密鍵を読み込めません（{e.strerror}）。バックアップから戻してください。",
            ) from e
        pw = passphrase.encode("utf-8") if passphrase else None
        try:
            key = serialization.load_pem_private_key(data, password=pw)
        except TypeError as e:
            if pw is None:
                raise IdentityError(
                    "the private key is protected by a passphrase. Give it with --passphrase "
                    f"or the {PASSPHRASE_ENV} environment variable.",
                    f"秘密鍵はパスフレーズで保護されています。--passphrase または環境変数 "
                    f"{PASSPHRASE_ENV} で指定してください。",
                ) from e
            raise IdentityError(
                "the private key is not encrypted, but a passphrase was given. Run without it.",
                "秘密鍵は暗号化されていませんが、パスフレーズが指定されました。外して実行してください。",
            ) from e
        except (ValueError, UnsupportedAlgorithm) as e:
            if pw is not None:
                raise IdentityError(
                    "wrong passphrase for the private key. Try again.",
                    "秘密鍵のパスフレーズが違います。もう一度入力してください。",
                ) from e
            raise IdentityError(
                f"{path}: the private key is damaged. Restore it from a backup.",
                f"{path}: 秘密鍵が壊れています。バックアップから戻してください。",
            ) from e
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise IdentityError(
                f"{path}: not an EC private key. Restore it from a backup.",
                f"{path}: EC 秘密鍵ではありません。バックアップから戻してください。",
            )
        return key

    def _load_cert(self, path: Path) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as e:
            raise IdentityError(
                f"{path}: cannot read the certificate ({e}). Restore it from a backup.",
                f"{path}: 証明書を読み込めません（{e}）。バックアップから戻してください。",
            ) from e

    def public(self) -> tuple[str, str, x509.Certificate, x509.Certificate]:
        """Name, token, CA certificate and signing certificate, without touching private keys."""
        meta = self._meta()
        ca = self._load_cert(self.directory / "ca.cert.pem")
        leaf = self._load_cert(self.directory / "signer.cert.pem")
        return str(meta.get("name", "")), token_for_cert(ca), ca, leaf

    def load(self, passphrase: str | None = None) -> Identity:
        """Load the identity for signing.

        Raises:
            IdentityError: none yet, damaged files, or a wrong / missing passphrase.
        """
        name, token, ca, leaf = self.public()
        if passphrase is None:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
        key = self._load_key(self.directory / "signer.key.pem", passphrase)
        return Identity(name, token, ca, leaf, key)

    def renew(self, passphrase: str | None = None) -> Identity:
        """Issue a fresh signing key and certificate from the same personal CA (token kept).

        Both keys end up encrypted the current way (a CA key written by an older version is
        re-encrypted with scrypt).

        Raises:
            IdentityError: as :meth:`load`.
        """
        name, token, ca_cert, _ = self.public()
        if passphrase is None:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
        ca_path = self.directory / "ca.key.pem"
        ca_key = self._load_key(ca_path, passphrase)
        if passphrase and not protection(ca_path.read_bytes()).strong:
            # written by an older version (PBKDF2, 2,048 rounds): re-encrypt it with scrypt
            _write_private(ca_path, _key_bytes(ca_key, passphrase))
        now = dt.datetime.now(dt.timezone.utc)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf_cert = _make_leaf(name, leaf_key, ca_key, ca_cert, now)
        _write_private(self.directory / "signer.key.pem", _key_bytes(leaf_key, passphrase))
        replace_file(
            self.directory / "signer.cert.pem", leaf_cert.public_bytes(serialization.Encoding.PEM)
        )
        return Identity(name, token, ca_cert, leaf_cert, leaf_key)
