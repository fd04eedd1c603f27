"""protect: the artist's manifest, its refusals, and protected sources refused where i2i happens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i.errors import AlreadySigned, ConfigError, PledgeRefused
from myself_i2i.grants import make_grant
from myself_i2i.identity import Identity
from myself_i2i.models import Evidence, Relation, SourceSpec
from myself_i2i.pledge import schema_errors
from myself_i2i.protect import (
    DIGITAL_CAPTURE,
    DIGITAL_CREATION,
    PROTECTION_LABELS,
    ProtectOptions,
    Use,
    artwork_of,
    find_protection,
    protect_artwork,
)
from myself_i2i.repository import LocalRepository
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.signals import find_signals
from myself_i2i.testing import illustration, save
from tests.core_helpers import new_identity, picture, sign_t2i
from tests.genmeta.genmeta_files import png_with_text

NO_REPO = ProtectOptions(keep_in_repository=False, publish=False)
FAST = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)


def _x_copy(src: Path, out: Path, long_side: int = 2048) -> Path:
    """What X serves: metadata stripped, long side 2048, JPEG q85."""
    with Image.open(src) as im:
        rgb = im.convert("RGB")
        scale = long_side / max(rgb.size)
        rgb = rgb.resize(
            (round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS
        )
        rgb.save(out, "JPEG", quality=85)
    return out


def _manifest(path: Path) -> c2pa_backend.ManifestView:
    data = path.read_bytes()
    mime = "image/png" if path.suffix == ".png" else "image/jpeg"
    read = c2pa_backend.read_manifest(data, mime)
    assert read is not None and read.active is not None
    return read.active


def _published(tmp_path: Path, artist: Identity, seed: int = 1, **kw: object) -> tuple[Path, Path]:
    """(protected file, repository holding its manifest)."""
    drawing = save(illustration(900, 700, seed=seed), tmp_path / f"drawing{seed}.png")
    res = protect_artwork(drawing, artist, options=ProtectOptions(publish=False, **kw))  # type: ignore[arg-type]
    return res.output, LocalRepository.default_path()


def test_protect_writes_the_statement(tmp_path: Path) -> None:
    artist = new_identity("@hanako")
    drawing = picture(tmp_path / "drawing.png", size=400)
    before = drawing.read_bytes()
    res = protect_artwork(drawing, artist, options=NO_REPO)
    assert res.output == tmp_path / "drawing.protected.png"
    assert drawing.read_bytes() == before  # original untouched
    m = _manifest(res.output)
    created = [a for a in m.actions if a.action == "c2pa.created"]
    assert created and created[0].digital_source_type == DIGITAL_CREATION
    prot = m.assertion(*PROTECTION_LABELS)
    assert prot is not None and schema_errors(prot.data, "protection.schema.json") == []
    assert prot.data["artist"]["name"] == "@hanako"
    from myself_i2i.images import hash_image

    assert prot.data["pixelSha256"] == hash_image(res.output).pixel_sha256
    tm = m.assertion("cawg.training-mining")
    assert tm is not None
    entries = tm.data["entries"]
    assert entries["cawg.ai_inference"]["use"] == "notAllowed"
    assert entries["cawg.ai_training"]["use"] == "notAllowed"
    assert set(m.soft_bindings()) == {
        "org.myself-i2i.watermark.dwtdctsvd.1",
        "org.myself-i2i.fingerprint.phash64.1",
    }
    # The XMP survives in the file for tools that never read C2PA.
    xmp = [s for s in find_signals(res.output) if s.kind == "xmp.plus:DataMining"]
    assert xmp and xmp[0].blocking
    assert "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING" in xmp[0].value


def test_options_and_photo(tmp_path: Path) -> None:
    artist = new_identity()
    src = picture(tmp_path / "p.jpg", size=300)
    opts = ProtectOptions(
        ai_training=Use.ALLOWED,
        ai_generative_training=Use.ALLOWED,
        data_mining=Use.ALLOWED,
        photo=True,
        keep_in_repository=False,
        publish=False,
    )
    out = protect_artwork(src, artist, output=tmp_path / "out.jpg", options=opts).output
    m = _manifest(out)
    assert next(a.digital_source_type for a in m.actions) == DIGITAL_CAPTURE
    tm = m.assertion("cawg.training-mining")
    assert tm is not None and tm.data["entries"]["cawg.ai_inference"]["use"] == "notAllowed"
    assert tm.data["entries"]["cawg.data_mining"]["use"] == "allowed"
    xmp = [s for s in find_signals(out) if s.kind == "xmp.plus:DataMining"]
    assert xmp and "DMI-PROHIBITED-SEECONSTRAINT" in xmp[0].value
    assert Use.parse("not-allowed") is Use.NOT_ALLOWED
    with pytest.raises(ConfigError):
        Use.parse("maybe")


def test_existing_xmp_is_kept(tmp_path: Path) -> None:
    artist = new_identity()
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg" '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Clip Studio"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    src = tmp_path / "a.jpg"
    illustration(300, 300, seed=4).convert("RGB").save(src, "JPEG", quality=90, xmp=xmp)
    out = protect_artwork(src, artist, options=NO_REPO).output
    with Image.open(out) as im:
        packet = im.info.get("xmp")
    assert isinstance(packet, bytes) and b"Clip Studio" in packet and b"DataMining" in packet


def test_refuses_someone_elses_manifest(tmp_path: Path) -> None:
    bob = new_identity("@bob", tmp_path / "bob")
    alice = new_identity("@alice", tmp_path / "alice")
    signed = sign_t2i(picture(tmp_path / "ai.png"), bob).output
    before = set(tmp_path.iterdir())
    with pytest.raises(AlreadySigned, match="@bob"):
        protect_artwork(signed, alice, options=NO_REPO)
    assert set(tmp_path.iterdir()) == before  # nothing written
    mine = protect_artwork(picture(tmp_path / "d.png", seed=3), alice, options=NO_REPO).output
    with pytest.raises(AlreadySigned, match="already protected by you"):
        protect_artwork(mine, alice, options=NO_REPO)


def test_refuses_ai_generated_metadata(tmp_path: Path) -> None:
    alice = new_identity()
    infotext = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, Seed: 1, Size: 64x64"
    ai = png_with_text(tmp_path / "gen.png", {"parameters": infotext})
    with pytest.raises(PledgeRefused) as e:
        protect_artwork(ai, alice, options=NO_REPO)
    assert "AI" in e.value.text.en and "AI" in e.value.text.ja
    assert not (tmp_path / "gen.protected.png").exists()


def test_found_after_x_strips_it(tmp_path: Path) -> None:
    artist = new_identity("@hanako")
    protected, repo_dir = _published(tmp_path, artist)
    x = _x_copy(protected, tmp_path / "x.jpg")
    with LocalRepository.open(repo_dir) as repo:
        found = find_protection(x.read_bytes(), "x.jpg", [repo])
    assert found is not None
    assert (found.artist, found.token, found.route) == ("@hanako", artist.token, "watermark")
    embedded = find_protection(protected.read_bytes(), "p.png", [])
    assert embedded is not None and embedded.route == "embedded"
    # an unrelated picture is nobody's artwork
    with LocalRepository.open(repo_dir) as repo:
        other = picture(tmp_path / "other.png", seed=40)
        assert find_protection(other.read_bytes(), "o.png", [repo]) is None


def test_found_by_fingerprint_without_watermark(tmp_path: Path) -> None:
    artist = new_identity("@hanako")
    protected, repo_dir = _published(tmp_path, artist, watermark=False)
    x = _x_copy(protected, tmp_path / "x.jpg")
    with LocalRepository.open(repo_dir) as repo:
        found = find_protection(x.read_bytes(), "x.jpg", [repo])
    assert found is not None and found.route == "fingerprint"


def _configure(home: Path, repo: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"repositories": [str(repo)]}))


def test_sign_refuses_a_protected_source_and_accepts_a_grant(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user", tmp_path / "ai")
    protected, repo_dir = _published(tmp_path, artist)
    shared = tmp_path / "shared-repo"
    shared.parent.mkdir(exist_ok=True)
    import shutil

    shutil.copytree(repo_dir, shared)
    shutil.rmtree(repo_dir)  # the AI user only has the artist's published repository
    _configure(home, shared)
    x = _x_copy(protected, tmp_path / "x.jpg")
    gen = picture(tmp_path / "gen.png", seed=9)
    claimed = SourceSpec(x, Relation.PERMITTED, Evidence(text="she said yes"))
    with pytest.raises(PledgeRefused) as e:
        sign_image(gen, ai, t2i=False, sources=[claimed], options=FAST)
    assert "@hanako" in e.value.text.en and artist.token in e.value.text.en
    assert "@hanako" in e.value.text.ja and "permit" in e.value.text.ja
    assert not (tmp_path / "gen.signed.png").exists()
    # a grant for someone else does not help, and says why
    other = new_identity("@other", tmp_path / "other")
    wrong = make_grant(artwork_of(protected), artist, other.token)
    opts = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)
    with pytest.raises(PledgeRefused, match="made out to"):
        sign_image(
            gen, ai, t2i=False, sources=[SourceSpec(x)], options=_with(opts, grants=(wrong,))
        )
    grant = make_grant(artwork_of(protected), artist, ai.token)
    res = sign_image(
        gen, ai, t2i=False, sources=[SourceSpec(x)], options=_with(opts, grants=(grant,))
    )
    (src,) = res.sources
    assert src.record.relation is Relation.PERMITTED_BY_GRANT
    assert res.notes_text == ()
    # a grant that covers none of the sources is said, not silently dropped
    other_art = make_grant(
        artwork_of(picture(tmp_path / "unrelated.png", seed=77)), artist, ai.token
    )
    res2 = sign_image(
        gen,
        ai,
        t2i=False,
        sources=[SourceSpec(x)],
        output=tmp_path / "gen2.png",
        options=_with(opts, grants=(grant, other_art)),
    )
    assert [n.en for n in res2.notes_text] == [
        "@hanako's grant for unrelated.png was not used: it covers none of the sources."
    ]
    assert src.record.grant is not None
    assert "@hanako" in src.reason


def test_own_protected_artwork_is_an_own_source(tmp_path: Path) -> None:
    me = new_identity("@hanako")
    protected, _repo = _published(tmp_path, me)
    res = sign_image(
        picture(tmp_path / "gen.png", seed=9),
        me,
        t2i=False,
        sources=[SourceSpec(protected)],
        options=FAST,
    )
    assert res.sources[0].record.relation is Relation.OWN_DRAWING
    assert res.sources[0].reason == "own protected artwork"


def test_signing_the_protected_picture_itself_is_refused(tmp_path: Path, home: Path) -> None:
    artist = new_identity("@hanako", tmp_path / "artist")
    thief = new_identity("@thief", tmp_path / "thief")
    protected, repo_dir = _published(tmp_path, artist)
    _configure(home, repo_dir)
    x = _x_copy(protected, tmp_path / "x.jpg")
    png = tmp_path / "x.png"
    with Image.open(x) as im:
        im.save(png)
    with pytest.raises(PledgeRefused, match="protected artwork"):
        sign_image(png, thief, t2i=True, options=FAST)


def _with(opts: SignOptions, **kw: object) -> SignOptions:
    import dataclasses

    return dataclasses.replace(opts, **kw)  # type: ignore[arg-type]


def test_watch_refuses_a_protected_comfy_input_naming_the_artist(
    tmp_path: Path, home: Path
) -> None:
    from myself_i2i.watch import WatchOptions, watch_once
    from tests.test_watch import comfy_i2i
    from tests.test_watch import picture as generated

    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user")
    protected, repo_dir = _published(tmp_path, artist)
    _configure(home, repo_dir)
    inputs, out = tmp_path / "inputs", tmp_path / "out"
    inputs.mkdir()
    with Image.open(_x_copy(protected, tmp_path / "x.jpg")) as im:
        im.save(inputs / "downloaded.png")
    generated(out / "gen.png", {"prompt": comfy_i2i("downloaded.png")}, size=256)
    (ev,) = watch_once(
        out, ai, WatchOptions(interval=0.05, sign=FAST, inputs_dir=inputs), settle=0.05
    )
    assert ev.status == "refused" and ev.reason is not None
    assert "@hanako" in ev.reason.en and artist.token in ev.reason.en
    assert "@hanako" in ev.reason.ja


def test_against_says_the_original_was_protected(tmp_path: Path) -> None:
    from myself_i2i.verify import VerifyOptions, verify_image

    artist = new_identity("@hanako")
    protected, _repo = _published(tmp_path, artist)
    suspect = sign_t2i(picture(tmp_path / "s.png", seed=8), artist).output
    rep = verify_image(suspect, VerifyOptions(against=[protected], use_default_repositories=False))
    (ev,) = rep.evidence
    assert ev["protection"]["artist"] == "@hanako" and ev["protection"]["token"] == artist.token
    assert "protected by @hanako" in ev["message"]["en"] and "保護" in ev["message"]["ja"]


def test_a_revoked_grant_is_refused_when_signing(tmp_path: Path, home: Path) -> None:
    from myself_i2i.grants import make_revocation, publish_revocation

    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user", tmp_path / "ai")
    protected, repo_dir = _published(tmp_path, artist)
    _configure(home, repo_dir)
    grant = make_grant(artwork_of(protected), artist, ai.token)
    gid, rev = make_revocation(grant, artist)
    with LocalRepository.open(repo_dir) as repo:
        publish_revocation(gid, rev, [repo])
    x = _x_copy(protected, tmp_path / "x.jpg")
    opts = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)
    with pytest.raises(PledgeRefused, match="revoked"):
        sign_image(
            picture(tmp_path / "g.png", seed=9),
            ai,
            t2i=False,
            sources=[SourceSpec(x)],
            options=_with(opts, grants=(grant,)),
        )


def test_comfyui_node_refuses_a_protected_input_even_when_registered(
    tmp_path: Path, home: Path
) -> None:
    from myself_i2i.integrations.comfyui.core import ComfyFolders, save_signed_batch
    from myself_i2i.registry import SourceRegistry
    from tests.integrations.comfy_graphs import SAVE_ID, batch, i2i_graph, workflow_for

    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user")
    protected, repo_dir = _published(tmp_path, artist)
    _configure(home, repo_dir)
    folders = ComfyFolders(input_dir=tmp_path / "input", output_dir=tmp_path / "output")
    folders.input_dir.mkdir()
    folders.output_dir.mkdir()
    with Image.open(_x_copy(protected, tmp_path / "x.jpg")) as im:
        im.save(folders.input_dir / "downloaded.png")
    with SourceRegistry.open() as reg:  # registering someone's picture as one's own
        reg.add_paths([folders.input_dir / "downloaded.png"], Relation.OWN_DRAWING)
    prompt = i2i_graph("downloaded.png")
    with pytest.raises(PledgeRefused) as exc:
        save_signed_batch(
            batch(1),
            prompt=prompt,
            extra_pnginfo={"workflow": workflow_for(prompt)},
            folders=folders,
            filename_prefix="test",
            identity=ai,
            options=FAST,
            unique_id=SAVE_ID,
            log=lambda _line: None,
        )
    message = str(exc.value)  # ComfyUI's error dialog shows str(exception): both languages
    assert "@hanako" in message and artist.token in message and "許可証" in message
    assert list(folders.output_dir.rglob("*.*")) == []


def test_a_received_grant_serves_every_signing_path(tmp_path: Path, home: Path) -> None:
    from typer.testing import CliRunner

    from myself_i2i.cli import app

    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user")
    protected, repo_dir = _published(tmp_path, artist)
    _configure(home, repo_dir)
    grant = tmp_path / "g.grant"
    grant.write_bytes(make_grant(artwork_of(protected), artist, ai.token))
    wrong = tmp_path / "w.grant"
    wrong.write_bytes(make_grant(artwork_of(protected), artist, artist.token))
    runner = CliRunner()
    r = runner.invoke(app, ["grants", "add", str(wrong)])
    assert r.exit_code == 2 and "not to you" in r.stdout + r.stderr
    r = runner.invoke(app, ["grants", "add", str(grant)])
    assert r.exit_code == 0 and "@hanako" in r.stdout
    assert "@hanako" in runner.invoke(app, ["grants", "list"]).stdout
    # no --grant: the kept grant covers the protected source (as in the plugins and watch)
    x = _x_copy(protected, tmp_path / "x.jpg")
    res = sign_image(
        picture(tmp_path / "g.png", seed=9), ai, t2i=False, sources=[SourceSpec(x)], options=FAST
    )
    assert res.sources[0].record.relation is Relation.PERMITTED_BY_GRANT


def test_verify_names_a_protected_source_with_same_pixels(tmp_path: Path) -> None:
    from myself_i2i.keyring import Keyring
    from myself_i2i.verify import VerifyOptions, verify_image

    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user", tmp_path / "ai")
    protected, repo_dir = _published(tmp_path, artist)
    bare = tmp_path / "bare.png"  # the same pixels, every metadata gone (a lossless re-save)
    with Image.open(protected) as im:
        im.save(bare)
    signed = sign_image(
        picture(tmp_path / "g.png", seed=9),
        ai,
        t2i=False,
        sources=[SourceSpec(bare, Relation.PERMITTED, Evidence(text="she said yes"))],
        options=_with(FAST, check_protection=False),  # a signer without these checks
    ).output
    with LocalRepository.open(repo_dir) as repo:
        rep = verify_image(
            signed,
            VerifyOptions(
                repositories=[repo],
                use_default_repositories=False,
                use_own_identity=False,
                keyring=Keyring(tmp_path / "k.json"),
                key_token=ai.token,
            ),
        )
    (f,) = [f for f in rep.findings if f.code == "pledge.protected_source"]
    assert f.details["token"] == artist.token and f.details["route"].startswith("same pixels")
    assert rep.verdict.value == "pledge-violated"
    assert rep.has("permission.claimed_unverifiable")


def test_a1111_extension_leaves_unsigned_an_img2img_of_a_protected_picture(
    tmp_path: Path, home: Path
) -> None:
    from myself_i2i.integrations import sd_webui_core as core
    from tests.integrations.test_sd_webui import FAST as WEBUI_FAST
    from tests.integrations.test_sd_webui import IMG2IMG, Processing, webui_save

    artist = new_identity("@hanako", tmp_path / "artist")
    ai = new_identity("@ai_user")
    protected, repo_dir = _published(tmp_path, artist)
    _configure(home, repo_dir)
    with Image.open(_x_copy(protected, tmp_path / "x.jpg")) as im:
        init = im.convert("RGB")  # the downloaded picture, dropped into img2img
    _img, path = webui_save(tmp_path / "i2i.png", IMG2IMG)
    out = core.sign_saved_image(
        path, Processing(init_images=[init]), WEBUI_FAST, identity=ai, emit=lambda _m: None
    )
    assert out is not None and not out.signed and out.reason is not None
    assert "@hanako" in out.reason.en and artist.token in out.reason.en
    assert "@hanako" in out.reason.ja
