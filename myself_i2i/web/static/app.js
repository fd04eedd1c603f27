// myself_i2i web verifier: plain JavaScript, no framework, nothing loaded from elsewhere.
// Report messages come bilingual from the server; the UI labels live in UI below.
// Every value from the report is inserted with textContent (never innerHTML).
"use strict";

const UI = {
  en: {
    title: "#Myself_i2i verifier",
    intro: "Check a downloaded picture: was it signed, is it unchanged, and does it keep the #Myself_i2i pledge?",
    dropTitle: "Drop the downloaded image here",
    dropHint: "or tap to choose a file (PNG, JPEG, WebP, GIF, TIFF, HEIC, AVIF, SVG, MP4…)",
    textLabel: "Post text (optional)",
    textPlaceholder: "Paste the post, e.g. “new picture #Myself_i2i mi2i:XXXX-…”",
    tokenLabel: "Key token of the account (optional)",
    againstSummary: "Compare with my original (for illustrators)",
    againstLabel: "Your original picture",
    againstHint: "Shows whether your picture is one of the declared sources and how similar the two are. Evidence for a person to weigh, not an accusation.",
    verify: "Verify",
    privacy: "Your files are checked on this server and not kept.",
    switchTo: "日本語",
    chooseFirst: "Choose or drop an image first.",
    checking: "Checking…",
    done: "Done.",
    network: "Could not reach the server.",
    verdicts: {
      "verified": "Verified",
      "recovered": "Recovered from a repository",
      "untrusted-signer": "Signer not known",
      "no-pledge": "No pledge",
      "unsigned": "Unsigned",
      "credential-invalid": "Signing certificate not acceptable",
      "invalid": "Invalid manifest",
      "wrong-signer": "Wrong signer",
      "contradicts-post": "Contradicts the post",
      "pledge-violated": "Pledge violated",
      "tampered": "Tampered",
    },
    recoveredNote: "This file's own bytes cannot be checked: it carries no manifest. Its signed manifest was found again in a repository, and only the picture is shown to look the same.",
    publicNote: "On this public server, “trusted” means only one thing: the signing key is one of the keys the operator of this server listed. It says nothing about anyone else; for other creators, compare the key token with the one in their profile.",
    signer: "Signer",
    trusted: "Trusted",
    trustedWhy: (n) => `in this server's keyring as “${n}”`,
    trustedWhyPublic: (n) => `listed by the operator of this server as “${n}” (only that)`,
    colon: ": ",
    signedAt: "Signed at",
    tokenUnconfirmed: "no key token: not a confirmed myself_i2i personal key",
    notRecordedTime: "not recorded",
    certificate: "Certificate",
    issuedBy: "issued by",
    tokenMatch: "Key token matches",
    tokenMatchWhy: "the key token given with the post matches the signing key",
    tokenMismatch: "Key token differs",
    tokenMismatchWhy: "the key token given with the post is not the signing key",
    untrusted: "Not trusted",
    untrustedWhy: "the key is not in the keyring and no key token was given; compare the token with the creator's profile",
    noSigner: "No signer could be identified.",
    pledge: "Pledge",
    kinds: {
      "t2i": "Text only (t2i): no image was used as input",
      "self-sourced-i2i": "Image-to-image (i2i) from own or permitted sources only",
    },
    noPledge: "The manifest makes no #Myself_i2i pledge.",
    hashtag: "Hashtag in the post",
    noPost: "No post text given: the hashtag was not checked.",
    postTags: (t) => (t.length ? `Post hashtags: ${t.join(" ")}` : "The post has no pledge hashtag."),
    sources: "Sources",
    thisImage: "This image",
    t2iTree: "No image inputs (text only).",
    relations: {
      "own-drawing": "own drawing",
      "own-photo": "own photo",
      "own-generation": "own generation (signed t2i)",
      "permitted": "used with the author's permission",
    },
    generator: "Generator",
    software: "Software",
    model: "Model",
    loras: "LoRA",
    notRecorded: "not recorded",
    problems: "What is wrong",
    noProblems: "Nothing was found tampered or contradicting.",
    recovery: "Recovery",
    recoveredVia: (r) => `Manifest found again via ${r.route}${r.repository ? " in " + r.repository : ""}.`,
    routes: { watermark: "watermark", fingerprint: "fingerprint" },
    evidence: "Evidence (your original)",
    similarity: (s) => `Similarity ${s.score} (${s.level})`,
    allChecks: "All checks, codes and raw JSON",
    thumbMissing: "no thumbnail",
  },
  ja: {
    title: "#Myself_i2i 検証",
    intro: "ダウンロードした画像を確認します：署名があるか、改変されていないか、#Myself_i2i の宣言を守っているか。",
    dropTitle: "ダウンロードした画像をここにドロップ",
    dropHint: "またはタップしてファイルを選択（PNG・JPEG・WebP・GIF・TIFF・HEIC・AVIF・SVG・MP4 など）",
    textLabel: "投稿文（任意）",
    textPlaceholder: "投稿文を貼り付け（例：「新作 #Myself_i2i mi2i:XXXX-…」）",
    tokenLabel: "アカウントのキートークン（任意）",
    againstSummary: "自分の原画と比較（イラストレーター向け）",
    againstLabel: "あなたの原画",
    againstHint: "あなたの絵が宣言された素材に含まれるか、どれだけ似ているかを示します。人が判断するための材料であり、告発ではありません。",
    verify: "検証する",
    privacy: "ファイルはこのサーバーで確認するだけで保存しません。",
    switchTo: "English",
    chooseFirst: "先に画像を選ぶかドロップしてください。",
    checking: "確認中…",
    done: "完了しました。",
    network: "サーバーに接続できません。",
    verdicts: {
      "verified": "検証済み",
      "recovered": "リポジトリから復元",
      "untrusted-signer": "署名者が不明",
      "no-pledge": "宣言なし",
      "unsigned": "署名なし",
      "credential-invalid": "署名証明書に問題",
      "invalid": "無効なマニフェスト",
      "wrong-signer": "署名者違い",
      "contradicts-post": "投稿と矛盾",
      "pledge-violated": "宣言違反",
      "tampered": "改ざん",
    },
    recoveredNote: "このファイル自体のバイトは検証できません：マニフェストを含んでいません。署名済みマニフェストがリポジトリで再発見され、絵が同じに見えることだけが示されています。",
    publicNote: "この公開サーバーでの「信頼済み」の意味はひとつだけです：署名鍵が、このサーバーの運営者が登録した鍵のひとつであること。それ以外の人については何も示しません。他の作者は、プロフィールのキートークンと比べてください。",
    signer: "署名者",
    trusted: "信頼済み",
    trustedWhy: (n) => `このサーバーのキーリングに「${n}」として登録`,
    trustedWhyPublic: (n) => `このサーバーの運営者が「${n}」として登録（それ以上の意味はありません）`,
    colon: "：",
    signedAt: "署名日時",
    tokenUnconfirmed: "キートークンなし：確認済みの myself_i2i 個人鍵ではありません",
    notRecordedTime: "記録なし",
    certificate: "証明書",
    issuedBy: "発行者",
    tokenMatch: "キートークン一致",
    tokenMatchWhy: "投稿に添えられたキートークンが署名鍵と一致します",
    tokenMismatch: "キートークン不一致",
    tokenMismatchWhy: "投稿に添えられたキートークンは署名鍵と異なります",
    untrusted: "未確認",
    untrustedWhy: "鍵はキーリングになく、キートークンも指定されていません。作者のプロフィールのトークンと比べてください",
    noSigner: "署名者を特定できません。",
    pledge: "宣言",
    kinds: {
      "t2i": "テキストのみ（t2i）：画像は入力に使っていません",
      "self-sourced-i2i": "自分の・許可済みの素材だけを使った i2i",
    },
    noPledge: "マニフェストに #Myself_i2i の宣言がありません。",
    hashtag: "投稿のハッシュタグ",
    noPost: "投稿文がないため、ハッシュタグは確認していません。",
    postTags: (t) => (t.length ? `投稿のハッシュタグ：${t.join(" ")}` : "投稿に宣言のハッシュタグがありません。"),
    sources: "素材",
    thisImage: "この画像",
    t2iTree: "画像の入力なし（テキストのみ）。",
    relations: {
      "own-drawing": "自分の絵",
      "own-photo": "自分の写真",
      "own-generation": "自分の生成画像（署名済み t2i）",
      "permitted": "作者の許可あり",
    },
    generator: "生成",
    software: "ソフトウェア",
    model: "モデル",
    loras: "LoRA",
    notRecorded: "記録なし",
    problems: "問題点",
    noProblems: "改ざんや矛盾は見つかりませんでした。",
    recovery: "復元",
    recoveredVia: (r) => `${r.repository ? r.repository + " で" : ""}${r.route} によりマニフェストを再発見しました。`,
    routes: { watermark: "電子透かし", fingerprint: "指紋（知覚ハッシュ）" },
    evidence: "証拠（あなたの原画）",
    similarity: (s) => `類似度 ${s.score}（${s.level}）`,
    allChecks: "すべての確認項目・コード・JSON",
    thumbMissing: "サムネイルなし",
  },
};

// recovered has its own colour and icon: a re-found manifest is not a checked file.
const VERDICT_CLASS = {
  "verified": ["v-good", "✔"],
  "recovered": ["v-recovered", "↻"],
  "untrusted-signer": ["v-caution", "?"],
  "no-pledge": ["v-caution", "?"],
  "unsigned": ["v-neutral", "–"],
  "credential-invalid": ["v-bad", "!"],
  "invalid": ["v-bad", "✘"],
  "wrong-signer": ["v-bad", "✘"],
  "contradicts-post": ["v-bad", "✘"],
  "pledge-violated": ["v-bad", "✘"],
  "tampered": ["v-bad", "✘"],
};
const MARK = { error: "✘", warning: "!", info: "✔" };
const SEVERITIES = ["error", "warning", "info"];

let lang = (() => {
  try {
    const saved = localStorage.getItem("myself-i2i-lang");
    if (saved === "en" || saved === "ja") return saved;
  } catch (e) { /* storage may be blocked */ }
  return (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
})();
let lastReport = null;
let previewUrl = null;
let statusKey = null;
let publicServer = false;
// Under a failing verdict, secondary results are neutral: no green tick, no green badge.
let neutral = false;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// The page never shows a command line: a clause that holds a `command` (or names the
// CLI) is dropped from a message, with the "or" that joined it to the next one.
const COMMAND = /`[^`]*`|\bmyself-i2i\s+[a-z-]+/;
function withoutCommands(text) {
  if (!COMMAND.test(text)) return text;
  const sentences = text.match(/[^.。!！?？]+(?:[.。!！?？]+\s*|$)/g) || [text];
  const out = [];
  for (const sentence of sentences) {
    if (!COMMAND.test(sentence)) { out.push(sentence); continue; }
    const clauses = sentence.split(/(?<=[:,;])\s+|(?<=[：，、；])\s*/);
    const kept = [];
    let dropped = false;
    for (let c of clauses) {
      if (COMMAND.test(c)) { dropped = true; continue; }
      if (dropped) c = c.replace(/^(or|and|または|または、)\s*/i, "");
      dropped = false;
      kept.push(c);
    }
    const cjk = /[\u3000-\u9fff\uff00-\uffef]/.test(sentence);
    let joined = kept.join(cjk ? "" : " ");
    joined = joined.replace(/[:：,，、;；]\s*$/, "").trim();
    if (joined && !/[.。!！?？]$/.test(joined)) joined += cjk ? "。" : ".";
    if (joined) out.push(joined + " ");
  }
  return out.join("").trim();
}

function msg(m) {
  if (!m) return "";
  if (typeof m === "string") return withoutCommands(m);
  return withoutCommands(m[lang] || m.en || "");
}

function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  // (dateStyle cannot be combined with timeZoneName: the fields are named one by one)
  const opts = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  try {
    return new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-GB", opts).format(d);
  } catch (e) {
    return d.toISOString();
  }
}

function applyLang() {
  const t = UI[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t[node.dataset.i18n];
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t[node.dataset.i18nPlaceholder];
  }
  $("lang").textContent = t.switchTo;
  const note = $("trust-note");
  note.textContent = t.publicNote;
  note.hidden = !publicServer;
  if (statusKey) setStatus(statusKey.key, statusKey.error, statusKey.text);
  if (lastReport) render(lastReport);
}

function setStatus(key, error, text) {
  statusKey = key || text ? { key, error, text } : null;
  const s = $("status");
  s.textContent = text ? msg(text) : key ? UI[lang][key] : "";
  s.classList.toggle("error", Boolean(error));
}

function section(title, ...body) {
  return el("div", { class: "sec" }, el("h3", {}, title), ...body);
}

// Finding codes are internal: shown only in the details list (withCode).
// A finding's hint (a command for the CLI) is never shown on the page.
function findingItem(f, withCode) {
  const sev = SEVERITIES.includes(f.severity) ? f.severity : "info";
  const quiet = neutral && sev === "info";
  return el(
    "li",
    { class: quiet ? "sev-neutral" : `sev-${sev}` },
    el("span", { class: "mark", "aria-hidden": "true" }, quiet ? "·" : MARK[sev]),
    el("span", {}, msg(f.message), withCode ? el("span", { class: "code" }, " ", f.code) : null),
  );
}
const detailItem = (f) => findingItem(f, true);

function thumb(src, alt) {
  if (src) return el("img", { class: "thumb", src, alt });
  return el("span", { class: "thumb empty", role: "img", "aria-label": alt }, UI[lang].thumbMissing);
}

function signerSection(r) {
  const t = UI[lang];
  const s = r.signer;
  if (!s) return section(t.signer, el("p", {}, t.noSigner));
  const good = neutral ? "b-neutral" : "b-good";
  const name = s.trustedName || s.name;
  let badge, why;
  if (s.trusted) [badge, why] = [el("span", { class: `badge ${good}` }, t.trusted), (publicServer ? t.trustedWhyPublic : t.trustedWhy)(name)];
  else if (s.tokenMatchesPost === true) [badge, why] = [el("span", { class: `badge ${good}` }, t.tokenMatch), t.tokenMatchWhy];
  else if (s.tokenMatchesPost === false) [badge, why] = [el("span", { class: "badge b-bad" }, t.tokenMismatch), t.tokenMismatchWhy];
  else [badge, why] = [el("span", { class: "badge b-caution" }, t.untrusted), t.untrustedWhy];
  const cert = [];
  if (s.subject && s.subject !== s.name) cert.push(s.subject);
  if (s.issuer) cert.push(`${t.issuedBy}${t.colon}${s.issuer}`);
  return section(
    t.signer,
    el("p", {}, el("strong", { id: "signer-name" }, name || "?"), " ", s.token ? el("span", { class: "token", id: "signer-token" }, s.token) : el("span", { class: "hint" }, `(${t.tokenUnconfirmed})`)),
    el("p", { id: "signer-trust", "data-match": s.tokenMatchesPost === null || s.tokenMatchesPost === undefined ? "none" : String(s.tokenMatchesPost) }, badge, why),
    "signedAt" in s ? el("p", { id: "signed-at" }, `${t.signedAt}${t.colon}`, s.signedAt ? el("time", { datetime: s.signedAt }, formatTime(s.signedAt)) : t.notRecordedTime) : null,
    cert.length ? el("p", { class: "hint", id: "signer-cert" }, `${t.certificate}${t.colon}${cert.join(" — ")}`) : null,
  );
}

function pledgeSection(r) {
  const t = UI[lang];
  const body = [];
  if (r.pledge) {
    body.push(el("p", {}, el("span", { class: "badge b-neutral", id: "pledge-kind" }, r.pledge.kind), t.kinds[r.pledge.kind] || r.pledge.kind));
    body.push(el("p", {}, (r.pledge.hashtags || []).join(" ")));
    if (r.pledge.statement) body.push(el("p", { class: "hint" }, msg(r.pledge.statement)));
  } else if (r.signer) {
    body.push(el("p", {}, t.noPledge));
  } else {
    return null;
  }
  return section(t.pledge, ...body);
}

function hashtagSection(r) {
  const t = UI[lang];
  if (!r.post) return section(t.hashtag, el("p", { class: "hint" }, t.noPost));
  const related = r.findings.filter((f) => f.code.startsWith("post."));
  return section(t.hashtag, el("p", {}, t.postTags(r.post.hashtags || [])), el("ul", { class: "list" }, related.map((f) => findingItem(f))));
}

function sourcesSection(r) {
  const t = UI[lang];
  if (!r.pledge) return null;
  const thumbs = r.thumbnails || {};
  const root = thumbs.claim || previewUrl;
  const sources = r.pledge.sources || [];
  const children = sources.map((s) =>
    el(
      "li",
      { class: "node" },
      thumb(thumbs[s.ingredient], s.title || s.ingredient),
      el(
        "span",
        { class: "meta" },
        el("strong", {}, s.title || s.ingredient || "?"),
        el("span", {}, t.relations[s.relation] || s.relation || ""),
        s.sha256 ? el("span", { class: "mono" }, `sha256 ${s.sha256.slice(0, 16)}…`) : null,
        s.evidence && s.evidence.text ? el("span", {}, `“${s.evidence.text}”`) : null,
      ),
    ),
  );
  const tree = el(
    "ul",
    { class: "tree", id: "source-tree" },
    el(
      "li",
      {},
      el("div", { class: "node" }, thumb(root, t.thisImage), el("span", { class: "meta" }, el("strong", {}, t.thisImage), el("span", {}, r.image))),
      children.length ? el("ul", { class: "children" }, children) : el("p", { class: "hint" }, t.t2iTree),
    ),
  );
  return section(t.sources, tree);
}

function generatorSection(r) {
  const t = UI[lang];
  if (!r.pledge) return null;
  const g = r.pledge.generator || {};
  const agent = (r.actions || []).map((a) => a.softwareAgent && a.softwareAgent.name).find((n) => n && n !== "unknown");
  const loras = (g.loras || []).map((l) => (l.weight !== undefined ? `${l.name} (${l.weight})` : l.name));
  return section(
    t.generator,
    el("p", {}, `${t.software}${t.colon}`, g.software || agent || t.notRecorded),
    el("p", {}, `${t.model}${t.colon}`, g.model || t.notRecorded),
    el("p", {}, `${t.loras}${t.colon}`, loras.length ? loras.join(", ") : t.notRecorded),
  );
}

function problemsSection(r) {
  const t = UI[lang];
  const bad = r.findings.filter((f) => (f.severity === "error" || f.severity === "warning") && !f.code.startsWith("post."));
  const order = { error: 0, warning: 1 };
  bad.sort((a, b) => order[a.severity] - order[b.severity]);
  if (!bad.length) return section(t.problems, el("p", {}, t.noProblems));
  return section(t.problems, el("ul", { class: "list", id: "problems" }, bad.map((f) => findingItem(f))));
}

function recoverySection(r) {
  const t = UI[lang];
  if (!r.recovery || !r.recovery.route) return null;
  const related = r.findings.filter((f) => f.code.startsWith("recovery."));
  const shown = { ...r.recovery, route: t.routes[r.recovery.route] || r.recovery.route };
  return section(t.recovery, el("p", {}, t.recoveredVia(shown)), el("ul", { class: "list" }, related.map((f) => findingItem(f))));
}

function evidenceSection(r) {
  const t = UI[lang];
  if (!r.evidence || !r.evidence.length) return null;
  return section(
    t.evidence,
    r.evidence.map((ev) =>
      el("div", {}, el("p", {}, msg(ev.message)), ev.similarity ? el("p", { class: "hint" }, t.similarity(ev.similarity)) : null),
    ),
  );
}

function render(r) {
  const t = UI[lang];
  // An unknown (future) verdict fails closed: shown as a problem, never as a pass.
  const [cls, icon] = VERDICT_CLASS[r.verdict] || ["v-bad", "✘"];
  neutral = cls === "v-bad";
  r = { ...r, findings: Array.isArray(r.findings) ? r.findings : [] };
  const card = $("result");
  const parts = [
    el(
      "div",
      { class: `verdict ${cls}`, id: "verdict", "data-verdict": r.verdict },
      el("span", { class: "icon", "aria-hidden": "true" }, icon),
      el(
        "div",
        {},
        el("h2", { id: "verdict-title" }, t.verdicts[r.verdict] || r.verdict),
        el("p", { id: "verdict-summary" }, msg(r.summary)),
        r.verdict === "recovered" ? el("p", { class: "verdict-note", id: "verdict-note" }, t.recoveredNote) : null,
      ),
    ),
    // when something is wrong, say what first
    cls === "v-bad" ? problemsSection(r) : null,
    signerSection(r),
    pledgeSection(r),
    hashtagSection(r),
    sourcesSection(r),
    generatorSection(r),
    cls === "v-bad" ? null : problemsSection(r),
    recoverySection(r),
    evidenceSection(r),
    el(
      "details",
      { class: "more" },
      el("summary", {}, t.allChecks),
      el("ul", { class: "list", id: "all-checks" }, r.findings.map(detailItem)),
      el("pre", {}, JSON.stringify({ ...r, thumbnails: undefined }, null, 2)),
    ),
  ];
  card.replaceChildren(...parts.filter(Boolean));
  card.hidden = false;
}

function setFile(file) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = file ? URL.createObjectURL(file) : null;
  const img = $("preview");
  img.hidden = !file;
  if (file) {
    img.src = previewUrl;
    img.alt = file.name;
  }
  $("filename").textContent = file ? file.name : "";
}

async function submit(ev) {
  ev.preventDefault();
  const file = $("image").files[0];
  if (!file) {
    setStatus("chooseFirst", true);
    return;
  }
  const fd = new FormData();
  fd.append("image", file, file.name);
  const text = $("text").value.trim();
  if (text) fd.append("text", text);
  const token = $("key_token").value.trim();
  if (token) fd.append("key_token", token);
  const against = $("against").files[0];
  if (against) fd.append("against", against, against.name);
  $("submit").disabled = true;
  setStatus("checking");
  try {
    const resp = await fetch("/api/verify?include=thumbnails", { method: "POST", body: fd });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      lastReport = null;
      $("result").hidden = true;
      setStatus(null, true, (body && body.error) || { en: `HTTP ${resp.status}`, ja: `HTTP ${resp.status}` });
      return;
    }
    lastReport = body;
    setStatus("done");
    render(body);
    $("result").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (e) {
    setStatus("network", true);
  } finally {
    $("submit").disabled = false;
  }
}

function init() {
  const drop = $("drop");
  const input = $("image");
  input.addEventListener("change", () => setFile(input.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => {
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length) {
      input.files = files;
      setFile(files[0]);
    }
  });
  $("form").addEventListener("submit", submit);
  // Whether this is a public server (what "trusted" means here).
  fetch("/api/health")
    .then((resp) => (resp.ok ? resp.json() : null))
    .then((h) => {
      publicServer = Boolean(h && h.public);
      applyLang();
    })
    .catch(() => { /* the page works without it */ });
  $("lang").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    try { localStorage.setItem("myself-i2i-lang", lang); } catch (e) { /* ignore */ }
    applyLang();
  });
  applyLang();
}

document.addEventListener("DOMContentLoaded", init);
