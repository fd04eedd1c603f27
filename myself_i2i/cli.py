"""The ``myself-i2i`` command. It only parses arguments and calls the public library API.

Errors of the :class:`~myself_i2i.errors.MyselfI2IError` family are caught once, in
:func:`_guard`, and printed as one line in the user's language with a non-zero exit.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from myself_i2i import __version__
from myself_i2i.errors import ConfigError, IdentityError, MyselfI2IError
from myself_i2i.i18n import Lang, default_lang, parse_lang

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="myself-i2i",
    help="Make the #Myself_i2i / #Noi2i pledge checkable: sign AI images with C2PA, verify "
    "them, gather evidence. / #Myself_i2i・#Noi2i の宣言を C2PA で検証可能にします。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
trust_app = typer.Typer(help="Trusted creators (keyring). / 信頼する作者（キーリング）。",
                        no_args_is_help=True)
sources_app = typer.Typer(help="Registry of your own and permitted sources. / 自分の素材・許可済み素材の登録。",
                          no_args_is_help=True)
repo_app = typer.Typer(help="Manifest repository. / マニフェストリポジトリ。", no_args_is_help=True)
app.add_typer(trust_app, name="trust")
app.add_typer(sources_app, name="sources")
app.add_typer(repo_app, name="repo")


def _lang() -> Lang:
    return default_lang()


def _say(en: str, ja: str, *, err: bool = False) -> None:
    typer.echo(ja if _lang() == "ja" else en, err=err)


def _guard(fn: F) -> F:
    """Catch our errors once: one line, non-zero exit, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MyselfI2IError as e:
            typer.echo(f"myself-i2i: {e.message(_lang())}", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("myself-i2i: interrupted / 中断しました", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _passphrase_for(store: Any, given: str | None) -> str | None:
    if given:
        return given
    env = os.environ.get("MYSELF_I2I_PASSPHRASE")
    if env:
        return env
    if store.encrypted:
        if not sys.stdin.isatty():
            raise IdentityError(
                "the private key is protected by a passphrase; set MYSELF_I2I_PASSPHRASE "
                "or run in a terminal.",
                "秘密鍵はパスフレーズで保護されています。MYSELF_I2I_PASSPHRASE を設定するか"
                "端末で実行してください。",
            )
        return str(typer.prompt("Passphrase / パスフレーズ", hide_input=True))
    return None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"myself-i2i {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version.")] = False,
) -> None:
    """myself-i2i."""


# --- identity -------------------------------------------------------------------------------


@app.command()
@_guard
def init(
    name: Annotated[str, typer.Option(help="Your display name or @handle. / 表示名・@ハンドル")] = "",
    passphrase: Annotated[bool, typer.Option("--passphrase", help="Encrypt the keys with a passphrase. / 鍵をパスフレーズで暗号化")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing identity (new key token).")] = False,
) -> None:
    """Create your personal signing identity. / 署名用の個人 ID を作成します。"""
    from myself_i2i.identity import IdentityStore

    pw: str | None = None
    if passphrase:
        pw = os.environ.get("MYSELF_I2I_PASSPHRASE") or str(
            typer.prompt("Passphrase / パスフレーズ", hide_input=True, confirmation_prompt=True)
        )
    store = IdentityStore.default()
    ident = store.create(name or os.environ.get("USER", "") or "myself_i2i user", pw, force=force)
    _say(f"Created identity {ident.name!r} in {store.directory}",
         f"ID {ident.name!r} を {store.directory} に作成しました")
    _say(f"Key token: {ident.token}", f"キートークン: {ident.token}")
    _say(f"Put this in your profile or posts: {ident.profile_line()}",
         f"プロフィールや投稿に書く行: {ident.profile_line()}")


@app.command()
@_guard
def identity(
    renew: Annotated[bool, typer.Option(help="Issue a new signing certificate (token kept).")] = False,
    export_ca: Annotated[Path | None, typer.Option(help="Write your CA certificate (for others' keyrings).")] = None,
) -> None:
    """Show your key token and the line to put in your profile. / キートークンを表示します。"""
    from myself_i2i.identity import IdentityStore

    store = IdentityStore.default()
    if renew:
        ident = store.renew(_passphrase_for(store, None))
        _say(f"Renewed; valid until {ident.leaf_not_after:%Y-%m-%d}.",
             f"更新しました。有効期限 {ident.leaf_not_after:%Y-%m-%d}。")
    name, token, ca, leaf = store.public()
    if export_ca is not None:
        from cryptography.hazmat.primitives import serialization

        export_ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        _say(f"Wrote {export_ca}", f"{export_ca} に書き出しました")
    _say(f"Name: {name}", f"名前: {name}")
    _say(f"Key token: {token}", f"キートークン: {token}")
    _say(f"Signing certificate valid until {leaf.not_valid_after_utc:%Y-%m-%d}",
         f"署名証明書の有効期限: {leaf.not_valid_after_utc:%Y-%m-%d}")
    _say(f"Profile / post line: #Myself_i2i {token}", f"プロフィール・投稿用: #Myself_i2i {token}")


# --- sign -------------------------------------------------------------------------------------


def _pair(values: list[str], n: int, what: str) -> list[str | None]:
    if not values:
        return [None] * n
    if len(values) == 1:
        return [values[0]] * n
    if len(values) != n:
        raise ConfigError(
            f"give {what} once (for all sources) or once per --source ({n}); got {len(values)}.",
            f"{what} は 1 回（全素材共通）か --source ごとに（{n} 回）指定してください。{len(values)} 回指定されました。",
        )
    return list(values)


@app.command()
@_guard
def sign(
    images: Annotated[list[Path], typer.Argument(help="PNG / JPEG / WebP images to sign.")],
    t2i: Annotated[bool, typer.Option("--t2i", help="Made from text only. / テキストのみで生成")] = False,
    source: Annotated[list[Path] | None, typer.Option("--source", help="An i2i input image (repeat). / i2i の入力画像")] = None,
    relation: Annotated[list[str] | None, typer.Option(help="own-drawing | own-photo | own-generation | permitted")] = None,
    evidence: Annotated[list[str] | None, typer.Option(help="How the author permitted it. / 許可の根拠")] = None,
    evidence_url: Annotated[list[str] | None, typer.Option(help="URL of the permission. / 許可の URL")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file, or folder for several images.")] = None,
    in_place: Annotated[bool, typer.Option(help="Replace the input file.")] = False,
    hashtag: Annotated[str, typer.Option(help="#Myself_i2i or #Noi2i")] = "#Myself_i2i",
    source_thumbnails: Annotated[bool, typer.Option(help="Embed source thumbnails.")] = True,
    watermark: Annotated[bool, typer.Option(help="Embed the invisible locator watermark.")] = True,
    allow_unclear_metadata: Annotated[bool, typer.Option(help="Sign t2i when metadata is unclear.")] = False,
    sidecar: Annotated[bool, typer.Option(help="Also write OUT.c2pa (the manifest store).")] = False,
) -> None:
    """Sign images with the #Myself_i2i pledge. / 画像に #Myself_i2i の宣言を署名します。"""
    from myself_i2i.identity import IdentityStore
    from myself_i2i.models import Evidence, Relation, SourceSpec
    from myself_i2i.sign import SignOptions, sign_image

    srcs = list(source or [])
    rels = _pair(list(relation or []), len(srcs), "--relation")
    evs = _pair(list(evidence or []), len(srcs), "--evidence")
    urls = _pair(list(evidence_url or []), len(srcs), "--evidence-url")
    specs = [
        SourceSpec(
            path=p,
            relation=Relation.parse(r) if r else None,
            evidence=Evidence(text=e, url=u) if (e or u) else None,
        )
        for p, r, e, u in zip(srcs, rels, evs, urls, strict=True)
    ]
    if len(images) > 1 and output is not None and not output.is_dir():
        raise ConfigError(
            "with several images, -o must be an existing folder.",
            "複数の画像を署名するときは -o に既存のフォルダを指定してください。",
        )
    store = IdentityStore.default()
    ident = store.load(_passphrase_for(store, None))
    opts = SignOptions(hashtag=hashtag, source_thumbnails=source_thumbnails, watermark=watermark,
                       in_place=in_place, allow_unclear_metadata=allow_unclear_metadata)
    for image in images:
        res = sign_image(image, ident, t2i=t2i, sources=specs, output=output, options=opts)
        kind = res.pledge.kind.value if res.pledge else "-"
        _say(f"signed {res.output} ({kind}, {len(res.sources)} source(s))",
             f"署名しました {res.output}（{kind}、素材 {len(res.sources)} 件）")
        for rs in res.sources:
            _say(f"  source {rs.record.title}: {rs.record.relation.value} via {rs.reason}",
                 f"  素材 {rs.record.title}: {rs.record.relation.value}（{rs.reason}）")
        if sidecar:
            side = res.output.with_suffix(res.output.suffix + ".c2pa")
            side.write_bytes(res.manifest_store)
            _say(f"  manifest store: {side}", f"  マニフェスト: {side}")
        for note in res.notes:
            typer.echo(f"  note: {note}", err=True)


# --- verify -----------------------------------------------------------------------------------


@app.command()
@_guard
def verify(
    images: Annotated[list[Path], typer.Argument(help="Images to verify.")],
    text: Annotated[str | None, typer.Option(help="The post text. / 投稿文")] = None,
    text_file: Annotated[Path | None, typer.Option(help="File with the post text.")] = None,
    key_token: Annotated[str | None, typer.Option(help="Expected signer key token.")] = None,
    against: Annotated[list[Path] | None, typer.Option(help="Your original, to compare (repeat).")] = None,
    repo: Annotated[list[str] | None, typer.Option(help="Manifest repository DIR or URL (repeat).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    lang: Annotated[str | None, typer.Option(help="ja | en")] = None,
) -> None:
    """Verify images against the pledge and the post. / 画像を宣言と投稿文に照らして検証します。"""
    from myself_i2i.report import EXIT_CODES
    from myself_i2i.verify import VerifyOptions, verify_image

    language = parse_lang(lang)
    post = text
    if text_file is not None:
        from myself_i2i.images import check_path

        try:
            post = check_path(text_file).read_text("utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{text_file}: not UTF-8 text.", f"{text_file}: UTF-8 のテキストではありません。") from e
    repos: list[Any] = []
    if repo:
        from myself_i2i.repository import open_repository

        repos = [open_repository(r) for r in repo]
    opts = VerifyOptions(post_text=post, key_token=key_token, against=list(against or []),
                         repositories=repos)
    reports = [verify_image(p, opts) for p in images]
    if as_json:
        out: Any = [r.to_dict() for r in reports] if len(reports) > 1 else reports[0].to_dict()
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for r in reports:
            for line in r.lines(language):
                typer.echo(line)
    worst = max(reports, key=lambda r: list(EXIT_CODES).index(r.verdict))
    raise typer.Exit(worst.exit_code)


@app.command()
@_guard
def inspect(
    image: Annotated[Path, typer.Argument(help="Image to inspect.")],
    lang: Annotated[str | None, typer.Option(help="ja | en")] = None,
) -> None:
    """Print the manifest readably. / マニフェストを読みやすく表示します。"""
    from myself_i2i.inspection import inspect_lines

    for line in inspect_lines(image, parse_lang(lang)):
        typer.echo(line)


# --- trust ------------------------------------------------------------------------------------


@trust_app.command("add")
@_guard
def trust_add(
    token_or_cert: Annotated[str, typer.Argument(help="Key token or CA certificate file.")],
    name: Annotated[str, typer.Option(help="Who it is, e.g. @handle.")],
) -> None:
    """Trust a creator. / 作者を信頼します。"""
    from myself_i2i.keyring import Keyring

    tc = Keyring.default().add(token_or_cert, name)
    _say(f"Trusted {tc.name} ({tc.token})", f"{tc.name}（{tc.token}）を信頼済みにしました")


@trust_app.command("list")
@_guard
def trust_list() -> None:
    """List trusted creators. / 信頼する作者の一覧。"""
    from myself_i2i.keyring import Keyring

    entries = Keyring.default().entries()
    if not entries:
        _say("No trusted creators yet.", "信頼する作者はまだいません。")
    for t in entries:
        typer.echo(f"{t.token}  {t.name}{'  (CA certificate)' if t.ca_pem else ''}")


@trust_app.command("remove")
@_guard
def trust_remove(token_or_name: Annotated[str, typer.Argument()]) -> None:
    """Stop trusting a creator. / 信頼を取り消します。"""
    from myself_i2i.errors import KeyringError
    from myself_i2i.keyring import Keyring

    n = Keyring.default().remove(token_or_name)
    if n == 0:
        raise KeyringError(f"{token_or_name!r} is not in the keyring. See `myself-i2i trust list`.",
                           f"{token_or_name!r} はキーリングにありません。`myself-i2i trust list` で確認してください。")
    _say(f"Removed {n}.", f"{n} 件削除しました。")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
