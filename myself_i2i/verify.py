"""Verification: what a downloaded image proves about the #Myself_i2i pledge.

:func:`verify_image` returns a :class:`~myself_i2i.report.Report`; it fails closed: a
verdict of ``verified`` needs a present, valid, untampered manifest, a schema-valid and
consistent pledge, and a signer who is either in the keyring or named by the post's key
token. Anything not checked is never reported as verified.

Steps (numbered in the code):

1. read the file and find the embedded manifest (or recover it through soft binding);
2. validate signature and hard binding with c2pa; classify failures;
3. identify the signer: certificate chain confirmed by c2pa, key token, keyring;
4. check the pledge assertion against its schema, the ingredients and the image's metadata;
5. compare with the post text and the expected key token;
6. optional evidence against the illustrator's originals;
7. decide the verdict.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import certificates_in, manifest_store_bytes
from myself_i2i.errors import ManifestError, MyselfI2IError
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity, normalize_token, token_for_cert
from myself_i2i.images import SUPPORTED_FORMATS, check_path, open_image
from myself_i2i.keyring import Keyring
from myself_i2i.models import PledgeKind
from myself_i2i.pledge import PLEDGE_LABELS, Pledge, schema_errors
from myself_i2i.posttext import PostClaims, read_post
from myself_i2i.report import Finding, Report, Severity, SignerInfo, Verdict

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

#: c2pa failure codes that mean "changed after signing".
_HASH_CODES = (
    "assertion.dataHash.mismatch",
    "assertion.boxesHash.mismatch",
    "assertion.bmffHash.mismatch",
)


@dataclass
class VerifyOptions:
    """What to verify against. Build with keywords; every field has a safe default."""

    post_text: str | None = None
    key_token: str | None = None
    keyring: Keyring | None = None  #: default: the user's keyring
    against: Sequence[Path] = ()  #: the illustrator's originals to compare with
    repositories: Sequence[Any] = ()  #: manifest repositories for recovery (issue: soft binding)
    use_default_repositories: bool = True
    include_thumbnails: bool = False
    check_metadata: bool = True


@dataclass
class _Signed:
    """Step 1 output: what we read."""

    data: bytes
    mime: str
    store: bytes | None
    read: c2pa_backend.ManifestRead | None
    detached: bool = False  #: the manifest came from a repository, not from the file


def _ca_candidates(store: bytes) -> list[x509.Certificate]:
    out = []
    for cert in certificates_in(store):
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            continue
        if bc.ca:
            out.append(cert)
    return out


def confirmed_signer_ca(
    data: bytes, mime: str, store: bytes, *, detached: bool = False
) -> x509.Certificate | None:
    """The CA certificate that c2pa confirms issued the active manifest's signing certificate."""
    for ca in _ca_candidates(store):
        pem = ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
        try:
            r = c2pa_backend.read_manifest(
                data, mime, anchors_pem=pem, manifest_store=store if detached else None
            )
        except ManifestError:
            return None
        if r is not None and "signingCredential.trusted" in r.codes("success"):
            return ca
    return None


def own_t2i_generation(path: Path, identity: Identity) -> bool:
    """True when ``path`` carries a valid, untampered t2i pledge signed by ``identity``."""
    try:
        data = path.read_bytes()
        store = manifest_store_bytes(data)
        if store is None:
            return False
        with open_image(data, name=str(path), load=False) as img:
            mime = SUPPORTED_FORMATS[str(img.format)]
        read = c2pa_backend.read_manifest(data, mime, name=str(path))
    except (OSError, MyselfI2IError):
        return False
    if read is None or read.failure or read.active is None:
        return False
    pledge = _pledge_data(read.active)
    if pledge is None or schema_errors(pledge) or pledge.get("kind") != PledgeKind.T2I.value:
        return False
    ca = confirmed_signer_ca(data, mime, store)
    return ca is not None and token_for_cert(ca) == identity.token


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action of the manifest's ``c2pa.actions`` assertions, in order."""
    return [
        a
        for x in manifest.get("assertions", [])
        if isinstance(x, dict) and str(x.get("label", "")).startswith("c2pa.actions")
        for a in (x.get("data") or {}).get("actions", [])
        if isinstance(a, dict)
    ]


def _pledge_data(manifest: dict[str, Any]) -> dict[str, Any] | None:
    for a in manifest.get("assertions", []):
        if isinstance(a, dict) and a.get("label") in PLEDGE_LABELS:
            data = a.get("data")
            return data if isinstance(data, dict) else {"_invalid": data}
    return None


def _classify_failures(
    read: c2pa_backend.ManifestRead, findings: list[Finding], *, detached: bool
) -> bool:
    """Step 2: add findings for c2pa failure codes; True when the image counts as tampered."""
    tampered = False
    for f in read.failure:
        code = str(f.get("code", ""))
        expl = str(f.get("explanation", ""))[:200]
        if code == "signingCredential.untrusted":
            continue
        if code in _HASH_CODES:
            if detached:
                continue  # a re-encoded copy cannot match the hard binding; reported by recovery
            findings.append(
                Finding(
                    "hash.mismatch",
                    E,
                    Text(
                        "The pixels or bytes changed after signing (the hard-binding hash does not match).",
                        "署名後に画素またはバイトが変更されています（ハードバインディングのハッシュ不一致）。",
                    ),
                    {"c2pa": code},
                )
            )
        elif code.startswith("claimSignature"):
            findings.append(
                Finding(
                    "signature.invalid",
                    E,
                    Text(
                        f"The claim signature is not valid ({code}).",
                        f"クレーム署名が無効です（{code}）。",
                    ),
                    {"c2pa": code},
                )
            )
        elif code == "assertion.hashedURI.mismatch" or code.startswith("assertion."):
            findings.append(
                Finding(
                    "manifest.assertion_modified",
                    E,
                    Text(
                        f"A signed part of the manifest was changed after signing ({expl}).",
                        f"マニフェストの署名済み部分が署名後に変更されています（{expl}）。",
                    ),
                    {"c2pa": code},
                )
            )
        else:
            findings.append(
                Finding(
                    "manifest.invalid",
                    E,
                    Text(
                        f"c2pa reports the manifest invalid: {code} ({expl}).",
                        f"c2pa がマニフェストを無効と判定：{code}（{expl}）。",
                    ),
                    {"c2pa": code},
                )
            )
        tampered = True
    return tampered


def _check_pledge(
    manifest: dict[str, Any], findings: list[Finding], data: bytes, name: str, check_metadata: bool
) -> tuple[dict[str, Any] | None, bool, bool]:
    """Step 4. Returns (pledge data, pledge present, violated)."""
    raw = _pledge_data(manifest)
    if raw is None:
        findings.append(
            Finding(
                "pledge.missing",
                W,
                Text(
                    "The manifest carries no #Myself_i2i pledge assertion.",
                    "マニフェストに #Myself_i2i の宣言アサーションがありません。",
                ),
            )
        )
        return None, False, False
    errors = schema_errors(raw)
    if errors:
        findings.append(
            Finding(
                "pledge.schema_invalid",
                E,
                Text(
                    f"The pledge assertion does not follow the pledge schema: {errors[0]}",
                    f"宣言アサーションがスキーマに合いません：{errors[0]}",
                ),
                {"errors": errors[:10]},
            )
        )
        return None, True, True
    pledge = Pledge.from_assertion(raw)
    violated = False
    ingredients = [i for i in manifest.get("ingredients", []) if isinstance(i, dict)]
    inputs = [i for i in ingredients if i.get("relationship") == "inputTo"]
    if pledge.kind is PledgeKind.T2I:
        if ingredients:
            violated = True
            titles = ", ".join(str(i.get("title", "?")) for i in ingredients)
            findings.append(
                Finding(
                    "pledge.t2i_has_ingredient",
                    E,
                    Text(
                        f"The pledge says text only (t2i), but the manifest lists image ingredients: {titles}.",
                        f"宣言はテキストのみ（t2i）ですが、マニフェストに画像の材料があります：{titles}。",
                    ),
                    {"ingredients": titles},
                )
            )
        else:
            findings.append(
                Finding(
                    "pledge.t2i.ok",
                    I,
                    Text(
                        "Text only (t2i): the manifest lists no image input.",
                        "テキストのみ（t2i）：マニフェストに画像入力はありません。",
                    ),
                )
            )
    else:
        keyed = {str(i.get("label") or i.get("instance_id") or ""): i for i in inputs}
        by_id = {str(i.get("instance_id") or ""): i for i in inputs}
        used: set[int] = set()
        for src in pledge.sources:
            ing = by_id.get(src.ingredient_label or "") or keyed.get(src.ingredient_label or "")
            if ing is None:
                ing = next(
                    (i for i in inputs if i.get("title") == src.title and id(i) not in used), None
                )
            if ing is None:
                violated = True
                findings.append(
                    Finding(
                        "pledge.source_without_ingredient",
                        E,
                        Text(
                            f"Declared source {src.title!r} has no matching inputTo ingredient.",
                            f"宣言された素材 {src.title!r} に対応する inputTo の材料がありません。",
                        ),
                        {"source": src.title},
                    )
                )
            else:
                used.add(id(ing))
        extra = [i for i in inputs if id(i) not in used]
        if extra:
            violated = True
            titles = ", ".join(str(i.get("title", "?")) for i in extra)
            findings.append(
                Finding(
                    "pledge.undeclared_input",
                    E,
                    Text(
                        f"The manifest has image inputs not declared in the pledge: {titles}.",
                        f"宣言にない画像入力がマニフェストにあります：{titles}。",
                    ),
                    {"ingredients": titles},
                )
            )
        if not violated:
            rels = ", ".join(f"{s.title} ({s.relation.value})" for s in pledge.sources)
            findings.append(
                Finding(
                    "pledge.sources.ok",
                    I,
                    Text(
                        f"i2i from declared sources, each own or permitted: {rels}.",
                        f"i2i の素材はすべて宣言済みで、自分のものか許可済みです：{rels}。",
                    ),
                )
            )
    created = [a for a in _actions(manifest) if a.get("action") == "c2pa.created"]
    if not any(
        a.get("digitalSourceType") == c2pa_backend.TRAINED_ALGORITHMIC_MEDIA for a in created
    ):
        findings.append(
            Finding(
                "pledge.not_declared_ai",
                W,
                Text(
                    "The manifest does not declare the image as AI-generated (trainedAlgorithmicMedia).",
                    "マニフェストが画像を AI 生成（trainedAlgorithmicMedia）と宣言していません。",
                ),
            )
        )
    if check_metadata:
        violated |= _check_metadata(pledge, findings, data, name)
    return raw, True, violated


def _check_metadata(pledge: Pledge, findings: list[Finding], data: bytes, name: str) -> bool:
    from myself_i2i.genmeta import GenKind, read_generation_metadata

    try:
        with open_image(data, name=name, load=False) as img:
            meta = read_generation_metadata(img)
    except MyselfI2IError as e:
        findings.append(
            Finding(
                "metadata.unreadable",
                W,
                Text(
                    f"The embedded generation metadata could not be read: {e.text.en}",
                    f"埋め込まれた生成メタデータを読めません：{e.text.ja}",
                ),
            )
        )
        return False
    if meta is None:
        return False
    n_inputs = len(meta.image_inputs)
    if pledge.kind is PledgeKind.T2I and meta.kind is GenKind.I2I:
        findings.append(
            Finding(
                "pledge.metadata_shows_inputs",
                E,
                Text(
                    f"The pledge says t2i, but the image's own {meta.source} metadata shows image "
                    f"inputs ({n_inputs}).",
                    f"宣言は t2i ですが、画像自身の {meta.source} メタデータに画像入力（{n_inputs} 件）があります。",
                ),
                {"source": meta.source, "inputs": [x.name for x in meta.image_inputs]},
            )
        )
        return True
    if pledge.kind is PledgeKind.SELF_SOURCED_I2I and n_inputs > len(pledge.sources):
        findings.append(
            Finding(
                "pledge.metadata_shows_inputs",
                E,
                Text(
                    f"The image's {meta.source} metadata shows {n_inputs} image inputs, but the pledge "
                    f"declares {len(pledge.sources)}.",
                    f"画像の {meta.source} メタデータには画像入力が {n_inputs} 件ありますが、"
                    f"宣言は {len(pledge.sources)} 件です。",
                ),
                {"source": meta.source},
            )
        )
        return True
    findings.append(
        Finding(
            "metadata.consistent.ok",
            I,
            Text(
                f"The image's {meta.source} metadata agrees with the pledge.",
                f"画像の {meta.source} メタデータは宣言と一致します。",
            ),
        )
    )
    return False


def _check_post(
    post: PostClaims | None, pledge: dict[str, Any] | None, present: bool, findings: list[Finding]
) -> bool:
    """Step 5a: hashtags. True when the post contradicts the manifest."""
    if post is None:
        return False
    contradicts = False
    if post.pledge_hashtags:
        if not present:
            findings.append(
                Finding(
                    "post.pledge_missing",
                    E,
                    Text(
                        f"The post says {' '.join(post.pledge_hashtags)}, but the signed manifest makes no pledge.",
                        f"投稿は {' '.join(post.pledge_hashtags)} と書いていますが、署名済みマニフェストに宣言がありません。",
                    ),
                )
            )
            contradicts = True
        else:
            findings.append(
                Finding(
                    "post.hashtag.ok",
                    I,
                    Text(
                        f"The post's {' '.join(post.pledge_hashtags)} matches the signed pledge.",
                        f"投稿の {' '.join(post.pledge_hashtags)} は署名済みの宣言と一致します。",
                    ),
                )
            )
    else:
        findings.append(
            Finding(
                "post.no_hashtag",
                I,
                Text(
                    "The post text has no #Myself_i2i / #Noi2i hashtag.",
                    "投稿文に #Myself_i2i / #Noi2i のハッシュタグがありません。",
                ),
            )
        )
    if pledge is not None:
        kind = pledge.get("kind")
        if post.says_t2i and kind != PledgeKind.T2I.value:
            findings.append(
                Finding(
                    "post.kind_mismatch",
                    E,
                    Text(
                        "The post says #t2i, but the signed pledge declares image inputs (i2i).",
                        "投稿は #t2i ですが、署名済みの宣言は画像入力あり（i2i）です。",
                    ),
                )
            )
            contradicts = True
        if post.says_i2i and kind == PledgeKind.T2I.value:
            findings.append(
                Finding(
                    "post.kind_mismatch",
                    W,
                    Text(
                        "The post says #i2i, but the signed pledge declares text only (t2i).",
                        "投稿は #i2i ですが、署名済みの宣言はテキストのみ（t2i）です。",
                    ),
                )
            )
    return contradicts


def _thumbnails(sig: _Signed) -> dict[str, str]:
    """Claim and ingredient thumbnails as data: URLs, keyed "claim" / ingredient id."""
    m = sig.read.active if sig.read else None
    if m is None:
        return {}
    items: list[tuple[str, dict[str, Any]]] = [("claim", m)]
    for i, ing in enumerate(m.get("ingredients", [])):
        items.append((str(ing.get("instance_id") or ing.get("label") or f"ingredient{i}"), ing))
    wanted = {
        key: t
        for key, obj in items
        if isinstance(t := obj.get("thumbnail"), dict) and "identifier" in t
    }
    try:
        blobs = c2pa_backend.resources(
            sig.data,
            sig.mime,
            [str(t["identifier"]) for t in wanted.values()],
            manifest_store=sig.store if sig.detached else None,
        )
    except ManifestError:
        return {}
    out: dict[str, str] = {}
    for key, t in wanted.items():
        blob = blobs.get(str(t["identifier"]))
        if blob is not None:
            fmt = str(t.get("format") or "image/jpeg")
            out[key] = f"data:{fmt};base64,{base64.b64encode(blob).decode()}"
    return out


def verify_bytes(data: bytes, name: str, options: VerifyOptions | None = None) -> Report:
    """Verify an image given as bytes (the web app's entry point). See :func:`verify_image`."""
    opts = options or VerifyOptions()
    findings: list[Finding] = []
    # 1. Read the file and its manifest.
    # The header is enough here: c2pa's hard binding covers every byte, and recovery
    # decodes the pixels itself (so a corrupt unsigned file is still reported).
    with open_image(data, name=name, load=False) as img:
        mime = SUPPORTED_FORMATS[str(img.format)]
    post = read_post(opts.post_text) if opts.post_text is not None else None
    keyring = opts.keyring if opts.keyring is not None else Keyring.default()
    store = manifest_store_bytes(data)
    pixels: Image.Image | None = None
    if store is None:
        # Nothing binds these bytes: decode them all so a corrupt file is an error (the
        # decoded picture then serves recovery).
        pixels = open_image(data, name=name)
    detached = False
    recovery: dict[str, Any] | None = None
    try:
        read = c2pa_backend.read_manifest(data, mime, name=name)
    except ManifestError as e:
        findings.append(
            Finding(
                "manifest.unreadable",
                E,
                Text(
                    f"A C2PA manifest is present but cannot be read: {e.text.en}",
                    f"C2PA マニフェストはありますが読めません：{e.text.ja}",
                ),
            )
        )
        report = Report(image=name, verdict=Verdict.TAMPERED, findings=findings)
        _evidence(report, data, name, opts, None)
        return report
    if read is not None and pixels is not None:
        pixels.close()
    if read is None:
        from myself_i2i.recovery import recover

        try:
            rec = recover(data, mime, name, opts, pixels)
        finally:
            if pixels is not None:
                pixels.close()
        if rec is not None:
            findings.extend(rec.findings)
            recovery = rec.info
            if rec.store is not None and rec.read is not None:
                store, read, detached = rec.store, rec.read, True
    if read is None or store is None:
        findings.append(
            Finding(
                "manifest.missing",
                W,
                Text(
                    "No C2PA manifest: this copy carries no provenance, so nothing about it can be checked.",
                    "C2PA マニフェストがありません：来歴がないため、何も確認できません。",
                ),
            )
        )
        if post is not None and post.pledge_hashtags:
            findings.append(
                Finding(
                    "post.claim_unverifiable",
                    W,
                    Text(
                        f"The post claims {' '.join(post.pledge_hashtags)}, but the image has no signed "
                        "manifest: the claim cannot be verified (platforms strip manifests; ask for the "
                        "original file or a manifest repository).",
                        f"投稿は {' '.join(post.pledge_hashtags)} と主張していますが、画像に署名済み"
                        "マニフェストがないため確認できません（SNS はマニフェストを削除します。元ファイルか"
                        "マニフェストリポジトリを求めてください）。",
                    ),
                )
            )
        report = Report(
            image=name,
            verdict=Verdict.UNSIGNED,
            findings=findings,
            post=post.to_dict() if post else None,
            recovery=recovery,
        )
        _evidence(report, data, name, opts, None)
        return report
    sig = _Signed(data=data, mime=mime, store=store, read=read, detached=detached)
    manifest = read.active or {}
    # 2. Signature and hard binding.
    tampered = _classify_failures(read, findings, detached=detached)
    if not tampered:
        findings.append(
            Finding(
                "signature.ok",
                I,
                Text(
                    "The signature is valid."
                    + ("" if detached else " The image is unchanged since signing."),
                    "署名は有効です。" + ("" if detached else "画像は署名後に変更されていません。"),
                ),
            )
        )
    # 3. The signer.
    sinfo = manifest.get("signature_info") or {}
    signer = SignerInfo(name=sinfo.get("common_name"), issuer=sinfo.get("issuer"))
    ca = confirmed_signer_ca(data, mime, store, detached=detached) if not tampered else None
    if ca is not None:
        signer.token = token_for_cert(ca)
        known = keyring.get(signer.token)
        if known is not None:
            signer.trusted, signer.trusted_name = True, known.name
            findings.append(
                Finding(
                    "signer.trusted.ok",
                    I,
                    Text(
                        f"Signed by {known.name} ({signer.token}), who is in your keyring.",
                        f"キーリングに登録済みの {known.name}（{signer.token}）が署名しました。",
                    ),
                )
            )
    elif not tampered:
        findings.append(
            Finding(
                "signer.chain_unconfirmed",
                W,
                Text(
                    "The signing certificate's issuer could not be confirmed, so no key token is shown.",
                    "署名証明書の発行者を確認できないため、キートークンを表示できません。",
                ),
            )
        )
    wrong_signer = False
    if signer.name and not signer.trusted and signer.token is not None:
        same_name = [t for t in keyring.by_name(signer.name) if t.token != signer.token]
        if same_name:
            wrong_signer = True
            findings.append(
                Finding(
                    "signer.impersonation",
                    E,
                    Text(
                        f"This key calls itself {signer.name!r}, but your keyring has {signer.name!r} "
                        f"with a different key ({same_name[0].token}). Possible impostor.",
                        f"この鍵は {signer.name!r} を名乗っていますが、キーリングの {signer.name!r} は別の鍵"
                        f"（{same_name[0].token}）です。なりすましの可能性があります。",
                    ),
                    {"expected": same_name[0].token, "actual": signer.token},
                )
            )
    if not tampered and not detached:  # 3b. watermark leads to another key's manifest
        from myself_i2i.recovery import check_conflict

        conflict = check_conflict(data, mime, name, opts, manifest, signer.token)
        findings.extend(conflict)
        wrong_signer |= bool(conflict)
    expected: list[str] = []
    if opts.key_token:
        tok = normalize_token(opts.key_token)
        if tok is None:
            from myself_i2i.errors import ConfigError

            raise ConfigError(
                f"{opts.key_token!r} is not a key token (mi2i:XXXX-XXXX-XXXX-XXXX-XXXX).",
                f"{opts.key_token!r} はキートークン（mi2i:XXXX-XXXX-XXXX-XXXX-XXXX）ではありません。",
            )
        expected.append(tok)
    if post is not None:
        expected.extend(t for t in post.tokens if t not in expected)
    if expected and not tampered:
        if signer.token is not None and signer.token in expected:
            signer.token_matches_post = True
            findings.append(
                Finding(
                    "signer.token.ok",
                    I,
                    Text(
                        f"The key token {signer.token} named in the post / given matches the signer.",
                        f"投稿・指定のキートークン {signer.token} は署名者と一致します。",
                    ),
                )
            )
        else:
            signer.token_matches_post = False
            wrong_signer = True
            findings.append(
                Finding(
                    "signer.token_mismatch",
                    E,
                    Text(
                        f"The expected key token {expected[0]} does not match the signer "
                        f"({signer.token or 'unconfirmed'}).",
                        f"想定のキートークン {expected[0]} が署名者（{signer.token or '未確認'}）と一致しません。",
                    ),
                    {"expected": expected, "actual": signer.token},
                )
            )
    # 4. The pledge.
    pledge, present, violated = _check_pledge(
        manifest, findings, data, name, opts.check_metadata and not detached
    )
    # 5. The post.
    contradicts = _check_post(post, pledge, present, findings)
    # 7. The verdict, worst first.
    known_signer = signer.trusted or bool(signer.token_matches_post)
    if tampered:
        verdict = Verdict.TAMPERED
    elif violated:
        verdict = Verdict.PLEDGE_VIOLATED
    elif wrong_signer:
        verdict = Verdict.WRONG_SIGNER
    elif contradicts:
        verdict = Verdict.CONTRADICTS_POST
    elif not present:
        verdict = Verdict.NO_PLEDGE
    elif detached:
        verdict = Verdict.RECOVERED
    elif not known_signer:
        verdict = Verdict.UNTRUSTED
        findings.append(
            Finding(
                "signer.unknown",
                W,
                Text(
                    "The key is valid but not known: add the creator with `myself-i2i trust add TOKEN`, "
                    "or check the key token in the creator's profile.",
                    "鍵は有効ですが未知です：`myself-i2i trust add トークン` で作者を登録するか、"
                    "作者のプロフィールのキートークンを確認してください。",
                ),
            )
        )
    else:
        verdict = Verdict.VERIFIED
    if detached and verdict is Verdict.RECOVERED and not known_signer:
        findings.append(
            Finding(
                "signer.unknown",
                W,
                Text(
                    "The recovered manifest's key is not in your keyring and no key token was given.",
                    "復元したマニフェストの鍵はキーリングになく、キートークンも指定されていません。",
                ),
            )
        )
    actions = _actions(manifest)
    ingredients = [
        {
            k: v
            for k, v in i.items()
            if k in ("title", "format", "relationship", "instance_id", "label")
        }
        for i in manifest.get("ingredients", [])
        if isinstance(i, dict)
    ]
    report = Report(
        image=name,
        verdict=verdict,
        findings=findings,
        signer=signer,
        pledge=pledge,
        ingredients=ingredients,
        actions=actions,
        validation_state=read.state,
        validation_codes={
            "failure": read.codes("failure"),
            "success": sorted(set(read.codes("success"))),
        },
        post=post.to_dict() if post else None,
        recovery=recovery,
    )
    if opts.include_thumbnails:
        report.thumbnails = _thumbnails(sig)
    # 6. Evidence against originals.
    _evidence(report, data, name, opts, pledge)
    return report


def _evidence(
    report: Report, data: bytes, name: str, opts: VerifyOptions, pledge: dict[str, Any] | None
) -> None:
    if not opts.against:
        return
    from myself_i2i.evidence_check import compare_with_original

    for original in opts.against:
        report.evidence.append(compare_with_original(data, name, Path(original), pledge))


def verify_image(path: Path, options: VerifyOptions | None = None) -> Report:
    """Verify the image at ``path``.

    Raises:
        InputError, ImageError: the file is missing, not an image, corrupt or too large.
        ConfigError: a malformed ``key_token``.
    """
    check_path(path)
    return verify_bytes(path.read_bytes(), str(path), options)
