// myself_i2i studio: plain JavaScript, nothing loaded from elsewhere.
// Every value from the server is inserted with textContent (never innerHTML).
"use strict";

const UI = {
  en: {
    title: "myself_i2i studio",
    intro: "Protect your drawings, give signed permission, and sign your AI images — on this computer only.",
    idTitle: "Your identity", idName: "Name", idToken: "Key token",
    idNewName: "Your name or @handle", idCreate: "Create my identity",
    idNone: "No identity yet: create one to start.", idCreated: "Identity created.",
    passLabel: "Passphrase of your key",
    protTitle: "1. Protect my drawings",
    protHint: "Signs each drawing as your own work, not for i2i without your permission, and publishes it so the statement survives X's re-encoding. Post the protected copy.",
    dropTitle: "Drop pictures here", dropHint: "or click to choose (PNG, JPEG, WebP)",
    contact: "Where to ask you for permission (optional)", protBtn: "Protect",
    protDone: (n) => `Protected ${n} picture(s). Download and post the protected copies:`,
    grantTitle: "2. Give permission (grant)",
    grantHint: "Makes a small file signed with your key that lets one person's key token use one picture for i2i. Send it to them.",
    grantArtwork: "Your (protected) picture", grantTo: "Their key token",
    grantUntil: "Valid until (optional)", grantNote: "Note (optional)", grantBtn: "Make the grant",
    grantDone: (t) => `Grant made for ${t}. Download it and send it to them:`,
    srcTitle: "3. Register my own sources",
    srcHint: "Pictures you drew, photographed or generated yourself, which you may use for i2i.",
    srcRelation: "They are", relDrawing: "my drawings", relPhoto: "my photos", relGen: "my own generations",
    srcBtn: "Register", srcDone: (a, b) => `Registered ${a}, already registered ${b}.`,
    signTitle: "4. Sign a generated image",
    signHint: "Puts the #Myself_i2i pledge into your AI image. Refused when a source is not yours or permitted.",
    signImage: "The generated image", signT2i: "Made from text only (t2i)",
    signSources: "i2i source images", signGrants: "Grants from the artists (.grant)", signBtn: "Sign",
    signDone: (k) => `Signed (${k}). Download the signed image:`,
    privacy: "This page runs on your computer (127.0.0.1) with your own key; nothing is sent elsewhere.",
    working: "Working…", chooseFirst: "Choose a file first.", network: "Could not reach the studio.",
    switchTo: "日本語",
  },
  ja: {
    title: "myself_i2i スタジオ",
    intro: "自分の絵を保護し、署名付きの許可を出し、AI 画像に署名します。すべてこのパソコンの中で行います。",
    idTitle: "あなたの ID", idName: "名前", idToken: "キートークン",
    idNewName: "名前または @ハンドル", idCreate: "ID を作成",
    idNone: "ID がまだありません。作成してください。", idCreated: "ID を作成しました。",
    passLabel: "鍵のパスフレーズ",
    protTitle: "1. 自分の絵を保護する",
    protHint: "絵を自分の作品として署名し、許可なく i2i に使わないよう求めます。X の再エンコード後も分かるよう公開します。保護したコピーを投稿してください。",
    dropTitle: "ここに画像をドロップ", dropHint: "またはクリックして選択（PNG・JPEG・WebP）",
    contact: "許可の依頼先（任意）", protBtn: "保護する",
    protDone: (n) => `${n} 枚を保護しました。保護したコピーをダウンロードして投稿してください：`,
    grantTitle: "2. 許可を出す（許可証）",
    grantHint: "あなたの鍵で署名した小さなファイルで、特定の人のキートークンに 1 枚の絵の i2i 利用を許可します。相手に送ってください。",
    grantArtwork: "あなたの（保護した）絵", grantTo: "相手のキートークン",
    grantUntil: "有効期限（任意）", grantNote: "メモ（任意）", grantBtn: "許可証を作る",
    grantDone: (t) => `${t} への許可証を作りました。ダウンロードして相手に送ってください：`,
    srcTitle: "3. 自分の素材を登録",
    srcHint: "自分で描いた・撮った・生成した、i2i に使ってよい画像です。",
    srcRelation: "種類", relDrawing: "自分の絵", relPhoto: "自分の写真", relGen: "自分の生成画像",
    srcBtn: "登録", srcDone: (a, b) => `${a} 件登録、${b} 件は登録済みでした。`,
    signTitle: "4. 生成画像に署名",
    signHint: "AI 画像に #Myself_i2i の宣言を署名します。自分のもの・許可済みでない素材があれば拒否されます。",
    signImage: "生成した画像", signT2i: "テキストのみで生成（t2i）",
    signSources: "i2i の素材画像", signGrants: "作者からの許可証（.grant）", signBtn: "署名",
    signDone: (k) => `署名しました（${k}）。署名済み画像をダウンロード：`,
    privacy: "このページはあなたのパソコン（127.0.0.1）上で、あなたの鍵を使って動きます。外部には何も送りません。",
    working: "処理中…", chooseFirst: "先にファイルを選んでください。", network: "スタジオに接続できません。",
    switchTo: "English",
  },
};

let lang = (localStorage.getItem("studio-lang") || (navigator.language || "en")).startsWith("ja") ? "ja" : "en";
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);

function t(key, ...args) {
  const v = UI[lang][key];
  return typeof v === "function" ? v(...args) : v;
}

function applyLang() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").textContent = t("switchTo");
}

function say(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.className = "msg" + (kind ? " " + kind : "");
}

function errorText(body) {
  const e = body && body.error;
  if (e && typeof e === "object") return e[lang] || e.en || "";
  if (body && body.detail) return JSON.stringify(body.detail);
  return t("network");
}

async function post(url, form) {
  const resp = await fetch(url, { method: "POST", body: form, headers: { "X-CSRF-Token": CSRF } });
  let body = null;
  try { body = await resp.json(); } catch (_) { body = null; }
  if (!resp.ok) throw new Error(errorText(body));
  return body;
}

function links(listId, results) {
  const ul = $(listId);
  ul.replaceChildren();
  for (const r of results) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = r.url;
    a.download = r.name;
    a.textContent = r.name;
    a.className = "download";
    li.appendChild(a);
    ul.appendChild(li);
  }
}

async function loadIdentity() {
  const resp = await fetch("/api/identity");
  const id = await resp.json();
  $("id-show").hidden = !id.exists;
  $("id-form").hidden = id.exists;
  $("pass-row").hidden = !id.encrypted;
  if (id.exists) {
    $("id-name").textContent = id.name;
    $("id-token").textContent = id.token;
    say("id-msg", "");
  } else {
    say("id-msg", t("idNone"));
  }
}

function wire(formId, msgId, handler) {
  $(formId).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(msgId, t("working"));
    try {
      const form = new FormData($(formId));
      if ($("passphrase").value) form.append("passphrase", $("passphrase").value);
      await handler(form);
    } catch (err) {
      say(msgId, err.message || t("network"), "error");
    }
  });
}

function setupDrop() {
  const drop = $("protect-drop");
  const input = $("protect-files");
  const show = () => { $("protect-names").textContent = [...input.files].map((f) => f.name).join(", "); };
  input.addEventListener("change", show);
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    input.files = ev.dataTransfer.files;
    show();
  });
}

function hasFile(form, name) {
  return form.getAll(name).some((f) => f && f.size > 0);
}

function dropEmpty(form, name) {
  const kept = form.getAll(name).filter((f) => f && f.size > 0);
  form.delete(name);
  for (const f of kept) form.append(name, f);
}

document.addEventListener("DOMContentLoaded", () => {
  applyLang();
  $("lang").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    localStorage.setItem("studio-lang", lang);
    applyLang();
    loadIdentity();
  });
  setupDrop();
  loadIdentity();
  wire("id-form", "id-msg", async (form) => {
    await post("/api/identity", form);
    await loadIdentity();
    say("id-msg", t("idCreated"), "ok");
  });
  wire("protect-form", "protect-msg", async (form) => {
    if (!hasFile(form, "files")) throw new Error(t("chooseFirst"));
    const body = await post("/api/protect", form);
    say("protect-msg", t("protDone", body.results.length), "ok");
    links("protect-results", body.results);
  });
  wire("permit-form", "permit-msg", async (form) => {
    if (!hasFile(form, "artwork")) throw new Error(t("chooseFirst"));
    const body = await post("/api/permit", form);
    say("permit-msg", t("grantDone", body.grant.grantee.token), "ok");
    links("permit-results", [body.result]);
  });
  wire("sources-form", "sources-msg", async (form) => {
    if (!hasFile(form, "files")) throw new Error(t("chooseFirst"));
    const body = await post("/api/sources", form);
    say("sources-msg", t("srcDone", body.added, body.already), "ok");
  });
  wire("sign-form", "sign-msg", async (form) => {
    if (!hasFile(form, "image")) throw new Error(t("chooseFirst"));
    dropEmpty(form, "sources");
    dropEmpty(form, "grants");
    if (!$("sign-t2i").checked) form.delete("t2i");
    const body = await post("/api/sign", form);
    const srcs = body.sources.map((s) => `${s.title}: ${s.relation}`).join(", ");
    say("sign-msg", t("signDone", body.kind) + (srcs ? "\n" + srcs : ""), "ok");
    links("sign-results", [body.result]);
  });
});
