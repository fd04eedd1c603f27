"""A readable dump of an image's manifest: signer, token, pledge, sources, generator, actions."""

from __future__ import annotations

import json
from pathlib import Path

from myself_i2i.i18n import Lang, term
from myself_i2i.verify import VerifyOptions, verify_image


def inspect_lines(image: Path, lang: Lang = "en") -> list[str]:
    """Lines describing the manifest of ``image`` (no post text, keyring as configured).

    Raises:
        InputError, ImageError: the file cannot be read as an image.
    """
    rep = verify_image(image, VerifyOptions(check_metadata=True))
    en = lang == "en"
    out = [
        f"{image}",
        # the summary starts with the verdict's name: no "verified — Verified: …"
        f"  {'verdict' if en else '判定'}: {rep.summary.get(lang)}",
    ]
    if rep.format:
        from myself_i2i.formats import format_name

        out.append(f"  {'format' if en else '形式'}: {format_name(rep.format)}")
    if rep.validation_state is None:
        out.append("  " + ("no C2PA manifest" if en else "C2PA マニフェストなし"))
        out.extend(f"  ! {f.text.get(lang)}" for f in rep.findings if f.severity.value != "info")
        return out
    out.append(f"  c2pa: {rep.validation_state}")
    if rep.signer:
        s = rep.signer
        out.append(
            f"  {'signer' if en else '署名者'}: {s.name} / {'issuer' if en else '発行者'}: {s.issuer}"
            + (f" ({s.alg or '?'})" if en else f"（{s.alg or '?'}）")
        )
        if s.signed_at:
            src = {"timestamp": ("time-stamped", "タイムスタンプ"), "claimed": ("claimed", "申告")}
            how = src.get(s.signed_at_source or "", ("", ""))[0 if en else 1]
            out.append(
                f"  signed: {s.signed_at} ({how})" if en else f"  署名日時: {s.signed_at}（{how}）"
            )
        out.append(
            f"  {'key token' if en else 'キートークン'}: {s.token or '-'}"
            f"{(' (' + s.trusted_name + ')' if en else '（' + s.trusted_name + '）') if s.trusted_name else ''}"
        )
    if rep.pledge:
        p = rep.pledge
        out.append(
            f"  {'pledge' if en else '宣言'}: {p.get('kind') if en else term(p.get('kind'), lang)}"
            f" {' '.join(p.get('hashtags', []))}"
            + (f" ({p.get('created')})" if en else f"（{p.get('created')}）")
        )
        out.append(f"    {p.get('statement', {}).get(lang, '')}")
        for s in p.get("sources", []):
            ev = s.get("evidence") or {}
            out.append(
                f"    - {s['title']}: {s['relation'] if en else term(s['relation'], lang)}"
                f" {s['width']}x{s['height']} sha256 {s['sha256'][:16]}…"
                f" {'pixels' if en else '画素'} {s['pixelSha256'][:16]}… pHash {s['phash']}"
            )
            if ev:
                label = "evidence" if en else "許可の根拠"
                out.append(f"      {label}: {ev.get('text', '')} {ev.get('url', '')}".rstrip())
        if p.get("generator"):
            out.append(
                f"  {'generator' if en else '生成'}: {json.dumps(p['generator'], ensure_ascii=False)}"
            )
    for a in rep.actions:
        dst = a.get("digitalSourceType", "")
        out.append(
            f"  {'action' if en else '操作'}: {a.get('action')} "
            f"{dst.rsplit('/', 1)[-1] if dst else ''}".rstrip()
        )
    for i in rep.ingredients:
        out.append(
            f"  ingredient: {i.get('title')} ({i.get('relationship')})"
            if en
            else f"  素材（ingredient）: {i.get('title')}（{i.get('relationship')}）"
        )
    for ident in rep.identities:
        out.append(
            f"  {'identity' if en else '身元'}"
            f"{' (' + ident['kind'] + ')' if en else '（' + ident['kind'] + '）'}: "
            f"{', '.join(ident['names']) or '?'}"
            f"{' / ' + ident['issuer'] if ident.get('issuer') else ''}"
        )
    for depth, parent in enumerate(rep.parents, 1):
        who = parent.get("signer") or "?"
        out.append(
            f"  {'parent' if en else '親マニフェスト'} {depth}: {parent.get('title') or '?'}"
            f" — {'signed by' if en else '署名'} {who}"
            f"{' / ' + parent['issuer'] if parent.get('issuer') else ''}"
            f"{' / ' + parent['claimGenerator'] if parent.get('claimGenerator') else ''}"
        )
        for a in parent.get("actions", []):
            dst = a.get("digitalSourceType", "")
            out.append(
                f"    {'action' if en else '操作'}: {a.get('action')} "
                f"{dst.rsplit('/', 1)[-1] if dst else ''}".rstrip()
            )
    codes = rep.validation_codes
    if rep.recovery and rep.recovery.get("route"):
        # A recovered manifest never matches a re-encoded copy's bytes: say so instead of
        # showing the expected dataHash mismatch as if it were damage.
        route = rep.recovery["route"]
        out.append(
            f"  recovered by {route} from {rep.recovery.get('repository')}; the hard-binding "
            "mismatch below is expected for a copy that is not the signed file"
            if en
            else f"  {rep.recovery.get('repository')} から {route} で復元。下のハードバインディング"
            "不一致は、署名したファイルそのものではないコピーでは当然の結果です"
        )
    if codes.get("failure"):
        out.append(f"  {'failures' if en else '失敗コード'}: {', '.join(codes['failure'])}")
    out.append(f"  {'validation' if en else '検証コード'}: {', '.join(codes.get('success', []))}")
    return out
