// /kb: article management for supervisors and admins (list, create, edit, preview, publish,
// version history, open rates of suggestions), through /api/kb. No inline HTML from data:
// everything is built with DOM calls; previews are the server's safe Markdown rendering.

import { api, el, format, label, t } from "./dom.js";

const state = { editing: null };

const labels = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const main = document.getElementById("kb-admin");
const listBox = el("section", { class: "kb-list-box" });
const editorBox = el("section", { class: "kb-editor", hidden: true });
const statsBox = el("section", { class: "kb-stats" });
const message = el("p", { class: "kb-message", role: "status" });

async function loadList() {
  const language = document.getElementById("kb-filter-language").value;
  const status = document.getElementById("kb-filter-status").value;
  const query = new URLSearchParams();
  if (language) query.set("language", language);
  if (status) query.set("status", status);
  const { articles } = await api("GET", `/api/kb/articles?${query}`);
  const rows = articles.map((a) => el("tr", { "data-id": a.id },
    el("td", {}, a.title), el("td", {}, label("lang", a.language)),
    el("td", { class: `kb-status-${a.status}` }, t(`kb.admin.status_${a.status}`)),
    el("td", {}, a.version), el("td", {}, format.dateTime(a.updated_at)),
    el("td", {}, el("button", { type: "button", class: "kb-edit button-quiet", "aria-label": `${t("kb.admin.edit")}: ${a.title}`,
      onclick: () => edit(a.id) }, t("kb.admin.edit")))));
  listBox.querySelector("tbody").replaceChildren(...rows);
}

function field(id, label, input) {
  input.id = id;
  return el("label", { for: id }, label, input);
}

function buildEditor() {
  const form = el("form", { class: "kb-form" },
    field("kb-slug", t("kb.admin.slug"), el("input", { required: true, maxlength: 80, pattern: "[a-z0-9][a-z0-9-]*" })),
    field("kb-language", t("kb.admin.col_language"), el("select", {}, el("option", { value: "en" }, label("lang", "en")),
      el("option", { value: "zh-CN" }, label("lang", "zh-CN")))),
    field("kb-title", t("kb.admin.field_title"), el("input", { required: true, maxlength: 200 })),
    field("kb-tags", t("kb.admin.tags"), el("input", {})),
    field("kb-skills", t("kb.admin.skills"), el("input", {})),
    field("kb-categories", t("kb.admin.categories"), el("input", {})),
    field("kb-body", t("kb.admin.body"), el("textarea", { rows: 14, required: true })),
    el("div", { class: "kb-actions" },
      el("button", { type: "submit", id: "kb-save" }, t("kb.admin.save")),
      el("button", { type: "button", id: "kb-preview-button", onclick: preview }, t("kb.admin.preview")),
      el("button", { type: "button", id: "kb-publish", onclick: togglePublish }, t("kb.admin.publish")),
      el("button", { type: "button", id: "kb-close", onclick: () => { editorBox.hidden = true; } }, t("kb.admin.cancel"))));
  form.addEventListener("submit", (event) => { event.preventDefault(); save(); });
  editorBox.replaceChildren(form, el("div", { class: "kb-preview", id: "kb-preview" }),
    el("h2", {}, t("kb.admin.history")), el("ol", { class: "kb-history", id: "kb-history" }));
}

const value = (id) => document.getElementById(id).value;

function fill(article) {
  document.getElementById("kb-slug").value = article.slug || "";
  document.getElementById("kb-language").value = article.language || "en";
  document.getElementById("kb-title").value = article.title || "";
  document.getElementById("kb-tags").value = (article.tags || []).join(", ");
  document.getElementById("kb-skills").value = (article.skills || []).join(", ");
  document.getElementById("kb-categories").value = (article.categories || []).join(", ");
  document.getElementById("kb-body").value = article.body_md || "";
}

function showEditor(article) {
  state.editing = article;
  fill(article || {});
  const publish = document.getElementById("kb-publish");
  publish.hidden = !article;
  publish.textContent = article && article.status === "published" ? t("kb.admin.unpublish") : t("kb.admin.publish");
  document.getElementById("kb-preview").replaceChildren();
  document.getElementById("kb-history").replaceChildren();
  editorBox.hidden = false;
  editorBox.scrollIntoView({ block: "start" });
}

async function edit(id) {
  try {
    const article = await api("GET", `/api/kb/articles/${id}`);
    showEditor(article);
    const { versions } = await api("GET", `/api/kb/articles/${id}/versions`);
    document.getElementById("kb-history").replaceChildren(...versions.map((v) => el("li", {},
      `v${v.version} · ${t(`kb.admin.status_${v.status}`)} · ${v.title} · ${t("kb.admin.edited_by")} ${v.edited_by} · ${format.dateTime(v.edited_at)} `,
      el("button", { type: "button", class: "kb-restore", onclick: () => fill({ ...state.editing, ...v }) }, t("kb.admin.restore")))));
  } catch (error) { message.textContent = error.message; }
}

function payload() {
  return { slug: value("kb-slug"), language: value("kb-language"), title: value("kb-title"),
    body_md: value("kb-body"), tags: labels(value("kb-tags")), skills: labels(value("kb-skills")),
    categories: labels(value("kb-categories")) };
}

async function save() {
  try {
    const article = state.editing
      ? await api("PUT", `/api/kb/articles/${state.editing.id}`, { ...payload(), expected_version: state.editing.version })
      : await api("POST", "/api/kb/articles", payload());
    message.textContent = t("kb.admin.saved");
    await loadList();
    await edit(article.id);
  } catch (error) { message.textContent = error.message; }
}

async function togglePublish() {
  if (!state.editing) return;
  const status = state.editing.status === "published" ? "draft" : "published";
  try {
    await api("POST", `/api/kb/articles/${state.editing.id}/status`, { status });
    await loadList();
    await edit(state.editing.id);
  } catch (error) { message.textContent = error.message; }
}

async function preview() {
  try {
    const { html } = await api("POST", "/api/kb/preview", { body_md: value("kb-body") });
    document.getElementById("kb-preview").innerHTML = html; // server-escaped safe subset
  } catch (error) { message.textContent = error.message; }
}

async function loadStats() {
  const { articles } = await api("GET", "/api/kb/suggestions/stats");
  statsBox.replaceChildren(el("h2", {}, t("kb.admin.open_rates")), el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("kb.admin.open_rates") }, el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, t("kb.admin.col_title")), el("th", {}, t("kb.admin.suggested")),
      el("th", {}, t("kb.admin.opened")), el("th", {}, t("kb.admin.open_rate")))),
    el("tbody", {}, ...articles.map((a) => el("tr", {}, el("td", {}, `${a.title} (${a.language})`),
      el("td", {}, a.suggested), el("td", {}, a.opened),
      el("td", {}, a.open_rate == null ? "—" : `${Math.round(a.open_rate * 100)}%`)))))));
}

async function start() {
  const filters = el("div", { class: "kb-filters" },
    field("kb-filter-language", t("kb.admin.filter_language"), el("select", { onchange: loadList },
      el("option", { value: "" }, t("kb.admin.all")), el("option", { value: "en" }, label("lang", "en")),
      el("option", { value: "zh-CN" }, label("lang", "zh-CN")))),
    field("kb-filter-status", t("kb.admin.filter_status"), el("select", { onchange: loadList },
      el("option", { value: "" }, t("kb.admin.all")),
      el("option", { value: "draft" }, t("kb.admin.status_draft")),
      el("option", { value: "published" }, t("kb.admin.status_published")))),
    el("button", { type: "button", id: "kb-new", onclick: () => showEditor(null) }, t("kb.admin.new")));
  listBox.replaceChildren(filters, el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("kb.title") }, el("table", { class: "kb-table" },
    el("thead", {}, el("tr", {}, ...["col_title", "col_language", "col_status", "col_version", "col_updated"]
      .map((k) => el("th", { scope: "col" }, t(`kb.admin.${k}`))), el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, t("kb.admin.edit"))))),
    el("tbody", {}))));
  buildEditor();
  main.replaceChildren(message, listBox, editorBox, statsBox);
  await loadList();
  await loadStats();
  main.dataset.ready = "true";
}

start().catch((error) => { message.textContent = error.message; main.append(message); });
