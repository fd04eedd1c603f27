"""Every message a verification finding shows, keyed by finding code, in English and Japanese.

:func:`finding` is the only way the checks make a :class:`~myself_i2i.report.Finding`:
the code picks the severity and the words here; the check supplies the parameters. A
parameter may be a :class:`~myself_i2i.i18n.Text`, whose language follows the message's.
Hints never name a shell command: the CLI adds those (the web page shows no commands).
"""

from __future__ import annotations

from typing import Any

from myself_i2i.i18n import Text
from myself_i2i.report import Finding, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

MESSAGES: dict[str, tuple[Severity, str, str]] = {
    # --- reading -----------------------------------------------------------------------------
    "manifest.missing": (
        W,
        "No C2PA manifest: this copy carries no provenance, so nothing about it can be checked.",
        "C2PA マニフェストがありません：来歴がないため、何も確認できません。",
    ),
    "manifest.remote_not_fetched": (
        W,
        "The file names a remote manifest kept at {url}; it was not fetched (a verifier makes "
        "no request chosen by a file), so nothing was checked.",
        "このファイルは {url} にあるリモートのマニフェストを指しています。ファイルが指定する"
        "通信は行わないため取得しておらず、何も確認していません。",
    ),
    "manifest.unreadable": (
        E,
        "A C2PA manifest is present but cannot be read: {detail}",
        "C2PA マニフェストはありますが読めません：{detail}",
    ),
    # --- recovery ----------------------------------------------------------------------------
    "recovery.watermark": (
        I,
        "This copy has no embedded manifest; its manifest was recovered by watermark from "
        "{repository} (fingerprint {distance} bits from the signed one).",
        "このコピーにはマニフェストがなく、{repository} から透かしで復元しました（署名済み指紋との差 "
        "{distance} ビット）。",
    ),
    "recovery.fingerprint": (
        I,
        "This copy has no embedded manifest; its manifest was recovered by fingerprint from "
        "{repository} (fingerprint {distance} bits from the signed one).",
        "このコピーにはマニフェストがなく、{repository} から指紋（知覚ハッシュ）で復元しました"
        "（署名済み指紋との差 {distance} ビット）。",
    ),
    "hash.not_checkable": (
        W,
        "The file's bytes cannot be checked against the signature: this is a re-encoded copy, "
        "only shown to look the same as the signed picture.",
        "このファイルのバイトは署名と照合できません：再エンコードされたコピーで、署名済みの絵と"
        "見た目が同じであることだけが示されます。",
    ),
    "recovery.fingerprint_only": (
        W,
        "Found by fingerprint only (no watermark): near-identical variants of one picture "
        "cannot be told apart this way.",
        "透かしではなく指紋だけで見つかりました：同じ絵のごく近い別版はこの方法では区別できません。",
    ),
    "recovery.rejected": (
        W,
        "A manifest was found ({route}) but rejected: {reason}. No attribution is made.",
        "マニフェストが見つかりましたが（{route}）採用しません：{reason}。帰属は判断しません。",
    ),
    "recovery.not_found": (
        I,
        "No manifest for this picture in {count} repository(ies).",
        "{count} 個のリポジトリにこの絵のマニフェストはありません。",
    ),
    "recovery.format_not_decodable": (
        I,
        "{format} pixels are not decoded here, so no watermark or fingerprint search was made.",
        "{format} 形式の画素はここでは展開しないため、透かし・指紋による検索はしていません。",
    ),
    "recovery.signer_unknown": (
        W,
        "The recovered manifest's key is not in your keyring and no key token was given.",
        "復元したマニフェストの鍵はキーリングになく、キートークンも指定されていません。",
    ),
    # --- integrity of the file and its manifest ----------------------------------------------
    "signature.ok": (
        I,
        "The signature is valid and the file is unchanged since signing.",
        "署名は有効で、ファイルは署名後に変更されていません。",
    ),
    "signature.ok_detached": (
        I,
        "The recovered manifest's signature is valid.",
        "復元したマニフェストの署名は有効です。",
    ),
    "hash.mismatch": (
        E,
        "The pixels or bytes changed after signing (the hard-binding hash does not match: {code}).",
        "署名後に画素またはバイトが変更されています（ハードバインディングのハッシュ不一致：{code}）。",
    ),
    "signature.invalid": (
        E,
        "The claim signature does not verify ({code}): the manifest was forged or damaged.",
        "クレーム署名を検証できません（{code}）：マニフェストが偽造または破損しています。",
    ),
    "manifest.assertion_modified": (
        E,
        "A signed part of the manifest was changed or removed after signing ({code}: {explanation}).",
        "マニフェストの署名済み部分が署名後に変更・削除されています（{code}：{explanation}）。",
    ),
    "credential.invalid": (
        E,
        "The signature is intact, but the signing certificate is not acceptable: {reason} ({code}).",
        "署名自体は壊れていませんが、署名証明書が受け入れられません：{reason}（{code}）。",
    ),
    "timestamp.invalid": (
        E,
        "The signature's time-stamp does not hold ({code}: {explanation}).",
        "署名のタイムスタンプが成り立ちません（{code}：{explanation}）。",
    ),
    "ingredient.invalid": (
        E,
        "This file's own manifest holds, but the manifest of an ingredient it was made from "
        "is invalid ({codes}): its provenance chain is broken.",
        "このファイル自身のマニフェストは成り立ちますが、元になった材料のマニフェストが無効です"
        "（{codes}）：来歴のつながりが壊れています。",
    ),
    "ingredient.recorded_invalid": (
        W,
        "The signer recorded that the manifest of an ingredient ({titles}) was invalid when it "
        "was used ({codes}). This file's own manifest holds.",
        "署名者は、材料（{titles}）のマニフェストが使用時点で無効だったと記録しています（{codes}）。"
        "このファイル自身のマニフェストは成り立ちます。",
    ),
    "verification.incomplete": (
        E,
        "Not everything needed for a verified result could be established ({missing}); "
        "so it is not called verified.",
        "検証済みとするのに必要な確認の一部ができませんでした（{missing}）。そのため検証済みとはしません。",
    ),
    "manifest.no_active": (
        E,
        "c2pa found a manifest store but could not load its active manifest ({code}: {explanation}).",
        "c2pa はマニフェストストアを見つけましたが、有効なマニフェストを読み込めませんでした（{code}：{explanation}）。",
    ),
    "manifest.invalid": (
        E,
        "c2pa judges the manifest invalid: {code} ({explanation}).",
        "c2pa がマニフェストを無効と判定しました：{code}（{explanation}）。",
    ),
    # --- CAWG identity assertions ------------------------------------------------------------
    "identity.assertion": (
        I,
        "The manifest carries a CAWG identity assertion ({kind}) naming {names}.",
        "マニフェストに CAWG の身元アサーション（{kind}）があり、{names} と名乗っています。",
    ),
    "identity.untrusted": (
        W,
        "The CAWG identity assertion's credential is not trusted here ({code}): who it names is not confirmed.",
        "CAWG 身元アサーションの資格情報はここでは信頼されていません（{code}）：名乗っている身元は確認できていません。",
    ),
    "identity.invalid": (
        W,
        "A CAWG identity assertion could not be verified ({code}: {explanation}). This says "
        "nothing about the image's integrity, only that the identity is unconfirmed.",
        "CAWG 身元アサーションを検証できませんでした（{code}：{explanation}）。画像の完全性とは"
        "無関係で、身元が未確認であることだけを意味します。",
    ),
    # --- the signer --------------------------------------------------------------------------
    "signer.identified": (
        I,
        "Signing certificate: {name}, issued by {issuer} ({alg}).",
        "署名証明書：{name}、発行者 {issuer}（{alg}）。",
    ),
    "signer.not_personal_key": (
        I,
        "Signed with a certificate issued by {issuer}, not with a myself_i2i personal key: no key token applies.",
        "{issuer} が発行した証明書で署名されています（myself_i2i の個人鍵ではないため、キートークンはありません）。",
    ),
    "signer.chain_unconfirmed": (
        W,
        "The signing certificate's issuer could not be confirmed, so no key token is shown.",
        "署名証明書の発行者を確認できないため、キートークンを表示できません。",
    ),
    "signer.own.ok": (
        I,
        "Signed with your own key ({token}).",
        "あなた自身の鍵（{token}）で署名されています。",
    ),
    "signer.trusted.ok": (
        I,
        "Signed by {name} ({token}), who is in your keyring.",
        "キーリングに登録済みの {name}（{token}）が署名しました。",
    ),
    "signer.impersonation": (
        E,
        "This key calls itself {name!r}, which looks like {known!r} in your keyring, but "
        "{known!r} has a different key ({expected}). Possible impostor.",
        "この鍵は {name!r} を名乗っており、キーリングの {known!r} に見えますが、{known!r} は別の鍵"
        "（{expected}）です。なりすましの可能性があります。",
    ),
    "signer.token.ok": (
        I,
        "The expected key token {token} ({source}) matches the signer.",
        "想定のキートークン {token}（{source}）は署名者と一致します。",
    ),
    "signer.token_mismatch": (
        E,
        "The expected key token {expected} ({source}) does not match the signer ({actual}).",
        "想定のキートークン {expected}（{source}）が署名者（{actual}）と一致しません。",
    ),
    "post.token_ignored": (
        W,
        "The post names the key token(s) {tokens}, which differ from the expected {expected}: "
        "the expected token (the account's profile) decides, the post's does not.",
        "投稿文にはキートークン {tokens} がありますが、想定の {expected} とは異なります："
        "判断に使うのは想定のトークン（アカウントのプロフィール）で、投稿文のものではありません。",
    ),
    "post.tokens_ambiguous": (
        W,
        "The post names several different key tokens ({tokens}): it confirms none of them.",
        "投稿文に異なるキートークンが複数あります（{tokens}）：どれも確認には使えません。",
    ),
    "softbinding.conflict": (
        E,
        "The picture's invisible watermark points to a manifest in {repository} signed by "
        "another key ({other}), not by this image's signer ({signer}). Someone may have "
        "stripped a signed picture and signed it again as their own.",
        "画像の不可視透かしは {repository} にある別の鍵（{other}）のマニフェストを指しており、"
        "この画像の署名者（{signer}）のものではありません。署名済みの絵からマニフェストを削除し、"
        "自分のものとして署名し直した可能性があります。",
    ),
    "signer.unknown": (
        W,
        "The key is valid but not known to belong to anyone you trust: compare its key token "
        "{token} with the one in the creator's profile, then add it to your keyring.",
        "鍵は有効ですが、信頼する人の鍵か分かりません：キートークン {token} を作者のプロフィールの"
        "ものと見比べ、一致すればキーリングに登録してください。",
    ),
    # --- the pledge --------------------------------------------------------------------------
    "pledge.missing": (
        W,
        "The manifest carries no #Myself_i2i pledge assertion.",
        "マニフェストに #Myself_i2i の宣言アサーションがありません。",
    ),
    "pledge.schema_invalid": (
        E,
        "The pledge assertion does not follow the pledge schema: {error}",
        "宣言アサーションがスキーマに合いません：{error}",
    ),
    "pledge.t2i_has_ingredient": (
        E,
        "The pledge says text only (t2i), but the manifest lists image ingredients: {titles}.",
        "宣言はテキストのみ（t2i）ですが、マニフェストに画像の材料があります：{titles}。",
    ),
    "pledge.t2i.ok": (
        I,
        "Text only (t2i): the manifest lists no image input.",
        "テキストのみ（t2i）：マニフェストに画像入力はありません。",
    ),
    "pledge.source_without_ingredient": (
        E,
        "Declared source {source!r} has no matching inputTo ingredient.",
        "宣言された素材 {source!r} に対応する inputTo の材料がありません。",
    ),
    "pledge.undeclared_input": (
        E,
        "The manifest has image inputs not declared in the pledge: {titles}.",
        "宣言にない画像入力がマニフェストにあります：{titles}。",
    ),
    "pledge.sources.ok": (
        I,
        "i2i from declared sources, each own or permitted: {relations}.",
        "i2i の素材はすべて宣言済みで、自分のものか許可済みです：{relations}。",
    ),
    "pledge.not_declared_ai": (
        W,
        "The manifest does not declare the image as AI-generated (trainedAlgorithmicMedia).",
        "マニフェストが画像を AI 生成（trainedAlgorithmicMedia）と宣言していません。",
    ),
    "metadata.unreadable": (
        W,
        "The embedded generation metadata could not be read: {detail}",
        "埋め込まれた生成メタデータを読めません：{detail}",
    ),
    "pledge.metadata_shows_inputs": (
        E,
        "The image's own {source} metadata contradicts the pledge: {what}.",
        "画像自身の {source} メタデータが宣言と矛盾します：{what}。",
    ),
    "metadata.consistent.ok": (
        I,
        "The image's {source} metadata agrees with the pledge.",
        "画像の {source} メタデータは宣言と一致します。",
    ),
    # --- the post ----------------------------------------------------------------------------
    "post.pledge_missing": (
        E,
        "The post says {tags}, but the signed manifest makes no pledge.",
        "投稿は {tags} と書いていますが、署名済みマニフェストに宣言がありません。",
    ),
    "post.hashtag.ok": (
        I,
        "The post's {tags} matches the signed pledge.",
        "投稿の {tags} は署名済みの宣言と一致します。",
    ),
    "post.no_hashtag": (
        I,
        "The post text has no #Myself_i2i / #Noi2i hashtag.",
        "投稿文に #Myself_i2i / #Noi2i のハッシュタグがありません。",
    ),
    "post.lookalike_hashtag": (
        W,
        "The post's {tags} only looks like a pledge or #t2i hashtag (look-alike characters): it is not counted.",
        "投稿の {tags} は宣言や #t2i のハッシュタグに似せた別の文字列です（紛らわしい文字）：数えません。",
    ),
    "post.kind_mismatch": (
        E,
        "The post says #t2i, but the signed pledge declares image inputs (i2i).",
        "投稿は #t2i ですが、署名済みの宣言は画像入力あり（i2i）です。",
    ),
    "post.says_i2i_on_t2i": (
        W,
        "The post says #i2i, but the signed pledge declares text only (t2i).",
        "投稿は #i2i ですが、署名済みの宣言はテキストのみ（t2i）です。",
    ),
    "post.claim_unverifiable": (
        W,
        "The post claims {tags}, but the image has no signed manifest: the claim cannot be "
        "verified (platforms strip manifests; ask for the original file or a manifest repository).",
        "投稿は {tags} と主張していますが、画像に署名済みマニフェストがないため確認できません"
        "（SNS はマニフェストを削除します。元ファイルかマニフェストリポジトリを求めてください）。",
    ),
    # --- the artists' side: protections and grants -------------------------------------------
    "protection.artwork": (
        I,
        "A protected artwork: {artist} ({token}) signed it as their own work, not for i2i "
        "without their permission (since {created}).",
        "保護された作品です：{artist}（{token}）が自分の作品として署名し、許可なく i2i に"
        "使わないよう求めています（{created} から）。",
    ),
    "grant.verified": (
        I,
        "{source}: permitted by a signed grant from {artist} ({token}), made out to the signer "
        "and valid when signed ({match}).",
        "{source}: {artist}（{token}）の署名付き許可証による許可です。署名者宛てで、署名時点で"
        "有効でした（{match}）。",
    ),
    "grant.invalid": (
        E,
        "{source}: the recorded grant does not permit this use: {reason}.",
        "{source}: 記録された許可証ではこの利用は許可されません：{reason}。",
    ),
    "grant.revoked": (
        E,
        "{source}: {artist} revoked the grant on {revoked}, before this image was signed ({signed}).",
        "{source}: {artist} は {revoked} に許可を取り消しており、この画像の署名（{signed}）より前です。",
    ),
    "grant.revoked_after_signing": (
        W,
        "{source}: {artist} revoked the grant on {revoked}, after this image was signed "
        "({signed}); the image stays valid for what it was, but the permission no longer holds "
        "for new uses.",
        "{source}: {artist} は {revoked} に許可を取り消しました。この画像の署名（{signed}）より後"
        "なので画像自体は有効ですが、今後の利用には許可がありません。",
    ),
    "permission.claimed_unverifiable": (
        W,
        "{source}: permission claimed ({evidence}), not verifiable: it is the signer's own "
        "words, not a grant signed by the artist.",
        "{source}: 許可ありと主張されていますが（{evidence}）確認できません：作者が署名した"
        "許可証ではなく、署名者自身の記述です。",
    ),
    "pledge.protected_source": (
        E,
        "{source} matches {artist}'s protected artwork ({token}, {route}); no valid grant from "
        "them covers it.",
        "{source} は {artist}（{token}）が保護した作品と一致します（{route}）。その作者からの"
        "有効な許可証がありません。",
    ),
}


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, Text):
        return value.get("ja" if lang == "ja" else "en")
    return value


def finding(code: str, details: dict[str, Any] | None = None, /, **params: Any) -> Finding:
    """The finding ``code`` with its severity and words from :data:`MESSAGES`.

    Raises:
        KeyError: ``code`` has no message (a programming error, caught by the tests).
    """
    severity, en, ja = MESSAGES[code]
    text = Text(
        en.format(**{k: _param(v, "en") for k, v in params.items()}),
        ja.format(**{k: _param(v, "ja") for k, v in params.items()}),
    )
    return Finding(code, severity, text, dict(details or {}))
