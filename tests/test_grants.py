"""Signed permission grants: the COSE envelope, what a grant covers, revocations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cbor2
import pytest

from myself_i2i.errors import ConfigError, GrantError
from myself_i2i.grants import (
    Artwork,
    check_grant,
    find_revocation,
    make_grant,
    make_revocation,
    parse_grant,
    parse_revocation,
    publish_revocation,
)
from myself_i2i.identity import Identity
from myself_i2i.images import ImageHashes
from myself_i2i.repository import LocalRepository
from tests.core_helpers import new_identity

#: within the validity of the certificates the tests make now
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(minutes=1)
ART = Artwork(
    title="drawing.protected.png",
    sha256="a" * 64,
    pixel_sha256="b" * 64,
    phash="f0f0f0f0f0f0f0f0",
    width=1200,
    height=900,
    locator="0123456789abcdef",
)


def _pair(tmp_path: Path) -> tuple[Identity, Identity]:
    return new_identity("@artist", tmp_path / "a"), new_identity("@user", tmp_path / "u")


def _hashes(**kw: str) -> ImageHashes:
    base = {"sha256": "c" * 64, "pixel_sha256": "d" * 64, "phash": "0" * 16}
    base.update(kw)
    return ImageHashes(width=10, height=10, **base)


def test_round_trip_and_envelope(tmp_path: Path) -> None:
    artist, user = _pair(tmp_path)
    raw = make_grant(ART, artist, user.token.lower(), note="one piece", now=NOW)
    g = parse_grant(raw)
    assert (g.grantor_name, g.grantor_token, g.grantee_token) == (
        "@artist",
        artist.token,
        user.token,
    )
    assert g.artwork == ART and g.scope == ("i2i",) and g.note == "one piece"
    # a COSE_Sign1 (tag 18) with ES256 and the x5chain [leaf, CA] in the protected header
    msg = cbor2.loads(raw)
    assert msg.tag == 18
    header = cbor2.loads(msg.value[0])
    assert header[1] == -7 and len(header[33]) == 2
    assert len(raw) < 4000


def test_covers_only_what_it_says(tmp_path: Path) -> None:
    artist, user = _pair(tmp_path)
    until = NOW + dt.timedelta(days=30)
    raw = make_grant(ART, artist, user.token, until=until, now=NOW)
    at = NOW + dt.timedelta(days=1)

    def problems(**kw: object) -> set[str]:
        args: dict[str, object] = {
            "grantee_token": user.token,
            "at": at,
            "source": _hashes(phash="f0f0f0f0f0f0f0f1"),
        }
        args.update(kw)
        return {c for c, _t in check_grant(raw, **args).problems}  # type: ignore[arg-type]

    ok = check_grant(raw, grantee_token=user.token, at=at, source=_hashes(sha256="a" * 64))
    assert ok.ok and ok.match == "exact"
    assert problems() == set()  # a re-encoded copy: fingerprint 1 bit away
    assert problems(grantee_token=artist.token) == {"grant.other_grantee"}
    assert problems(grantee_token=None) == {"grant.other_grantee"}
    assert problems(source=_hashes(phash="0f0f0f0f0f0f0f0f")) == {"grant.artwork_mismatch"}
    assert problems(at=until + dt.timedelta(seconds=1)) == {"grant.expired"}
    assert problems(at=NOW - dt.timedelta(days=1)) == {"grant.not_yet_valid"}
    assert problems(grantor_token=user.token) == {"grant.wrong_artist"}
    by_locator = check_grant(
        raw, grantee_token=user.token, at=at, source=_hashes(), locator=ART.locator
    )
    assert by_locator.ok and by_locator.match == "watermark"


def test_tampering_and_garbage_are_refused(tmp_path: Path) -> None:
    artist, user = _pair(tmp_path)
    raw = make_grant(ART, artist, user.token, now=NOW)
    msg = cbor2.loads(raw)
    forged_payload = msg.value[2].replace(user.token.encode(), artist.token.encode())
    forged = cbor2.dumps(cbor2.CBORTag(18, [msg.value[0], {}, forged_payload, msg.value[3]]))
    for bad in (forged, b"not cbor at all", cbor2.dumps([1, 2, 3]), raw[:-3]):
        chk = check_grant(bad, grantee_token=user.token, at=NOW, source=_hashes())
        assert not chk.ok and chk.grant is None
        assert chk.problems[0][0] == "grant.malformed"
    with pytest.raises(GrantError) as e:
        parse_grant(forged)
    assert "signature" in e.value.text.en and e.value.text.ja


def test_a_grant_claiming_another_artist_is_caught(tmp_path: Path) -> None:
    # Bob signs a grant whose payload says it is from Alice: the chain decides.
    from myself_i2i import grants

    alice, bob = _pair(tmp_path)
    user = new_identity("@user2", tmp_path / "u2")
    payload = {
        "version": 1,
        "type": "org.myself-i2i.grant",
        "id": "0" * 32,
        "scope": ["i2i"],
        "grantor": {"name": "@artist", "token": alice.token},
        "grantee": {"token": user.token},
        "artwork": ART.to_dict(),
        "issued": NOW.isoformat(),
    }
    raw = grants._sign(bob, grants.GRANT_CONTENT_TYPE, payload)
    chk = check_grant(raw, grantee_token=user.token, at=NOW, source=_hashes(sha256="a" * 64))
    assert {c for c, _t in chk.problems} == {"grant.grantor_mismatch"}


def test_bad_token_and_empty_validity(tmp_path: Path) -> None:
    artist, _user = _pair(tmp_path)
    with pytest.raises(ConfigError, match="not a key token"):
        make_grant(ART, artist, "@someone")
    with pytest.raises(ConfigError, match="end before"):
        make_grant(ART, artist, _user.token, until=NOW - dt.timedelta(days=1), now=NOW)


def test_revocation_published_and_found(tmp_path: Path) -> None:
    artist, user = _pair(tmp_path)
    raw = make_grant(ART, artist, user.token, now=NOW)
    g = parse_grant(raw)
    with pytest.raises(GrantError, match="only its artist"):
        make_revocation(raw, user)
    gid, rev = make_revocation(raw, artist, reason="changed my mind", now=NOW)
    assert gid == g.id and parse_revocation(rev).reason == "changed my mind"
    with LocalRepository.open(tmp_path / "repo", create=True) as repo:
        assert find_revocation(g, [repo]) is None
        assert publish_revocation(gid, rev, [repo]) == [repo.name]
        found = find_revocation(g, [repo])
        assert found is not None and found.revoked == NOW
        # a "revocation" by another key at the same place is ignored
        other_grant = make_grant(ART, user, artist.token, now=NOW)
        _gid2, by_user = make_revocation(other_grant, user, now=NOW)
        repo.add_revocation(gid, by_user)
        assert find_revocation(g, [repo]) is None
        assert repo.get_revocation("../../etc/passwd") is None


def test_revocation_over_repo_serve(tmp_path: Path) -> None:
    from myself_i2i.errors import RepositoryError
    from myself_i2i.repository import HttpRepository
    from myself_i2i.repository_server import create_repository_app
    from tests.core_helpers import serve_in_thread

    artist, user = _pair(tmp_path)
    raw = make_grant(ART, artist, user.token, now=NOW)
    g = parse_grant(raw)
    gid, rev = make_revocation(raw, artist, now=NOW)
    app = create_repository_app(tmp_path / "served", token="up-token")
    with serve_in_thread(app) as url:
        with pytest.raises(RepositoryError, match="token"):
            HttpRepository(url).add_revocation(gid, rev)
        with pytest.raises(RepositoryError):
            HttpRepository(url, token="up-token").add_revocation("f" * 32, rev)  # other grant
        assert find_revocation(g, [HttpRepository(url)]) is None
        assert publish_revocation(gid, rev, [HttpRepository(url, token="up-token")]) == [url]
        found = find_revocation(g, [HttpRepository(url)])
        assert found is not None and found.grant_id == gid


def test_the_schemas_are_valid_json_schemas() -> None:
    import jsonschema

    from myself_i2i.pledge import load_schema

    for name in ("grant.schema.json", "revocation.schema.json", "protection.schema.json"):
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    jsonschema.Draft202012Validator.check_schema(load_schema("pledge.schema.json"))
