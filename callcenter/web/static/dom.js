// The browser module every page script imports (no page keeps its own copy): strings, DOM
// building and text escaping, the API client (fetch with the CSRF token), formatting in the
// user's language and time zone, human labels for internal codes, screen-reader
// announcements, and the header's language switch and log-out.

const STRINGS = JSON.parse(document.getElementById("page-i18n")?.textContent || "{}");
export const LANG = document.documentElement.lang || "en";
// dates and times: the user's language, the browser's (the user's) time zone
export const LOCALE = LANG === "zh-CN" ? "zh-CN" : "en-GB";
export const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** The string for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  let text = STRINGS[key];
  if (text == null) text = key;
  if (vars) for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

export function has(key) { return key in STRINGS; }

/** Build an element: `attrs` (class, on<event>, boolean and string attributes), then children
 * (strings, numbers, nodes or arrays of them; null, undefined and false are left out). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value == null) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(typeof child === "object" ? child : String(child));
  }
}

/** Replace the children of `node` (same rules as `el`). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// --- updating in place ----------------------------------------------------------------------

// attributes that name a child among its siblings, so a redraw finds the same element again
const KEYS = ["id", "data-key", "data-agent", "data-skill", "data-call", "data-state"];

function keyOf(node) {
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  for (const name of KEYS) {
    const value = node.getAttribute(name);
    if (value != null) return `${node.nodeName}|${name}=${value}`;
  }
  return null;
}

function syncAttributes(target, source) {
  for (const { name } of [...target.attributes]) if (!source.hasAttribute(name)) target.removeAttribute(name);
  for (const { name, value } of source.attributes) if (target.getAttribute(name) !== value) target.setAttribute(name, value);
}

/** Make `target` look like `source` (the same kind of node) by changing only what differs, so
 * the element that has the focus, and a screen reader's place, survive the redraw. Event
 * listeners of `source` are not copied: use it for markup whose behaviour is delegated. */
export function morph(target, source) {
  if (target.nodeType !== Node.ELEMENT_NODE) {
    if (target.nodeValue !== source.nodeValue) target.nodeValue = source.nodeValue;
    return target;
  }
  syncAttributes(target, source);
  morphChildren(target, [...source.childNodes]);
  return target;
}

/** Give `parent` the children `wanted` (nodes, not yet in the document), reusing its current
 * children: a keyed child (`id`, `data-key`, `data-agent`, …) is matched by its key, the others
 * by position and kind. */
export function morphChildren(parent, wanted) {
  const keyed = new Map();
  for (const child of parent.childNodes) { const key = keyOf(child); if (key) keyed.set(key, child); }
  let cursor = parent.firstChild;
  for (const next of wanted) {
    const key = keyOf(next);
    let match = null;
    if (key) { match = keyed.get(key) || null; keyed.delete(key); } else if (cursor && !keyOf(cursor)
      && cursor.nodeType === next.nodeType && cursor.nodeName === next.nodeName) match = cursor;
    if (!match) { parent.insertBefore(next, cursor); continue; }
    morph(match, next);
    if (match === cursor) cursor = cursor.nextSibling; else parent.insertBefore(match, cursor);
  }
  while (cursor) { const after = cursor.nextSibling; cursor.remove(); cursor = after; }
  return parent;
}

/** Like `fill`, but in place (see `morph`): for views redrawn while someone reads them. */
export function refill(node, ...children) {
  const holder = document.createElement(node.nodeName);
  append(holder, children);
  return morphChildren(node, [...holder.childNodes]);
}

/** `text` safe to put inside HTML (for the rare string that is not built with `el`). */
export function escapeText(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

let givenCsrf = "";

/** The session's CSRF token for a page that has no `<meta name="csrf-token">` (a panel
 * embedded in another page asks `/api/me` for it). */
export function useCsrfToken(token) { givenCsrf = token || ""; }

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") || givenCsrf;
}

/** Call the API; JSON in and out. A 401 goes to the log-in page; other errors throw with the
 * server's message (and its stable `error_id` as `errorId`, for a page's own wording). */
export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, options);
  if (response.status === 401) { location.href = "/login"; throw new Error(t("ui.logged_out")); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || t("ui.error.failed.title"));
    error.errorId = data.error_id || "";
    throw error;
  }
  return data;
}

/** GET `path`, or POST `body` to it. */
export function request(path, body) {
  return body === undefined ? api("GET", path) : api("POST", path, body);
}

// --- formatting ------------------------------------------------------------------------------

const formats = {
  dateTime: new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short", timeZone: TIME_ZONE }),
  date: new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeZone: TIME_ZONE }),
  day: new Intl.DateTimeFormat(LOCALE, { weekday: "short", month: "short", day: "numeric", timeZone: TIME_ZONE }),
  hour: new Intl.DateTimeFormat(LOCALE, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: TIME_ZONE }),
  time: new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: TIME_ZONE }),
};

function toDate(value) {
  if (value == null || value === "") return null;
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export const format = {
  dateTime: (v) => { const d = toDate(v); return d ? formats.dateTime.format(d) : "—"; },
  date: (v) => { const d = toDate(v); return d ? formats.date.format(d) : "—"; },
  day: (v) => { const d = toDate(v); return d ? formats.day.format(d) : "—"; },
  hour: (v) => { const d = toDate(v); return d ? formats.hour.format(d) : "—"; },
  time: (v) => { const d = toDate(v); return d ? formats.time.format(d) : "—"; },
  /** 75 → "1:15"; 3725 → "1:02:05" */
  clock(seconds) {
    if (seconds == null || Number.isNaN(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  },
  /** 42 → "42 s", 75 → "1:15" */
  wait(seconds) {
    if (seconds == null) return "—";
    return seconds < 60 ? t("ui.seconds", { n: Math.round(seconds) }) : format.clock(seconds);
  },
  /** 0.5 → "+0.50", -0.25 → "-0.25" (sentiment scores) */
  signed(value) {
    return value == null ? "—" : (value > 0 ? "+" : "") + Number(value).toFixed(2);
  },
  percent(value, digits = 1) {
    if (value == null) return "—";
    return new Intl.NumberFormat(LOCALE, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  },
  number(value, digits = 0) {
    if (value == null) return "—";
    return new Intl.NumberFormat(LOCALE, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  },
  money(cents, currency) {
    if (cents == null) return "—";
    try {
      return new Intl.NumberFormat(LOCALE, { style: "currency", currency: currency || "CNY" }).format(cents / 100);
    } catch (error) { return `${(cents / 100).toFixed(2)} ${currency || ""}`; }
  },
  /** "in 3 days" / "2 hours ago" */
  relative(value) {
    const d = toDate(value);
    if (!d) return "—";
    const diff = (d.getTime() - Date.now()) / 1000;
    const rtf = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });
    const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) if (Math.abs(diff) >= size) return rtf.format(Math.round(diff / size), unit);
    return rtf.format(Math.round(diff), "second");
  },
};

// --- date inputs ----------------------------------------------------------------------------
// A native date input draws its value in the browser's own format, whatever the page's
// language; these fields are text typed in the page's format (the one `format` shows dates in),
// which their label names, read in the user's time zone.

const fieldFormats = {
  date: new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "2-digit", day: "2-digit", timeZone: TIME_ZONE }),
  dateTime: new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23", timeZone: TIME_ZONE }),
};
const PLACEHOLDERS = { year: "yyyy", month: "mm", day: "dd", hour: "hh", minute: "mm" };

function fieldParts(withTime) {
  return (withTime ? fieldFormats.dateTime : fieldFormats.date).formatToParts(new Date(2006, 10, 22, 13, 45));
}

export const dateField = {
  /** "dd/mm/yyyy" (en) or "yyyy/mm/dd" (zh-CN), with ", hh:mm" or " hh:mm" when `withTime`. */
  pattern(withTime = false) {
    return fieldParts(withTime).map((p) => PLACEHOLDERS[p.type] ?? p.value).join("");
  },
  /** `date` (a Date, an ISO string or epoch seconds) as the field shows it; "" when none. */
  format(value, withTime = false) {
    const date = toDate(value);
    return date ? (withTime ? fieldFormats.dateTime : fieldFormats.date).format(date) : "";
  },
  /** The instant a field's text names (in the user's time zone); null when it names none.
   * An ISO "yyyy-mm-dd[Thh:mm]" is taken as well. */
  parse(text, withTime = false) {
    const numbers = String(text ?? "").match(/\d+/g);
    if (!numbers) return null;
    const order = /^\s*\d{4}-/.test(text) ? ["year", "month", "day", "hour", "minute"]
      : fieldParts(withTime).map((p) => p.type).filter((type) => type in PLACEHOLDERS);
    const got = { hour: 0, minute: 0 };
    order.forEach((type, i) => { if (numbers[i] != null) got[type] = Number(numbers[i]); });
    if (numbers.length > order.length || [got.year, got.month, got.day].includes(undefined)) return null;
    const date = new Date(got.year, got.month - 1, got.day, got.hour, got.minute);
    const same = date.getFullYear() === got.year && date.getMonth() === got.month - 1 && date.getDate() === got.day
      && date.getHours() === got.hour && date.getMinutes() === got.minute;
    return same && got.year >= 1000 ? date : null;
  },
};

/** A labelled text field for a date (or a date and time, `withTime`) in the page's format: the
 * label names the format and the time zone; a value that is not a date is refused by the form.
 * Read it with `dateField.parse(input.value, withTime)`. */
export function dateInput({ id, name, text, value = null, withTime = false, required = false }) {
  const pattern = dateField.pattern(withTime);
  const input = el("input", { id, name, type: "text", value: dateField.format(value, withTime), required,
    placeholder: pattern, autocomplete: "off", inputmode: "numeric", "data-date-field": withTime ? "datetime" : "date" });
  const check = () => input.setCustomValidity(input.value.trim() === "" || dateField.parse(input.value, withTime)
    ? "" : t("ui.date.invalid", { pattern }));
  input.addEventListener("input", check);
  return el("label", { for: id, class: "date-field" }, text,
    el("span", { class: "input-hint" }, t("ui.date.format", { pattern, zone: TIME_ZONE })), input);
}

// --- labels for codes ------------------------------------------------------------------------

/** A code as people read it: `label("ivr", "main_menu")` → "Main menu" (from the catalogue
 * `code.ivr.main_menu`, else the code made readable). */
export function label(kind, code) {
  if (code == null || code === "") return "—";
  const key = `code.${kind}.${code}`;
  if (key in STRINGS) return STRINGS[key];
  const words = String(code).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// --- announcements ---------------------------------------------------------------------------

/** Say `text` to screen readers (polite), or at once when `urgent`. */
export function announce(text, urgent = false) {
  const box = document.getElementById(urgent ? "alerter" : "announcer");
  if (!box) return;
  box.textContent = "";
  setTimeout(() => { box.textContent = text; }, 50);
}

// --- the header ------------------------------------------------------------------------------

function header() {
  const select = document.getElementById("language-switch");
  if (select && !select.dataset.bound) {
    select.dataset.bound = "true";
    select.addEventListener("change", async () => {
      try {
        await api("POST", "/api/me/language", { language: select.value });
        location.reload();
      } catch (error) { announce(error.message, true); }
    });
  }
  const logout = document.getElementById("logout");
  if (logout && !logout.dataset.bound) {
    logout.dataset.bound = "true";
    logout.addEventListener("click", async () => {
      try { await api("POST", "/logout", {}); } catch (error) { /* the session is gone anyway */ }
      location.href = "/login";
    });
  }
}

header();
