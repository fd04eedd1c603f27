"""The artists' commands of ``myself-i2i``: ``protect``, ``permit``, ``revoke``, ``studio``.

Registered on :data:`myself_i2i.cli.app` when that module is imported; like the rest of
the CLI they only parse arguments and call the public library API.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from myself_i2i.cli import _guard, _passphrase_for, _say, app
from myself_i2i.errors import ConfigError

if TYPE_CHECKING:
    from myself_i2i.protect import Use


def _use(value: str, option: str) -> Use:
    from myself_i2i.protect import Use

    try:
        return Use.parse(value)
    except ConfigError as e:
        raise ConfigError(f"{option}: {e.text.en}", f"{option}: {e.text.ja}") from e


@app.command()
@_guard
def protect(
    artworks: Annotated[
        list[Path],
        typer.Argument(help="Your own drawings (PNG / JPEG / WebP). / 自分の絵（PNG・JPEG・WebP）"),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file, or folder for several. / 出力ファイル（複数ならフォルダ）",
        ),
    ] = None,
    ai_training: Annotated[
        str, typer.Option(help="cawg.ai_training: notAllowed | allowed | constrained")
    ] = "notAllowed",
    generative_training: Annotated[
        str, typer.Option(help="cawg.ai_generative_training: notAllowed | allowed | constrained")
    ] = "notAllowed",
    data_mining: Annotated[
        str, typer.Option(help="cawg.data_mining: notAllowed | allowed | constrained")
    ] = "notAllowed",
    photo: Annotated[
        bool, typer.Option("--photo", help="A photograph, not a drawing. / 絵ではなく写真")
    ] = False,
    contact: Annotated[
        str | None,
        typer.Option(help="Where to ask you for a grant. / 許可の依頼先（プロフィール URL など）"),
    ] = None,
    watermark: Annotated[
        bool,
        typer.Option(
            help="Embed the invisible locator watermark. / 見えないロケーター透かしを埋め込む"
        ),
    ] = True,
    publish: Annotated[
        bool,
        typer.Option(
            help="Publish to the repositories in settings.json. / settings.json のリポジトリに公開する"
        ),
    ] = True,
) -> None:
    """Protect your own drawings: not for i2i without your permission. / 自分の絵を保護します。

    AI inference (use as an i2i source) is always refused; the training and data-mining
    entries follow the options. / AI への入力（i2i の素材）は常に禁止です。学習・データマイニングの扱いはオプションに従います。
    """
    from myself_i2i.identity import IdentityStore
    from myself_i2i.protect import ProtectOptions, protect_artwork

    opts = ProtectOptions(
        ai_training=_use(ai_training, "--ai-training"),
        ai_generative_training=_use(generative_training, "--generative-training"),
        data_mining=_use(data_mining, "--data-mining"),
        photo=photo,
        contact=contact,
        watermark=watermark,
        publish=publish,
    )
    if len(artworks) > 1 and output is not None and not output.is_dir():
        raise ConfigError(
            "with several artworks, -o must be an existing folder.",
            "複数の絵を保護するときは -o に既存のフォルダを指定してください。",
        )
    store = IdentityStore.default()
    ident = store.load(_passphrase_for(store, None))
    from myself_i2i._internal.malloc import keep_big_buffers

    keep_big_buffers()  # a batch: reuse freed pixel buffers instead of faulting in new pages
    for art in artworks:
        res = protect_artwork(art, ident, output=output, options=opts)
        _say(
            f"protected {res.output} (by {ident.name}, {ident.token})",
            f"保護しました {res.output}（{ident.name}、{ident.token}）",
        )
        if res.published:
            where = ", ".join(res.published)
            _say(f"  manifest kept in: {where}", f"  マニフェストの保存先: {where}")
        for note in res.notes_text:
            _say(f"  note: {note.en}", f"  注意: {note.ja}", err=True)
    _say(
        "Post the .protected copy. Someone who wants to use it for i2i needs a grant: "
        "myself-i2i permit ARTWORK --to THEIR_TOKEN",
        ".protected のファイルを投稿してください。i2i に使いたい人には許可証が必要です："
        "myself-i2i permit ARTWORK --to 相手のトークン",
    )


def _date(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise ConfigError(
            f"{option}: {value!r} is not a date (use YYYY-MM-DD or an ISO 8601 time).",
            f"{option}: {value!r} は日付ではありません（YYYY-MM-DD か ISO 8601 形式）。",
        ) from e
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
        if len(value.strip()) == 10:  # a whole day: valid until its end
            t += dt.timedelta(days=1) - dt.timedelta(seconds=1)
    return t


@app.command()
@_guard
def permit(
    artwork: Annotated[
        Path, typer.Argument(help="Your (protected) artwork. / あなたの（保護した）絵")
    ],
    to: Annotated[
        str, typer.Option("--to", help="The user's key token. / 許可する相手の鍵トークン")
    ],
    until: Annotated[
        str | None, typer.Option(help="Valid until (YYYY-MM-DD). / 有効期限（YYYY-MM-DD）")
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note. / メモ")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Grant file (default ARTWORK.grant). / 許可証ファイル（省略時は ARTWORK.grant）",
        ),
    ] = None,
) -> None:
    """Give one user a signed permission to use an artwork for i2i. / 作品を i2i に使う許可証を、一人の利用者に署名して渡します。"""
    from myself_i2i.grants import make_grant, parse_grant
    from myself_i2i.identity import IdentityStore
    from myself_i2i.protect import artwork_of

    art = artwork_of(artwork)
    store = IdentityStore.default()
    ident = store.load(_passphrase_for(store, None))
    raw = make_grant(art, ident, to, until=_date(until, "--until"), note=note)
    g = parse_grant(raw)
    target = output or artwork.with_name(f"{artwork.stem}.{g.grantee_token[5:9].lower()}.grant")
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(raw)
        tmp.replace(target)
    except OSError as e:
        from myself_i2i.errors import InputError

        raise InputError(
            f"{target}: cannot write the grant ({e.strerror}).",
            f"{target}: 許可証を書き込めません（{e.strerror}）。",
        ) from e
    until_txt = f" until {g.expires:%Y-%m-%d %H:%M} UTC" if g.expires else ""
    until_ja = f"（{g.expires:%Y-%m-%d %H:%M} UTC まで）" if g.expires else ""
    _say(
        f"wrote {target}: {g.grantee_token} may use {art.title} for i2i{until_txt} (grant {g.id})",
        f"{target} を作成しました：{g.grantee_token} は {art.title} を i2i に使えます{until_ja}"
        f"（許可証 {g.id}）",
    )
    _say(
        "Send this file to them; they sign with --grant FILE.",
        "このファイルを相手に送ってください。相手は --grant FILE を付けて署名します。",
    )


@app.command()
@_guard
def revoke(
    grant: Annotated[Path, typer.Argument(help="A grant you made. / あなたが作った許可証")],
    reason: Annotated[str | None, typer.Option(help="Why (optional). / 理由（任意）")] = None,
) -> None:
    """Withdraw a grant: published to your repositories. / 許可を取り消してリポジトリに公開します。"""
    from myself_i2i.grants import make_revocation, publish_revocation, read_grant_file
    from myself_i2i.identity import IdentityStore
    from myself_i2i.repository import (
        LocalRepository,
        configured_repositories,
        open_repository,
    )

    store = IdentityStore.default()
    ident = store.load(_passphrase_for(store, None))
    grant_id, rev = make_revocation(read_grant_file(grant), ident, reason=reason)
    repos: list[Any] = [LocalRepository.open_default()]
    repos += [open_repository(spec, create=True) for spec in configured_repositories()]
    try:
        written = publish_revocation(grant_id, rev, repos)
    finally:
        for r in repos:
            if isinstance(r, LocalRepository):
                r.close()
    _say(
        f"revoked grant {grant_id}; published to {', '.join(written)}",
        f"許可証 {grant_id} を取り消し、{', '.join(written)} に公開しました",
    )


@app.command()
@_guard
def studio(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1. / 127.0.0.1 のポート")] = 8765,
    host: Annotated[
        str, typer.Option(help="Only 127.0.0.1 is accepted. / 127.0.0.1 のみ受け付けます")
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the browser. / ブラウザを開く")
    ] = True,
) -> None:
    """A local page to protect, grant and sign without a terminal. / 端末なしで保護・許可・署名ができるローカル画面。"""
    from myself_i2i.studio.app import check_loopback

    check_loopback(host)  # before importing the server: one line, nothing started
    from myself_i2i.cli import _check_bindable
    from myself_i2i.studio import serve_studio

    _check_bindable("127.0.0.1", port)
    _say(
        f"studio on http://127.0.0.1:{port}/ (Ctrl+C to stop)",
        f"スタジオ: http://127.0.0.1:{port}/（Ctrl+C で終了）",
    )
    serve_studio(port, open_browser=open_browser)


grants_app = typer.Typer(
    help="Grants artists gave you (used by sign, the plugins and watch). / 作者から受け取った許可証（sign・プラグイン・watch が使います）。",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(grants_app, name="grants")


@grants_app.command("add")
@_guard
def grants_add(
    files: Annotated[list[Path], typer.Argument(help=".grant files. / 許可証ファイル（.grant）")],
) -> None:
    """Keep grants made out to you, so every signing path uses them. / 自分宛ての許可証を保存し、どの署名経路でも使えるようにします。"""
    from myself_i2i.grants import read_grant_file, store_received_grant
    from myself_i2i.identity import IdentityStore

    store = IdentityStore.default()
    _name, token, _ca, _leaf = store.public()
    for f in files:
        g, path = store_received_grant(read_grant_file(f), token)
        _say(
            f"kept {path.name}: {g.grantor_name} ({g.grantor_token}) lets you use "
            f"{g.artwork.title} for i2i",
            f"{path.name} を保存しました：{g.grantor_name}（{g.grantor_token}）が "
            f"{g.artwork.title} の i2i 利用を許可しています",
        )


@grants_app.command("list")
@_guard
def grants_list() -> None:
    """List the grants you received. / 受け取った許可証の一覧。"""
    from myself_i2i.errors import GrantError
    from myself_i2i.grants import parse_grant, received_grants

    blobs = received_grants()
    if not blobs:
        _say("No grants received yet.", "受け取った許可証はまだありません。")
    for raw in blobs:
        try:
            g = parse_grant(raw)
        except GrantError as e:
            _say(f"  unreadable: {e.text.en}", f"  読めません: {e.text.ja}")
            continue
        until = f" until {g.expires:%Y-%m-%d}" if g.expires else ""
        typer.echo(f"{g.id[:12]}  {g.artwork.title}  {g.grantor_name} {g.grantor_token}{until}")
