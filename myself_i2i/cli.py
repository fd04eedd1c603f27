"""The ``myself-i2i`` command. It only parses arguments and calls the public library API.

Errors of the :class:`~myself_i2i.errors.MyselfI2IError` family are caught once, in
:func:`_guard`, and printed as one line in the user's language with a non-zero exit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from myself_i2i import __version__
from myself_i2i.cli_help import (
    Command,
    Group,
    current_lang,
    global_lang_callback,
    lang_option_callback,
    translate_usage_error,
)
from myself_i2i.errors import ConfigError, IdentityError, MyselfI2IError, RepositoryError
from myself_i2i.i18n import Lang, parse_lang, term

F = TypeVar("F", bound=Callable[..., Any])

#: ``--lang ja|en`` of the commands that print for a person (also picks their help's language).
LangOption = Annotated[
    str | None,
    typer.Option(
        metavar="ja|en",
        is_eager=True,
        callback=lang_option_callback,
        help="Language of the output. / 出力の言語",
    ),
]

app = typer.Typer(
    name="myself-i2i",
    help="Make the #Myself_i2i / #Noi2i pledge checkable: sign AI images with C2PA, verify "
    "them, gather evidence. / #Myself_i2i・#Noi2i の宣言を C2PA で検証可能にします：AI 画像への署名、検証、証拠集め。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help imports rich's markdown, syntax and traceback modules
    # (~90 ms, a third of `--help`); see docs/performance.md.
    rich_markup_mode=None,
    cls=Group,
)
trust_app = typer.Typer(
    help="Trusted creators (keyring). / 信頼する作者（キーリング）。",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=Group,
)
sources_app = typer.Typer(
    help="Registry of your own and permitted sources. / 自分の素材・許可済み素材の登録。",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=Group,
)
repo_app = typer.Typer(
    help="Manifest repository. / マニフェストリポジトリ。",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=Group,
)
app.add_typer(trust_app, name="trust")
app.add_typer(sources_app, name="sources")
app.add_typer(repo_app, name="repo")


def _lang() -> Lang:
    return current_lang()


def _say(en: str, ja: str, *, err: bool = False) -> None:
    typer.echo(ja if _lang() == "ja" else en, err=err)


def _guard(fn: F) -> F:
    """Catch our errors once: one line, non-zero exit, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = kwargs.get("lang")  # the command's --lang, if it has one
        lang = parse_lang(given) if given else current_lang()
        try:
            return fn(*args, **kwargs)
        except MyselfI2IError as e:
            typer.echo(f"myself-i2i: {e.message(lang)}", err=True)
            raise typer.Exit(e.exit_code) from None
        except OSError as e:  # a file we were asked to write or read (e.g. --export-ca DIR)
            where = f"{e.filename}: " if e.filename else ""
            what = e.strerror or str(e)
            typer.echo(
                f"myself-i2i: {where}cannot be read or written ({what}). Check the path."
                if lang == "en"
                else f"myself-i2i: {where}読み書きできません（{what}）。パスを確かめてください。",
                err=True,
            )
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("myself-i2i: interrupted / 中断しました", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _interactive() -> bool:
    """Whether a person can answer a question on stdin (tests replace this)."""
    return sys.stdin.isatty()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version. / バージョンを表示",
        ),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="ja|en",
            is_eager=True,
            callback=global_lang_callback,
            help="Language of help and messages (default: MYSELF_I2I_LANG or the locale). / "
            "ヘルプとメッセージの言語（既定は MYSELF_I2I_LANG またはロケール）",
        ),
    ] = None,
) -> None:
    """myself-i2i."""


# --- identity -------------------------------------------------------------------------------


@app.command()
@_guard
def init(
    name: Annotated[
        str, typer.Option(help="Your display name or @handle. / 表示名・@ハンドル")
    ] = "",
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase", help="Encrypt the keys with a passphrase. / 鍵をパスフレーズで暗号化"
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an existing identity (new key token; the old one is kept as a backup). / 既存の ID を置き換え（キートークンが変わります。古い ID はバックアップに残します）"
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="With --force: replace without asking (for scripts). / --force で確認せずに置き換え（スクリプト用）",
        ),
    ] = False,
) -> None:
    """Create your personal signing identity. / 署名用の個人 ID を作成します。"""
    from myself_i2i.identity import IdentityStore

    store = IdentityStore.default()
    replacing = force and store.exists()
    if replacing and not yes:
        # Replacing changes the key token everyone knows you by: ask a person first.
        if not _interactive():
            raise IdentityError(
                f"init --force would replace the identity in {store.directory} (your key token "
                "changes); run it in a terminal to confirm, or add --yes.",
                f"init --force は {store.directory} の ID を置き換えます（キートークンが変わります）。"
                "端末で実行して確認するか、--yes を付けてください。",
            )
        try:
            old_token = store.public()[1]
        except IdentityError:  # a damaged identity is exactly what --force is for
            old_token = "?"
        question = (
            f"置き換えると、キートークン {old_token} は使えなくなり、新しいトークンになります"
            "（古い ID はバックアップフォルダに残します）。置き換えますか？"
            if _lang() == "ja"
            else f"Replacing ends your key token {old_token}; you get a new one (the old "
            "identity is kept in a backup folder). Replace it?"
        )
        if not typer.confirm(question, default=False):
            _say("Nothing changed.", "何も変更していません。", err=True)
            raise typer.Exit(1)
    pw: str | None = None
    if passphrase:
        pw = os.environ.get("MYSELF_I2I_PASSPHRASE")
        if not pw and not _interactive():
            raise IdentityError(
                "--passphrase needs a terminal to type it in, or MYSELF_I2I_PASSPHRASE.",
                "--passphrase には入力用の端末か MYSELF_I2I_PASSPHRASE が必要です。",
            )
        if not pw:
            pw = str(
                typer.prompt("Passphrase / パスフレーズ", hide_input=True, confirmation_prompt=True)
            )
    before = set(store.backups())
    ident = store.create(name or os.environ.get("USER", "") or "myself_i2i user", pw, force=force)
    for backup in (b for b in store.backups() if b not in before):
        _say(f"The old identity is kept in {backup}", f"古い ID は {backup} に残しました")
    _say(
        f"Created identity {ident.name!r} in {store.directory}",
        f"ID {ident.name!r} を {store.directory} に作成しました",
    )
    _say(f"Key token: {ident.token}", f"キートークン: {ident.token}")
    _say(
        f"Put this in your profile or posts: {ident.profile_line()}",
        f"プロフィールや投稿に書く行: {ident.profile_line()}",
    )


@app.command()
@_guard
def identity(
    renew: Annotated[
        bool,
        typer.Option(
            help="Issue a new signing certificate (token kept). / 署名証明書を更新（トークンは同じ）"
        ),
    ] = False,
    export_ca: Annotated[
        Path | None,
        typer.Option(
            help="Write your CA certificate (for others' keyrings). / CA 証明書を書き出し（他の人のキーリング用）"
        ),
    ] = None,
) -> None:
    """Show your key token and the line to put in your profile. / キートークンと、プロフィールに書く一行を表示します。"""
    from myself_i2i.identity import IdentityStore

    store = IdentityStore.default()
    if renew:
        ident = store.renew(_passphrase_for(store, None))
        _say(
            f"Renewed; valid until {ident.leaf_not_after:%Y-%m-%d}.",
            f"更新しました。有効期限 {ident.leaf_not_after:%Y-%m-%d}。",
        )
    name, token, ca, leaf = store.public()
    if export_ca is not None:
        from cryptography.hazmat.primitives import serialization

        export_ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        _say(f"Wrote {export_ca}", f"{export_ca} に書き出しました")
    _say(f"Name: {name}", f"名前: {name}")
    _say(f"Key token: {token}", f"キートークン: {token}")
    _say(
        f"Signing certificate valid until {leaf.not_valid_after_utc:%Y-%m-%d}",
        f"署名証明書の有効期限: {leaf.not_valid_after_utc:%Y-%m-%d}",
    )
    _say(f"Profile / post line: #Myself_i2i {token}", f"プロフィール・投稿用: #Myself_i2i {token}")
    if store.needs_reencryption():
        _say(
            "Your keys use an older, weaker passphrase encryption; run `myself-i2i identity "
            "--renew` to re-encrypt them (token kept).",
            "鍵が古い弱いパスフレーズ暗号化のままです。`myself-i2i identity --renew` で"
            "暗号化し直してください（トークンは同じ）。",
        )


# --- sign -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Callable[[float, int], None]]:
    """A progress bar on stderr for work that has taken over a second, only on a terminal.

    Yields the callback to report (done, total) with; it may be called from any thread.
    rich is imported only when the bar is actually shown.
    """
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        yield lambda done, total: None
        return
    import threading

    lock = threading.Lock()
    state: dict[str, Any] = {"done": 0.0, "total": total, "bar": None, "task": None, "over": False}

    def show() -> None:
        from rich.console import Console
        from rich.progress import Progress

        with lock:
            if state["over"]:
                return
            bar = Progress(transient=True, console=Console(stderr=True))
            state["task"] = bar.add_task(label, total=state["total"], completed=state["done"])
            state["bar"] = bar
            bar.start()

    def tick(done: float, n: int) -> None:
        with lock:
            state["done"], state["total"] = done, n
            if state["bar"] is not None:
                state["bar"].update(state["task"], completed=done, total=n)

    timer = threading.Timer(1.0, show)
    timer.daemon = True
    timer.start()
    try:
        yield tick
    finally:
        timer.cancel()
        with lock:
            state["over"] = True
            if state["bar"] is not None:
                state["bar"].stop()


def _pair(values: list[str], n: int, what: str) -> list[str | None]:
    if not values:
        return [None] * n
    if n == 0:
        raise ConfigError(
            f"{what} describes a --source image, but no --source was given.",
            f"{what} は --source の画像についての指定ですが、--source がありません。",
        )
    if len(values) == 1:
        return [values[0]] * n
    if len(values) != n:
        raise ConfigError(
            f"give {what} once (for all sources) or once per --source ({n}); got {len(values)}.",
            f"{what} は 1 回（全素材共通）か --source ごとに（{n} 回）指定してください。{len(values)} 回指定されました。",
        )
    return list(values)


def _reason_ja(reason: str) -> str:
    """Japanese for :attr:`ResolvedSource.reason` (``registry (exact)`` and the like)."""
    if reason.startswith("registry (") and reason.endswith(")"):
        return f"登録済み・{term(reason[len('registry (') : -1], 'ja')}"
    return {
        "explicit permission": "明示的な許可",
        "own signed t2i output": "自分の署名済み t2i 出力",
    }.get(reason, reason)


@app.command()
@_guard
def sign(
    images: Annotated[
        list[Path],
        typer.Argument(help="PNG / JPEG / WebP images to sign. / 署名する PNG・JPEG・WebP 画像"),
    ],
    t2i: Annotated[
        bool, typer.Option("--t2i", help="Made from text only. / テキストのみで生成")
    ] = False,
    source: Annotated[
        list[Path] | None,
        typer.Option("--source", help="An i2i input image (repeat). / i2i の入力画像（複数可）"),
    ] = None,
    relation: Annotated[
        list[str] | None, typer.Option(help="own-drawing | own-photo | own-generation | permitted")
    ] = None,
    evidence: Annotated[
        list[str] | None, typer.Option(help="How the author permitted it. / 許可の根拠")
    ] = None,
    evidence_url: Annotated[
        list[str] | None, typer.Option(help="URL of the permission. / 許可の URL")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file, or folder for several images. / 出力ファイル（複数画像ならフォルダ）",
        ),
    ] = None,
    in_place: Annotated[
        bool, typer.Option(help="Replace the input file. / 入力ファイルを置き換え")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace an existing output file. / 既存の出力ファイルを置き換え"),
    ] = False,
    hashtag: Annotated[str, typer.Option(help="#Myself_i2i or #Noi2i")] = "#Myself_i2i",
    source_thumbnails: Annotated[
        bool, typer.Option(help="Embed source thumbnails. / 素材のサムネイルを埋め込む")
    ] = True,
    watermark: Annotated[
        bool,
        typer.Option(
            help="Embed the invisible locator watermark. / 見えないロケーター透かしを埋め込む"
        ),
    ] = True,
    allow_unclear_metadata: Annotated[
        bool,
        typer.Option(
            help="Sign t2i when metadata is unclear. / メタデータが不明確でも t2i として署名"
        ),
    ] = False,
    sidecar: Annotated[
        bool,
        typer.Option(
            help="Also write OUT.c2pa (the manifest store). / OUT.c2pa（マニフェスト）も書き出す"
        ),
    ] = False,
    grant: Annotated[
        list[Path] | None,
        typer.Option(
            "--grant",
            help="An artist's signed grant for a source (repeat). / 素材についての作者の署名付き許可証（複数可）",
        ),
    ] = None,
) -> None:
    """Sign images with the #Myself_i2i pledge. / 画像に #Myself_i2i の宣言を署名します。"""
    from myself_i2i.grants import read_grant_file
    from myself_i2i.identity import IdentityStore
    from myself_i2i.models import Evidence, Relation, SourceSpec
    from myself_i2i.sign import SignOptions, sign_images

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
    opts = SignOptions(
        hashtag=hashtag,
        source_thumbnails=source_thumbnails,
        watermark=watermark,
        in_place=in_place,
        overwrite=overwrite,
        allow_unclear_metadata=allow_unclear_metadata,
        grants=tuple(read_grant_file(g) for g in grant or []),
    )
    from myself_i2i._internal.malloc import keep_big_buffers

    keep_big_buffers()  # a batch: reuse freed pixel buffers instead of faulting in new pages
    with _progress_bar("signing / 署名中", len(images)) as tick:
        results = sign_images(
            images, ident, t2i=t2i, sources=specs, output=output, options=opts, progress=tick
        )
        for res in results:
            _print_signed(res, sidecar)


def _print_signed(res: Any, sidecar: bool) -> None:
    """The lines `sign` prints for one signed image."""
    kind = res.pledge.kind.value if res.pledge else "-"
    _say(
        f"signed {res.output} ({kind}, {len(res.sources)} source(s))",
        f"署名しました {res.output}（{term(kind, 'ja')}、素材 {len(res.sources)} 件）",
    )
    for rs in res.sources:
        _say(
            f"  source {rs.record.title}: {rs.record.relation.value} via {rs.reason}",
            f"  素材 {rs.record.title}: {term(rs.record.relation, 'ja')}（{_reason_ja(rs.reason)}）",
        )
    if sidecar:
        side = res.output.with_suffix(res.output.suffix + ".c2pa")
        side.write_bytes(res.manifest_store)
        _say(f"  manifest store: {side}", f"  マニフェスト: {side}")
    for note in res.notes_text:
        _say(f"  note: {note.en}", f"  注意: {note.ja}", err=True)


# --- verify -----------------------------------------------------------------------------------


def _color_wanted() -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


def _verify_hints(report: Any, lang: str) -> list[str]:
    """Commands that run as printed, for what the report asks the user to do."""
    import shlex

    hints: list[str] = []
    s = report.signer
    if report.has("signer.unknown") and s is not None and s.token:
        name = s.name or "@handle"
        cmd = f"myself-i2i trust add {s.token} --name {shlex.quote(name)}"
        hints.append(
            f"if {s.token} is the token in the creator's profile: {cmd}"
            if lang == "en"
            else f"{s.token} が作者のプロフィールのトークンと同じなら：{cmd}"
        )
    if report.has("manifest.remote_not_fetched"):
        hints.append(
            "to fetch it anyway (sends a request to that address): add --fetch-remote"
            if lang == "en"
            else "それでも取得するには（そのアドレスに通信します）：--fetch-remote を付けてください"
        )
    return hints


@app.command()
@_guard
def verify(
    images: Annotated[list[Path], typer.Argument(help="Images to verify. / 検証する画像")],
    text: Annotated[str | None, typer.Option(help="The post text. / 投稿文")] = None,
    text_file: Annotated[
        Path | None, typer.Option(help="File with the post text. / 投稿文のファイル")
    ] = None,
    key_token: Annotated[
        str | None, typer.Option(help="Expected signer key token. / 署名者のはずのキートークン")
    ] = None,
    against: Annotated[
        list[Path] | None,
        typer.Option(help="Your original, to compare (repeat). / 比較する自分の原画（複数可）"),
    ] = None,
    repo: Annotated[
        list[str] | None,
        typer.Option(
            help="Manifest repository DIR, URL or postgresql://… (repeat). / マニフェストリポジトリのフォルダ、URL、postgresql://…（複数可）"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report. / JSON レポートを出力")
    ] = False,
    fetch_remote: Annotated[
        bool,
        typer.Option(
            "--fetch-remote",
            help="Fetch a remote manifest a file names by URL (off by default). / "
            "ファイルが URL で指すリモートのマニフェストを取得（既定はしない）",
        ),
    ] = False,
    lang: LangOption = None,
) -> None:
    """Verify images against the pledge and the post. / 画像を宣言と投稿文に照らして検証します。"""
    from myself_i2i.verify import VerifyOptions, verify_image

    language = parse_lang(lang, strict=True) if lang else current_lang()
    post = text
    if text_file is not None:
        from myself_i2i.images import check_path

        if text_file.is_dir():
            raise ConfigError(
                f"{text_file}: is a folder; --text-file needs a text file with the post.",
                f"{text_file}: フォルダです。--text-file には投稿文のテキストファイルを指定してください。",
            )
        try:
            post = check_path(text_file).read_text("utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"{text_file}: not UTF-8 text.", f"{text_file}: UTF-8 のテキストではありません。"
            ) from e
    repos: list[Any] = []
    if repo:
        from myself_i2i.repository import open_repository

        repos = [open_repository(r) for r in repo]
    from myself_i2i.keyring import Keyring

    opts = VerifyOptions(
        post_text=post,
        key_token=key_token,
        keyring=Keyring.default(),  # read once for all the images
        against=list(against or []),
        repositories=repos,
        fetch_remote=fetch_remote,
    )
    # One file's problem is that file's line: a batch always goes on.
    results: list[Any] = []
    for p in images:
        try:
            results.append(verify_image(p, opts))
        except (ConfigError, RepositoryError):
            raise  # the same for every file: stop once, with one line
        except MyselfI2IError as e:
            results.append(e)
    color = _color_wanted()
    codes: list[int] = []
    if as_json:
        items: list[Any] = []
        for r in results:
            if isinstance(r, MyselfI2IError):
                items.append({"error": r.text.to_dict(), "exitCode": r.exit_code})
            else:
                items.append(r.to_dict())
        out: Any = items if len(items) > 1 else items[0]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    for r in results:
        if isinstance(r, MyselfI2IError):
            if not as_json:
                typer.echo(f"myself-i2i: {r.message(language)}", err=True)
            codes.append(r.exit_code)
            continue
        codes.append(r.exit_code)
        if as_json:
            continue
        for line in r.lines(language, color=color):
            typer.echo(line)
        for hint in _verify_hints(r, language):
            typer.echo(f"  → {hint}")
    raise typer.Exit(max(codes))


@app.command()
@_guard
def inspect(
    image: Annotated[Path, typer.Argument(help="Image to inspect. / 表示する画像")],
    lang: LangOption = None,
) -> None:
    """Print the manifest readably. / マニフェストを読みやすく表示します。"""
    from myself_i2i.inspection import inspect_lines

    for line in inspect_lines(image, parse_lang(lang, strict=True) if lang else current_lang()):
        typer.echo(line)


# --- trust ------------------------------------------------------------------------------------


@trust_app.command("add")
@_guard
def trust_add(
    token_or_cert: Annotated[
        str,
        typer.Argument(help="Key token or CA certificate file. / キートークンか CA 証明書ファイル"),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            help="Who it is, e.g. @handle (default: the name in the CA certificate). "
            "/ 誰の鍵か（例 @handle。省略時は CA 証明書の名前）"
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Add even if the name looks like another key's. / 名前が別の鍵の名前に似ていても追加",
        ),
    ] = False,
) -> None:
    """Trust a creator. / 作者を信頼します。"""
    from myself_i2i.keyring import Keyring

    tc = Keyring.default().add(token_or_cert, name, force=force)
    _say(f"Trusted {tc.name} ({tc.token})", f"{tc.name}（{tc.token}）を信頼済みにしました")


@trust_app.command("list")
@_guard
def trust_list() -> None:
    """List trusted creators. / 信頼する作者の一覧。"""
    from myself_i2i.keyring import Keyring

    entries = Keyring.default().entries()
    if not entries:
        _say("No trusted creators yet.", "信頼する作者はまだいません。")
    ca_note = "  (CA 証明書)" if _lang() == "ja" else "  (CA certificate)"
    for t in entries:
        typer.echo(f"{t.token}  {t.name}{ca_note if t.ca_pem else ''}")


@trust_app.command("remove")
@_guard
def trust_remove(token_or_name: Annotated[str, typer.Argument()]) -> None:
    """Stop trusting a creator. / 信頼を取り消します。"""
    from myself_i2i.errors import KeyringError
    from myself_i2i.keyring import Keyring

    n = Keyring.default().remove(token_or_name)
    if n == 0:
        raise KeyringError(
            f"{token_or_name!r} is not in the keyring. See `myself-i2i trust list`.",
            f"{token_or_name!r} はキーリングにありません。`myself-i2i trust list` で確認してください。",
        )
    _say(f"Removed {n}.", f"{n} 件削除しました。")


# --- sources (registry) -----------------------------------------------------------------------


@sources_app.command("add")
@_guard
def sources_add(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files or folders (recursive). / ファイルかフォルダ（再帰的）"),
    ],
    relation: Annotated[
        str, typer.Option(help="own-drawing | own-photo | own-generation | permitted")
    ],
    evidence: Annotated[
        str | None, typer.Option(help="How the author permitted it. / 許可の根拠")
    ] = None,
    evidence_url: Annotated[
        str | None, typer.Option(help="URL of the permission. / 許可の URL")
    ] = None,
) -> None:
    """Register your own or permitted sources. / 自分の素材・許可済み素材を登録します。"""
    from rich.console import Console
    from rich.progress import Progress

    from myself_i2i.images import check_path
    from myself_i2i.models import Evidence, Relation
    from myself_i2i.registry import SourceRegistry

    rel = Relation.parse(relation)
    ev = Evidence(text=evidence, url=evidence_url) if (evidence or evidence_url) else None
    if rel is Relation.PERMITTED and ev is None:
        raise ConfigError(
            "permitted sources need --evidence and/or --evidence-url.",
            "許可済み素材には --evidence か --evidence-url が必要です。",
        )
    for p in paths:
        if not p.exists():
            check_path(p)
    with (
        SourceRegistry.open() as reg,
        Progress(
            transient=True, console=Console(stderr=True), disable=not sys.stderr.isatty()
        ) as progress,
    ):
        task = progress.add_task("hashing / ハッシュ計算", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        res = reg.add_paths(paths, rel, ev, progress=tick)
    _say(
        f"added {res.added}, already registered {res.already}, unchanged skipped "
        f"{res.skipped_unchanged}, failed {len(res.failed)}",
        f"登録 {res.added} 件、登録済み {res.already} 件、未変更スキップ {res.skipped_unchanged} 件、"
        f"失敗 {len(res.failed)} 件",
    )
    for why in res.failed_text:
        _say(f"  failed: {why.en}", f"  失敗: {why.ja}", err=True)
    if res.failed and not (res.added or res.already or res.skipped_unchanged):
        raise typer.Exit(2)


@sources_app.command("list")
@_guard
def sources_list() -> None:
    """List registered sources. / 登録済み素材の一覧。"""
    from myself_i2i.registry import SourceRegistry

    with SourceRegistry.open() as reg:
        entries = reg.list()
    if not entries:
        _say("No sources registered yet.", "登録済みの素材はまだありません。")
    ja = _lang() == "ja"
    for e in entries:
        ev = e.evidence.to_dict() if e.evidence else {}
        note = "［" + " ".join(ev.values()) + "］" if ja else "  [" + " ".join(ev.values()) + "]"
        typer.echo(
            f"{e.id:>5}  {e.sha256[:12]}  {term(e.relation, 'ja') if ja else e.relation.value:<15} "
            f"{e.width}x{e.height}  {e.path}{note if ev else ''}"
        )


@sources_app.command("remove")
@_guard
def sources_remove(
    ident: Annotated[
        list[str], typer.Argument(help="id, sha256 prefix or path / ID・sha256 の先頭・パス")
    ],
) -> None:
    """Remove registered sources. / 登録を削除します。"""
    from myself_i2i.errors import RegistryError
    from myself_i2i.registry import SourceRegistry

    with SourceRegistry.open() as reg:
        n = sum(reg.remove(i) for i in ident)
    if n == 0:
        raise RegistryError(
            "nothing matched; see `myself-i2i sources list`.",
            "一致する登録がありません。`myself-i2i sources list` で確認してください。",
        )
    _say(f"removed {n}", f"{n} 件削除しました")


def _own_token() -> str | None:
    """This machine's key token, if an identity exists (no private key is loaded)."""
    from myself_i2i.identity import IdentityStore

    store = IdentityStore.default()
    return store.public()[1] if store.exists() else None


@sources_app.command("check")
@_guard
def check_source(
    files: Annotated[
        list[Path],
        typer.Argument(help="Images you plan to use as i2i input. / i2i に使う予定の画像"),
    ],
) -> None:
    """Check pictures before using them for i2i. / i2i に使う前に画像を確認します。

    Is it registered as yours or permitted, protected by its artist, marked do-not-use? / 自分の素材・許可済みとして登録済みか、作者が保護しているか、AI 利用禁止の表示があるかを調べます。
    """
    from myself_i2i.paths import home
    from myself_i2i.registry import DB_NAME, SourceRegistry
    from myself_i2i.sign import own_manifest_assertion_list
    from myself_i2i.signals import find_signals

    reg = SourceRegistry.open() if (home() / DB_NAME).exists() else None
    own = _own_token()

    def protection_of(f: Path) -> Any:
        from myself_i2i.protect import find_protection

        return find_protection(f.read_bytes(), str(f))

    from myself_i2i.protect import refusal_for

    worst = 0
    try:
        for f in files:
            if reg is not None:
                _hashes, match = reg.check_file(f)
            else:
                from myself_i2i.images import hash_image

                hash_image(f)
                match = None
            signals = find_signals(f, own_manifest_assertion_list(f))
            blocking = [s for s in signals if s.blocking]
            protection = protection_of(f)
            if protection is not None and protection.token == own:
                _say(
                    f"✔ {f}: your own protected artwork",
                    f"✔ {f}: あなた自身が保護した作品です",
                )
            elif protection is not None:
                worst = max(worst, 3)
                text = refusal_for(f, protection)
                _say(f"✘ {text.en}", f"✘ {text.ja}")
            elif blocking:
                worst = max(worst, 3)
                _say(
                    f"✘ {f}: DO NOT USE — the author forbids AI use: "
                    + "; ".join(s.quote() for s in blocking),
                    f"✘ {f}: 使用不可 — 作者が AI 利用を禁止しています："
                    + "；".join(s.quote() for s in blocking),
                )
            elif match is not None:
                _say(
                    f"✔ {f}: registered as {match.entry.relation.value} ({term(match.kind, 'en')})",
                    f"✔ {f}: {term(match.entry.relation, 'ja')}として登録済み"
                    f"（{term(match.kind, 'ja')}）",
                )
            else:
                worst = max(worst, 1)
                _say(
                    f'? {f}: not registered. If it is yours: myself-i2i sources add "{f}" '
                    '--relation own-drawing; if permitted: --relation permitted --evidence "..."',
                    f'? {f}: 未登録です。自分の絵なら myself-i2i sources add "{f}" --relation '
                    'own-drawing、許可済みなら --relation permitted --evidence "..."',
                )
            for s in signals:
                if not s.blocking:
                    _say(
                        f"  note: {s.quote()} (does not forbid i2i input)",
                        f"  参考: {s.quote()}（i2i 入力は禁止していません）",
                    )
    finally:
        if reg is not None:
            reg.close()
    raise typer.Exit(worst)


# The old name of `sources check`, kept hidden for a release.
app.command("check-source", hidden=True)(check_source)


# --- repository -------------------------------------------------------------------------------


@repo_app.command("publish")
@_guard
def publish(
    images: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Signed images (default: every manifest in your local repository). / 署名済み画像（省略時はローカルの全マニフェスト）"
        ),
    ] = None,
    repo: Annotated[
        str,
        typer.Option(
            help="Target repository DIR, URL or postgresql://…. / 公開先のフォルダ、URL、postgresql://…"
        ),
    ] = "",
    token: Annotated[
        str | None,
        typer.Option(
            help="Upload token for an HTTP repository. / HTTP リポジトリのアップロードトークン"
        ),
    ] = None,
) -> None:
    """Add manifests to a repository (for recovery after re-encoding). / 再エンコード後の復元のため、マニフェストをリポジトリに追加します。"""
    from myself_i2i.repository import HttpRepository, LocalRepository, open_repository
    from myself_i2i.softbinding.publish import manifests_of_images

    if not repo:
        raise ConfigError(
            "give --repo DIR, --repo URL or --repo postgresql://….",
            "--repo DIR か --repo URL か --repo postgresql://… を指定してください。",
        )
    items: list[tuple[bytes, bytes | None, str, str]]
    if images:
        items = manifests_of_images(images)
    else:
        with LocalRepository.open_default() as local:
            items = [
                (s, loc, fp, title)
                for loc, fp, title in local.entries()
                if (s := local.get(loc)) is not None
            ]
    target = open_repository(repo, create=True, token=token)  # only once the inputs are good
    n = 0
    for store, loc, fp, title in items:
        if isinstance(target, HttpRepository):
            target.upload(store, loc, fp, title)
        else:
            target.add(store, locator=loc, fingerprint=fp, title=title)
        n += 1
    if not isinstance(target, HttpRepository):
        target.close()
    _say(f"published {n} manifest(s) to {repo}", f"{repo} に {n} 件のマニフェストを公開しました")


# The old top-level name of `repo publish`, kept hidden for a release.
app.command("publish", hidden=True)(publish)


def _check_bindable(host: str, port: int) -> None:
    """Fail with one line before starting a server that could not listen."""
    import socket

    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
    except OSError as e:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({e.strerror or e}). Choose another --port.",
            f"{host}:{port} で待ち受けできません（{e.strerror or e}）。別の --port を指定してください。",
        ) from e


@app.command()
@_guard
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on. / 待ち受けるアドレス")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port. / ポート")] = 8000,
    max_upload_mb: Annotated[
        int, typer.Option(help="Largest upload in MB. / アップロード上限（MB）")
    ] = 50,
    public: Annotated[
        bool,
        typer.Option(
            help="Say on the page that 'trusted' means only the keys you listed. / "
            "「信頼済み」は運営者が登録した鍵だけだとページに表示"
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Verification processes. / 検証プロセス数")
    ] = 2,
    memory_limit_mb: Annotated[
        int,
        typer.Option(
            min=256,
            help="Memory per verification process in MB. / 検証プロセスごとのメモリ上限（MB）",
        ),
    ] = 768,
    time_limit: Annotated[
        float, typer.Option(min=1, help="Seconds per verification. / 1 件の検証の制限時間（秒）")
    ] = 20.0,
    repo: Annotated[
        list[str] | None,
        typer.Option(
            help="Manifest repository DIR, URL or postgresql://… searched for stripped copies (repeat). / マニフェストを失ったコピーを探すリポジトリ（フォルダ・URL・postgresql://…、複数可）"
        ),
    ] = None,
) -> None:
    """Run the web verifier page and API. / Web 検証ページと API を起動します。

    Anyone can check images there. A manifest repository is served by `repo serve`. / 誰でもここで画像を確認できます。マニフェストリポジトリの公開は `repo serve` です。
    """
    from myself_i2i.web import WebConfig
    from myself_i2i.web import serve as serve_web

    _check_bindable(host, port)
    _say(f"web verifier on http://{host}:{port}/", f"Web 検証ページ：http://{host}:{port}/")
    config = WebConfig(
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        public=public,
        workers=workers,
        memory_limit_bytes=memory_limit_mb * 1024 * 1024,
        time_limit=time_limit,
        repositories=tuple(repo or ()),
    )
    serve_web(host, port, config)


_REPO_HELP = "Repository folder or postgresql://… (default: your folder). / リポジトリのフォルダか postgresql://…（省略時は自分のフォルダ）"


def _repo_spec(directory: Path | None, repo: str | None) -> str:
    from myself_i2i.repository import LocalRepository

    if directory is not None and repo:
        raise ConfigError("give --dir or --repo, not both.", "--dir と --repo は片方だけです。")
    if repo and repo.startswith(("http://", "https://")):
        raise ConfigError(
            f"{repo}: give a repository folder or postgresql://… here, not a URL.",
            f"{repo}: ここには URL ではなくリポジトリのフォルダか postgresql://… を指定してください。",
        )
    return repo or str(directory or LocalRepository.default_path())


@repo_app.command("serve")
@_guard
def repo_serve(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Repository folder (default: yours). / リポジトリのフォルダ（省略時は自分のもの）",
        ),
    ] = None,
    repo: Annotated[str | None, typer.Option(help=_REPO_HELP)] = None,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port. / ポート")] = 8765,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes. / ワーカープロセス数")
    ] = 1,
    open_publishing: Annotated[
        bool,
        typer.Option(
            "--open",
            help="Accept self-proving uploads without the token. / 自己証明できるアップロードをトークンなしで受け付ける",
        ),
    ] = False,
    public_url: Annotated[
        str | None,
        typer.Option(help="Public base URL given in matches. / 照合結果に載せる公開ベース URL"),
    ] = None,
) -> None:
    """Serve a manifest repository over HTTP. / マニフェストリポジトリを HTTP で公開します。

    Verifiers recover manifests from it (the C2PA Soft Binding Resolution API). The web verifier page is `serve`. / 検証する側はここからマニフェストを復元します（C2PA Soft Binding Resolution API）。Web 検証ページは `serve` です。
    """
    import os

    from myself_i2i import repository_server as rs
    from myself_i2i.repository import LocalRepository, is_postgresql, open_repository

    spec = _repo_spec(directory, repo)
    # fail here, with one line, if the repository cannot be opened
    probe = open_repository(spec, create=True)
    token = os.environ.get(rs.ENV_TOKEN) or (
        probe.upload_token() if isinstance(probe, LocalRepository) else None
    )
    probe.close()
    _check_bindable(host, port)
    where = spec if not is_postgresql(spec) else probe.name
    if isinstance(probe, LocalRepository):
        note_en, note_ja = (
            f"upload token in {spec}/upload-token",
            f"アップロードトークンは {spec}/upload-token",
        )
    elif token:
        note_en, note_ja = (
            f"upload token from ${rs.ENV_TOKEN}",
            f"アップロードトークンは ${rs.ENV_TOKEN}",
        )
    else:
        note_en, note_ja = (
            f"no upload token (set ${rs.ENV_TOKEN})",
            f"アップロードトークンなし（${rs.ENV_TOKEN} で設定）",
        )
    _say(
        f"serving {where} on http://{host}:{port}/ with {workers} worker(s) ({note_en}"
        f"{'; open publishing' if open_publishing else ''})",
        f"{where} を http://{host}:{port}/ で公開中、ワーカー {workers}（{note_ja}"
        f"{'、公開投稿あり' if open_publishing else ''}）",
    )
    import uvicorn

    if workers == 1:
        app_ = rs.create_repository_app(
            spec,
            token=token,
            open_publishing=rs.OpenPublishing.on() if open_publishing else None,
            public_url=public_url,
        )
        uvicorn.run(app_, host=host, port=port, log_level="warning")
        return
    # Several processes: each worker builds its own app from the environment (stateless;
    # everything shared lives in the repository).
    os.environ[rs.ENV_REPO] = spec
    if token:
        os.environ[rs.ENV_TOKEN] = token
    os.environ[rs.ENV_OPEN] = "1" if open_publishing else "0"
    if public_url:
        os.environ[rs.ENV_PUBLIC_URL] = public_url
    uvicorn.run(
        "myself_i2i.repository_server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@repo_app.command("list")
@_guard
def repo_list(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Repository folder (default: yours). / リポジトリのフォルダ（省略時は自分のもの）",
        ),
    ] = None,
    repo: Annotated[str | None, typer.Option(help=_REPO_HELP)] = None,
    all_versions: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every manifest, also the older ones of a picture signed again. / "
            "署名し直した画像の古いマニフェストも含めてすべて表示",
        ),
    ] = False,
) -> None:
    """List the manifests in a repository. / リポジトリ内のマニフェスト一覧。

    A picture signed again (same signer, title and fingerprint) is listed once: its newest
    manifest, with when the repository first got any of them; --all lists every manifest. / 署名し直した画像（署名者・タイトル・フィンガープリントが同じ）は 1 行にまとめ、最新のマニフェストと最初に公開された日時を表示します。すべて見るには --all。
    """
    from myself_i2i.repository import HttpRepository, open_repository

    r = open_repository(_repo_spec(directory, repo), create=directory is None and repo is None)
    assert not isinstance(r, HttpRepository)  # _repo_spec refuses URLs
    try:
        records = list(r.records())  # oldest first
    finally:
        r.close()
    for line in _repo_list_lines(records, all_versions=all_versions, lang=_lang()):
        typer.echo(line)


#: pHash bits within which two manifests of one signer and title are the same picture.
_SAME_PICTURE_BITS = 8


def _repo_list_lines(records: list[Any], *, all_versions: bool, lang: Lang) -> list[str]:
    """``repo list``'s table: a header, then one row per picture (or per manifest)."""
    # One group per picture: the same signer and title, and a fingerprint within a few bits
    # (signing again embeds a new locator in the watermark, which moves the pHash by 1-4
    # bits; different pictures are >= 16 bits apart).
    groups: list[list[Any]] = []  # each: [newest record, first time, count]
    for rec in records:  # oldest first: the last one of a group is its newest
        group = None
        if not all_versions:
            fp = int(rec.fingerprint, 16)
            group = next(
                (
                    g
                    for g in groups
                    if (g[0].signer, g[0].title) == (rec.signer, rec.title)
                    and bin(int(g[0].fingerprint, 16) ^ fp).count("1") <= _SAME_PICTURE_BITS
                ),
                None,
            )
        if group is None:
            groups.append([rec, rec.first_published, 1])
            continue
        first = group[1]
        if first is None or (rec.first_published is not None and rec.first_published < first):
            group[1] = rec.first_published
        group[0], group[2] = rec, group[2] + 1
    rows = [(g[0], g[1], g[2]) for g in groups]
    if not rows:
        return ["(empty)" if lang == "en" else "（空です）"]
    heads = (
        ("LOCATOR", "FINGERPRINT", "FIRST PUBLISHED (UTC)", "TITLE")
        if lang == "en"
        else ("ロケーター", "フィンガープリント", "初回公開（UTC）", "タイトル")
    )
    table = []
    for rec, first, count in rows:
        when = first.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if first else "-"
        again = ""
        if count > 1:
            again = f"  ({count} versions)" if lang == "en" else f"（{count} 版）"
        table.append((rec.locator.hex(), rec.fingerprint, when, f"{rec.title}{again}"))
    from myself_i2i.cli_help import width

    widths = [max(width(c) for c in col) for col in zip(heads, *table, strict=False)]
    return [
        "  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (heads, *table)
    ]


@repo_app.command("migrate")
@_guard
def repo_migrate(
    src: Annotated[
        str,
        typer.Argument(
            help="From: folder or postgresql://…. / 移行元：フォルダまたは postgresql://…"
        ),
    ],
    dst: Annotated[
        str,
        typer.Argument(
            help="To: folder or postgresql://…. / 移行先：フォルダまたは postgresql://…"
        ),
    ],
) -> None:
    """Copy every manifest into another repository. / 全マニフェストを別のリポジトリに複製します。

    First-published times are kept. / 初回公開日時はそのまま引き継ぎます。
    """
    from myself_i2i.repository import HttpRepository, migrate, open_repository

    source = open_repository(_repo_spec(None, src))
    try:
        target = open_repository(_repo_spec(None, dst), create=True)
        assert not isinstance(source, HttpRepository) and not isinstance(target, HttpRepository)
        try:
            copied, same = migrate(source, target)
        finally:
            target.close()
    finally:
        source.close()
    _say(
        f"copied {copied} manifest(s) from {source.name} to {target.name} ({same} already there)",
        f"{source.name} から {target.name} へ {copied} 件を複製しました（{same} 件は既存）",
    )


@repo_app.command("block")
@_guard
def repo_block(
    token: Annotated[str, typer.Argument(help="Signer key token. / 署名者のキートークン")],
    directory: Annotated[Path | None, typer.Option("--dir")] = None,
    repo: Annotated[str | None, typer.Option(help=_REPO_HELP)] = None,
    reason: Annotated[str, typer.Option(help="Why (kept). / 理由")] = "",
    unblock: Annotated[
        bool, typer.Option("--unblock", help="Take the key off the list. / 解除")
    ] = False,
) -> None:
    """Refuse open publishing from a signer key. / 署名者の鍵からの公開投稿を拒否します。"""
    from myself_i2i.repository import HttpRepository, open_repository

    r = open_repository(_repo_spec(directory, repo), create=True)
    assert not isinstance(r, HttpRepository)  # _repo_spec refuses URLs
    try:
        if unblock:
            r.unblock(token)
        else:
            r.block(token, reason)
    finally:
        r.close()
    _say(
        f"{'unblocked' if unblock else 'blocked'} {token}",
        f"{token} を{'解除' if unblock else 'ブロック'}しました",
    )


@app.command()
@_guard
def watch(
    outdir: Annotated[
        Path, typer.Argument(help="Output folder of your generation UI. / 生成 UI の出力フォルダ")
    ],
    signed_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where signed copies go (default OUTDIR/signed). / 署名済みコピーの保存先（省略時 OUTDIR/signed）"
        ),
    ] = None,
    inputs: Annotated[
        Path | None,
        typer.Option(
            help="Folder with the i2i input files (looked up by name). / i2i 入力画像のフォルダ（名前で検索）"
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option(help="Handle what is there now, then exit. / 今ある画像だけ処理して終了")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between polls. / 確認の間隔（秒）")
    ] = 2.0,
    hashtag: Annotated[str, typer.Option(help="#Myself_i2i or #Noi2i")] = "#Myself_i2i",
    passphrase: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Sign new pictures in a folder as they appear. / フォルダの新しい画像に署名し続けます。"""
    import signal
    import threading

    from myself_i2i.identity import IdentityStore
    from myself_i2i.sign import SignOptions
    from myself_i2i.watch import Watcher, WatchOptions, summary_lines, watch_once

    store = IdentityStore.default()
    ident = store.load(_passphrase_for(store, passphrase))
    opts = WatchOptions(signed_dir, inputs, interval, SignOptions(hashtag=hashtag))
    lang = _lang()
    if once:
        events = watch_once(outdir, ident, opts, settle=min(interval, 1.0))
        for ev in events:
            typer.echo(ev.line(lang))
        for line in summary_lines(events, lang):
            typer.echo(line)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    w = Watcher(outdir, ident, opts)
    _say(
        f"watching {outdir} → {w.signed_dir} (Ctrl-C to stop)",
        f"{outdir} を監視中 → {w.signed_dir}（Ctrl-C で終了）",
    )
    try:
        w.run(stop, lambda ev: typer.echo(ev.line(lang)))
    except KeyboardInterrupt:
        stop.set()
    _say("stopped", "終了しました")


# The artists' commands (protect, permit, revoke, studio) live in their own module.
from myself_i2i import cli_artists as _cli_artists  # noqa: E402

_ = _cli_artists


def _one_language_help(t: typer.Typer) -> None:
    """Every command and group shows its help in one language with plain metavars."""
    t.info.cls = Group
    for c in t.registered_commands:
        c.cls = Command
    for g in t.registered_groups:
        g.cls = Group
        if g.typer_instance is not None:
            _one_language_help(g.typer_instance)


_one_language_help(app)


def _command_name(args: list[str]) -> str | None:
    """The command named on the command line (after the global options), if any."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--lang":
            i += 2
        elif a.startswith("--lang="):
            i += 1
        elif a.startswith("-"):
            return None  # --help, --version, an unknown option: the whole app answers
        else:
            return a
    return None


def app_for(args: list[str]) -> typer.Typer:
    """``app`` with only the command or group that ``args`` names.

    typer builds the click parameters of every command on each start (~20 ms for the
    27 commands) although one runs; this copy holds only the one named, with the same
    global options. Anything else (no command, ``--help``, a misspelt name that wants
    suggestions) gets the whole ``app``.
    """
    import copy

    from typer.main import get_command_name

    name = _command_name(args)
    if name is None:
        return app
    commands = [
        c
        for c in app.registered_commands
        if (c.name or (get_command_name(c.callback.__name__) if c.callback else None)) == name
    ]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands = commands
    pruned.registered_groups = groups
    return pruned


def main() -> None:
    """Console entry point.

    Usage errors (a missing option, a bad value) become one ``myself-i2i:`` line with
    exit code 2 like every other error, instead of a framed usage box.
    """
    from typer.exceptions import TyperException

    try:
        rc = app_for(sys.argv[1:])(standalone_mode=False)
    except TyperException as e:
        fmt = getattr(e, "format_message", None)
        if type(e).__name__ == "NoArgsIsHelpError" or not callable(fmt):
            # `myself-i2i` or `myself-i2i sources` alone: show the help, as before
            typer.echo(str(fmt() if callable(fmt) else e))
            sys.exit(2)
        ctx = getattr(e, "ctx", None)
        path = str(getattr(ctx, "command_path", "") or "myself-i2i")
        message = translate_usage_error(str(fmt()), _lang())
        if _lang() == "ja":
            message += f"（`{path} --help` を参照してください）"
        else:
            message += f" (see `{path} --help`)"
        typer.echo(f"myself-i2i: {message}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("myself-i2i: interrupted / 中断しました", err=True)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)


def run() -> None:
    """The ``myself-i2i`` program: :func:`main`, then a quicker exit.

    When a process exits, CPython's last garbage collection walks every object still
    alive: ~30 ms here, most of them the modules' own functions and classes, which are
    never garbage. Moving them to the permanent generation first (``gc.freeze``) skips
    that walk; everything else about the exit is unchanged (atexit handlers, flushing,
    closing). Python never promises ``__del__`` for objects alive at exit, so nothing
    may depend on it either way. Only for the process's own exit: :func:`main` is what
    tests and other callers run in a process that goes on.
    """
    import gc

    try:
        main()
    finally:
        gc.freeze()


if __name__ == "__main__":
    run()
