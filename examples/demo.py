"""`make demo`: the whole myself_i2i story on the files in examples/, in English and Japanese.

Every step runs the real `myself-i2i` command (as a user would type it) with a throwaway
identity under demo-out/, so your own identity and registry are never touched.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

# the demo plays a tamperer and a platform with these two helpers
from myself_i2i._internal.containers import (
    manifest_store_bytes,
    strip_manifest,
    with_manifest_store,
)

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "demo-out"


BOLD = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def step(en: str, ja: str) -> None:
    head = f"== {en}\n== {ja}"
    print(f"\n\033[1m{head}\033[0m" if BOLD else f"\n{head}", flush=True)


def explain(term: str, en: str, ja: str) -> None:
    """A word the output below uses, said once in plain words (English, then Japanese)."""
    print(f"  ({term}) {en}\n  （{term}）{ja}", flush=True)


def run(*args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
    print(f"$ myself-i2i {shlex.join(args)}", flush=True)  # pasteable: '#Noi2i' is quoted
    proc = subprocess.run(
        [sys.executable, "-m", "myself_i2i", *args], text=True, capture_output=True, env=ENV
    )
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    print(f"  (exit code {proc.returncode})", flush=True)
    if expect is not None and proc.returncode != expect:
        raise SystemExit(f"demo: expected exit code {expect}, got {proc.returncode}")
    return proc


if OUT.exists():
    shutil.rmtree(OUT)
OUT.mkdir()
ENV = dict(os.environ, MYSELF_I2I_HOME=str(OUT / "home"), MYSELF_I2I_LANG="en")

step(
    "1. Make a throwaway identity (personal CA + signing certificate)",
    "1. 使い捨ての ID を作成（個人 CA と署名証明書）",
)
init = run("init", "--name", "@demo_artist")
explain(
    "key token",
    "A short name for your public key (mi2i:XXXX-…). Put it in your profile or post; "
    "viewers compare it with the one in the signed image to know it is you.",
    "公開鍵の短い名前（mi2i:XXXX-…）です。プロフィールや投稿に書いておくと、閲覧者は署名済み"
    "画像の中のトークンと見比べて、あなたの署名だと確かめられます。",
)
token = next(w for line in init.stdout.splitlines() for w in line.split() if w.startswith("mi2i:"))

step("2. Register my own drawing as a permitted i2i source", "2. 自分の絵を i2i の素材として登録")
run("sources", "add", str(HERE / "my_drawing.png"), "--relation", "own-drawing")
run("sources", "check", str(HERE / "my_drawing.png"))

step(
    "3. Sign a t2i image and an i2i image made from my drawing",
    "3. t2i 画像と、自分の絵から作った i2i 画像に署名",
)
run("sign", str(HERE / "t2i_output.png"), "--t2i", "-o", str(OUT / "t2i.signed.png"))
run(
    "sign",
    str(HERE / "i2i_output.png"),
    "--source",
    str(HERE / "my_drawing.png"),
    "-o",
    str(OUT / "i2i.signed.png"),
)

step("4. Signing refuses what the pledge does not cover", "4. 宣言に反する署名は拒否される")
run(
    "sign",
    str(HERE / "i2i_output.png"),
    "--source",
    str(HERE / "someone_elses.png"),
    "-o",
    str(OUT / "dishonest.png"),
    expect=3,
)
run("sign", str(HERE / "i2i_output.png"), "--t2i", "-o", str(OUT / "dishonest.png"), expect=3)

post = f"New picture! #Myself_i2i {token}"
step(f"5. Verify both with the post text: {post!r}", "5. 投稿文と一緒に両方を検証")
# From here on, a viewer's machine: the artist's own machine would trust the artist's key.
ENV["MYSELF_I2I_HOME"] = str(OUT / "viewer-home")
run("verify", str(OUT / "t2i.signed.png"), "--text", post)
run("verify", str(OUT / "i2i.signed.png"), "--text", post, "--lang", "ja")
run("verify", str(OUT / "t2i.signed.png"), "--text", "#t2i #Myself_i2i", expect=11)  # no token
run("trust", "add", token, "--name", "@demo_artist")  # the viewer now trusts the artist
run("verify", str(OUT / "i2i.signed.png"), "--text", "#Noi2i", expect=0)

step(
    "6. A tampered copy (pixels edited after signing)",
    "6. 改ざんされたコピー（署名後に画素を編集）",
)
# Edit some pixels and put the original manifest back, as a tamperer would.
data = (OUT / "t2i.signed.png").read_bytes()
store = manifest_store_bytes(data)
assert store is not None
with Image.open(OUT / "t2i.signed.png") as signed:
    edited = signed.convert("RGB")
for x in range(40, 80):
    edited.putpixel((x, 40), (255, 0, 0))
buf = io.BytesIO()
edited.save(buf, "PNG")
(OUT / "tampered.png").write_bytes(with_manifest_store(buf.getvalue(), store))
explain(
    "hard-binding hash",
    "The manifest records a hash of the file's exact bytes; any edit after signing, even "
    "one pixel, makes it differ, so the copy is reported as tampered.",
    "マニフェストにはファイルのバイト列そのもののハッシュが記録されています。署名後に 1 画素でも"
    "編集すると一致しなくなるため、改ざんとして報告されます。",
)
run("verify", str(OUT / "tampered.png"), "--text", post, expect=33)

step(
    "7. A copy whose manifest was stripped, as social platforms do",
    "7. SNS のようにマニフェストが削除されたコピー",
)
(OUT / "stripped.png").write_bytes(strip_manifest(data))
ENV["MYSELF_I2I_HOME"] = str(OUT / "empty-home")
run("verify", str(OUT / "stripped.png"), "--text", post, expect=20)

step(
    "8. The same, re-encoded like X (JPEG q85, smaller), recovered through the artist's "
    "published manifest repository",
    "8. X のように再エンコードされたコピーを、作者が公開したマニフェストリポジトリで復元",
)
ENV["MYSELF_I2I_HOME"] = str(OUT / "home")
run("repo", "publish", "--repo", str(OUT / "public-repo"))
Image.open(OUT / "stripped.png").convert("RGB").resize((448, 448)).save(
    OUT / "from_x.jpg", quality=85
)
ENV["MYSELF_I2I_HOME"] = str(OUT / "viewer-home")
explain(
    "locator",
    "A short number hidden in the pixels as an invisible watermark when signing; it names "
    "the image's manifest in the repository, so a copy without its manifest finds it again.",
    "署名時に見えない透かしとして画素に埋め込む短い番号です。リポジトリ内のマニフェストを指すので、"
    "マニフェストを失ったコピーからも見つけ直せます。",
)
explain(
    "fingerprint, N bits",
    "A 64-bit perceptual hash of how the picture looks. Re-encoding changes only a few of "
    "its bits; 'fingerprint 2 bits from the signed one' means the copy looks the same.",
    "画像の見た目から作る 64 ビットの知覚ハッシュです。再エンコードで変わるのは数ビットだけで、"
    "「フィンガープリントの差 2 ビット」は見た目が同じコピーだという意味です。",
)
run(
    "verify", str(OUT / "from_x.jpg"), "--repo", str(OUT / "public-repo"), "--text", post, expect=10
)

step(
    "9. An illustrator checks a suspect image against her original",
    "9. イラストレーターが疑わしい画像を自分の原画と比較",
)
run("verify", str(OUT / "i2i.signed.png"), "--against", str(HERE / "my_drawing.png"), expect=None)
run("verify", str(OUT / "t2i.signed.png"), "--against", str(HERE / "my_drawing.png"), expect=None)

step(
    "10. The artists' side: an illustrator protects a drawing and posts it on X",
    "10. 作者側：イラストレーターが絵を保護して X に投稿",
)
import json  # noqa: E402

from myself_i2i.testing import illustration  # noqa: E402

ART_REPO = OUT / "hanako-repo"  # the artist's published manifest repository
for who in ("artist-home", "ai-home", "viewer2-home"):
    (OUT / who).mkdir()
    (OUT / who / "settings.json").write_text(json.dumps({"repositories": [str(ART_REPO)]}))
ENV["MYSELF_I2I_HOME"] = str(OUT / "artist-home")
run("init", "--name", "@hanako_draws")
illustration(2400, 1800, seed=11).save(OUT / "hanako.png")
run("protect", str(OUT / "hanako.png"), "--contact", "https://x.com/hanako_draws")
# X strips the manifest and every metadata, cuts the long side to 2048 and re-encodes (q85).
with Image.open(OUT / "hanako.protected.png") as posted:
    x_copy = posted.convert("RGB")
x_copy.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
x_copy.save(OUT / "hanako_from_x.jpg", "JPEG", quality=85)

step(
    "11. An AI user downloads it and tries i2i: refused, with the artist's name",
    "11. AI 利用者がダウンロードして i2i を試みる：作者名とともに拒否",
)
ENV["MYSELF_I2I_HOME"] = str(OUT / "ai-home")
ai_init = run("init", "--name", "@ai_user")
ai_token = next(
    w for line in ai_init.stdout.splitlines() for w in line.split() if w.startswith("mi2i:")
)
run("sources", "check", str(OUT / "hanako_from_x.jpg"), expect=3)
i2i_args = ("sign", str(HERE / "i2i_output.png"), "--source", str(OUT / "hanako_from_x.jpg"))
run(*i2i_args, "-o", str(OUT / "hanako_i2i.signed.png"), expect=3)

step(
    "12. The artist grants that user's token; signing succeeds",
    "12. 作者がその利用者のトークンに許可証を出す：署名できる",
)
ENV["MYSELF_I2I_HOME"] = str(OUT / "artist-home")
grant = OUT / "hanako_for_ai_user.grant"
run("permit", str(OUT / "hanako.protected.png"), "--to", ai_token, "-o", str(grant))
ENV["MYSELF_I2I_HOME"] = str(OUT / "ai-home")
run(*i2i_args, "--grant", str(grant), "-o", str(OUT / "hanako_i2i.signed.png"))

step(
    "13. A viewer verifies the posted result: verified, permitted by a signed grant",
    "13. 閲覧者が投稿された結果を検証：署名付き許可証による許可で検証済み",
)
ENV["MYSELF_I2I_HOME"] = str(OUT / "viewer2-home")
signed_post = f"Made with permission #Myself_i2i {ai_token}"
run("verify", str(OUT / "hanako_i2i.signed.png"), "--text", signed_post, expect=0)
run("verify", str(OUT / "hanako_i2i.signed.png"), "--text", signed_post, "--lang", "ja")

step(
    "14. The artist revokes the grant: the image stays valid for what it was",
    "14. 作者が許可を取り消す：画像はその時点のものとして有効なまま",
)
ENV["MYSELF_I2I_HOME"] = str(OUT / "artist-home")
run("revoke", str(grant), "--reason", "the series is over")
ENV["MYSELF_I2I_HOME"] = str(OUT / "viewer2-home")
run("verify", str(OUT / "hanako_i2i.signed.png"), "--text", signed_post, expect=0)

step("Done. Files are in demo-out/.", "完了。ファイルは demo-out/ にあります。")
