// The configured pause reasons (/api/pause-reasons, from config/pause_reasons.yaml) and their
// labels in the page's language; the server's own reasons (missed, login…) keep the labels of
// the locale catalogue.

import { LANG, api, label } from "./dom.js";

let labels = {};
let reasons = [];

/** Fetch the configured reasons once; returns them ({code, label: {en, "zh-CN"}}). */
export async function loadPauseReasons() {
  const data = await api("GET", "/api/pause-reasons");
  reasons = data.reasons || [];
  labels = Object.fromEntries(reasons.map((r) => [r.code, r.label[LANG] || r.label.en]));
  return reasons;
}

/** The label of a pause reason, configured or the server's own. */
export function reasonLabel(code) {
  return labels[code] || label("reason", code);
}
