// Knowledge-base panel of the agent console (/agent). Renders into <section id="kb-panel">,
// suggests articles when a call pops ("callcenter:pop", detail = the pop JSON) and lets the
// agent search. Opening an article is recorded server-side (article_views) with the call id,
// so suggestions can be judged. Article HTML comes from the server's safe Markdown renderer;
// everything else is set as text.

import { el, request as api, useCsrfToken } from "./dom.js";

const state = { callId: null, t: {}, lastList: null, ended: false };

function t(key) { return state.t[key] || key; }

// the call as the pop names it: calls.id or linkedid (the server resolves either)
function callRef(value) {
  return Number.isInteger(value) || (typeof value === "string" && value.length <= 64) ? value : null;
}

function parts(root) {
  return {
    status: root.querySelector(".kb-status"),
    list: root.querySelector(".kb-list"),
    article: root.querySelector(".kb-article"),
    reasons: root.querySelector(".kb-reasons"),
    heading: root.querySelector(".kb-list-heading"),
  };
}

function showList(root, heading, articles, source, reasons = []) {
  const p = parts(root);
  state.lastList = { heading, articles, source, reasons };
  p.article.hidden = true;
  p.article.replaceChildren();
  p.list.hidden = false;
  p.heading.textContent = heading;
  p.reasons.textContent = reasons.length ? `${t("kb.panel.because")}: ${reasons.join(" · ")}` : "";
  const items = articles.map((a) => el("li", { class: "kb-item" },
    el("button", { type: "button", class: "kb-open", "data-id": String(a.id),
      onclick: () => openArticle(root, a.id, source) }, a.title),
    el("p", { class: "kb-snippet" }, a.snippet || "")));
  p.list.replaceChildren(...(items.length ? items : [el("li", { class: "kb-empty" },
    source === "suggestion" ? t("kb.panel.none") : t("kb.panel.no_results"))]));
}

async function openArticle(root, id, source) {
  const p = parts(root);
  try {
    const article = await api(`/api/kb/articles/${encodeURIComponent(id)}/views`,
      { call_id: state.callId, source });
    const body = el("div", { class: "kb-body" });
    body.innerHTML = article.html; // server-rendered safe subset (escaped, http(s) links only)
    for (const link of body.querySelectorAll("a")) link.setAttribute("target", "_blank");
    p.article.replaceChildren(
      el("button", { type: "button", class: "kb-back", onclick: () => backToList(root) }, t("kb.panel.back")),
      el("h3", {}, article.title),
      el("p", { class: "kb-meta" }, `${t("kb.panel.version")} ${article.version}`),
      body);
    p.list.hidden = true;
    p.article.hidden = false;
    p.status.textContent = "";
  } catch (error) {
    p.status.textContent = t("kb.panel.error");
  }
}

function backToList(root) {
  const last = state.lastList;
  if (last) showList(root, last.heading, last.articles, last.source, last.reasons);
}

async function suggestFor(root, pop) {
  const p = parts(root);
  state.callId = callRef(pop && pop.call_id);
  state.ended = false;
  root.classList.remove("kb-ended");
  try {
    const result = await api("/api/kb/suggest", pop && typeof pop === "object" ? pop : {});
    showList(root, t("kb.panel.suggested"), result.articles || [], "suggestion", result.reasons || []);
    p.status.textContent = "";
  } catch (error) {
    p.status.textContent = t("kb.panel.error");
  }
}

async function search(root, query) {
  const p = parts(root);
  const q = query.trim();
  if (!q) return;
  try {
    const result = await api(`/api/kb/search?q=${encodeURIComponent(q)}`);
    showList(root, `${t("kb.panel.search")}: ${q}`, result.articles || [], "search");
    p.status.textContent = "";
  } catch (error) {
    p.status.textContent = t("kb.panel.error");
  }
}

function clear(root) {
  state.callId = null;
  state.ended = false;
  state.lastList = null;
  root.classList.remove("kb-ended");
  const p = parts(root);
  p.article.hidden = true;
  p.article.replaceChildren();
  p.list.hidden = false;
  p.heading.textContent = t("kb.panel.suggested");
  p.reasons.textContent = "";
  p.list.replaceChildren(el("li", { class: "kb-empty" }, t("kb.panel.none")));
}

function build(root) {
  const input = el("input", { type: "search", class: "kb-q", maxlength: "200",
    "aria-label": t("kb.panel.search"), placeholder: t("kb.panel.search") });
  const form = el("form", { class: "kb-search", role: "search" }, input,
    el("button", { type: "submit" }, t("kb.panel.search_button")));
  form.addEventListener("submit", (event) => { event.preventDefault(); search(root, input.value); });
  root.replaceChildren(
    el("h2", { id: "kb-panel-title" }, t("kb.panel.title")), form,
    el("p", { class: "kb-status", role: "status" }),
    el("h3", { class: "kb-list-heading" }, t("kb.panel.suggested")),
    el("p", { class: "kb-reasons" }),
    el("ul", { class: "kb-list" }, el("li", { class: "kb-empty" }, t("kb.panel.none"))),
    el("article", { class: "kb-article", hidden: "" }));
}

async function start() {
  const root = document.getElementById("kb-panel");
  if (!root) return;
  root.classList.add("kb-panel");
  try {
    const [me, strings] = await Promise.all([api("/api/me"), api("/api/kb/i18n")]);
    useCsrfToken(me.csrf_token);
    state.t = strings.strings || {};
  } catch (error) {
    // not logged in or server down: still render, calls will report the error
  }
  build(root);
  document.addEventListener("callcenter:pop", (event) => suggestFor(root, event.detail));
  // the call is wrapped up: its suggestions leave with its pop
  document.addEventListener("callcenter:pop-cleared", () => clear(root));
  document.addEventListener("callcenter:call-ended", (event) => {
    const ended = callRef(event.detail && event.detail.call_id);
    if (ended === null || String(ended) === String(state.callId)) {
      state.ended = true;
      root.classList.add("kb-ended"); // views during wrap-up still count for that call
    }
  });
  root.dataset.ready = "true";
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
