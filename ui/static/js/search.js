// Searching messages: the search dialog (the header's magnifier, or Ctrl+Shift+F), its
// results newest first, "More results", and opening a result: its conversation at that
// message, highlighted. The server matches (docs/protocol.md, "Search"); this module only
// asks, shows and marks the typed words in what came back.

import { h, icon } from "./dom.js";
import { formatFull, t, tn } from "./i18n.js";
import { errorText } from "./notices.js";
import * as state from "./state.js";

const DEBOUNCE_MS = 250;
const PAGE = 20;

const $ = (id) => document.getElementById(id);
const ui = {
  dialog: $("search"), form: $("search-form"), input: $("search-input"), here: $("search-here"),
  hereLabel: $("search-here-label"), results: $("search-results"), status: $("search-status"),
  more: $("search-more"), button: $("search-button"),
};
let openConversation = () => {};
let showMessage = () => {};
let timer = null;
let asked = null; // {q, scope, before}: the request whose answer is awaited
let shown = []; // the results on screen, newest first

function scope() {
  const conv = state.active();
  if (!ui.here.checked || !conv) return {};
  return conv.kind === "room" ? { room: conv.name } : { with: conv.name };
}

function ask(before = null) {
  const q = ui.input.value.trim();
  clearTimeout(timer);
  if (!q) {
    asked = null;
    shown = [];
    ui.results.replaceChildren();
    ui.status.textContent = "";
    ui.more.hidden = true;
    return;
  }
  const frame = { type: "search", q, limit: PAGE, ...scope() };
  if (before !== null) frame.before = before;
  if (!state.sendFrame(frame)) {
    ui.status.textContent = t("Not connected. Try again in a moment.");
    return;
  }
  asked = { q, before, scope: JSON.stringify(scope()) };
  ui.status.textContent = t("Searching…");
}

function answered(frame) {
  if (!asked || frame.q !== asked.q || (frame.before ?? null) !== asked.before) return; // stale
  shown = asked.before === null ? frame.results : [...shown, ...frame.results];
  if (asked.before === null) ui.results.replaceChildren();
  ui.results.append(...frame.results.map(resultItem));
  ui.more.hidden = !frame.has_more;
  ui.status.textContent = shown.length
    ? tn("{n} message found", "{n} messages found", shown.length) + (frame.has_more ? "+" : "")
    : t("Nothing found.");
  asked = null;
}

function failed(frame) {
  asked = null;
  ui.status.textContent = frame.code === "bad_query"
    ? t("That search cannot be run: type at least one word, up to 12 words and 256 characters.")
    : errorText(frame);
}

/** The words typed (filters left out), to mark in each result. */
function typedWords() {
  return ui.input.value.split(/\s+/)
    .filter((word) => word && !/^(from|in):/i.test(word))
    .map((word) => word.replace(/^["#@]+|["*]+$/g, "").toLocaleLowerCase())
    .filter(Boolean);
}

/** ``text`` as text nodes, each word that starts with a typed word inside a <mark>. */
function marked(text) {
  const words = typedWords();
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const lower = match[0].toLocaleLowerCase();
    if (!words.some((word) => lower.startsWith(word))) continue;
    parts.push(text.slice(last, match.index), h("mark", { text: match[0] }));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

function where(message) {
  if (message.room !== undefined && message.room !== null) return { kind: "room", name: message.room };
  return { kind: "dm", name: message.from === state.myName() ? message.to : message.from };
}

function resultItem(message) {
  const place = where(message);
  const ts = new Date(message.ts);
  const label = place.kind === "room" ? `#${place.name}` : place.name;
  return h("li", {},
    h("button", { type: "button", class: "search-result", dataset: { id: message.id }, on: { click: () => choose(message) } },
      h("span", { class: "search-where" },
        place.kind === "room" ? icon("hash", "conv-icon") : icon("users", "conv-icon"),
        h("span", { dir: "auto", text: place.kind === "room" ? place.name : label }),
        h("span", { class: "author", dir: "auto", text: message.user }),
        h("time", { datetime: message.ts, text: formatFull(ts) })),
      h("span", { class: "search-body", dir: "auto" }, ...marked(message.body))));
}

function choose(message) {
  const place = where(message);
  ui.dialog.close();
  const conv = state.conversation(place.kind, place.name);
  openConversation(conv.key);
  showMessage(conv, message.id);
}

export function show() {
  if (ui.dialog.open) return;
  const conv = state.active();
  ui.here.parentElement.hidden = !conv;
  if (conv) {
    ui.hereLabel.textContent = conv.kind === "room"
      ? t("Only in #{room}", { room: conv.name })
      : t("Only with {user}", { user: conv.name });
  }
  ui.dialog.showModal();
  ui.input.focus();
  ui.input.select();
}

/** ``open(key)`` opens a conversation; ``showMessage(conv, id)`` shows one of its messages. */
export function init(options) {
  openConversation = options.open;
  showMessage = options.showMessage;
  state.on("search-results", answered);
  state.on("search-error", failed);
  ui.button.addEventListener("click", show);
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  ui.input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => ask(), DEBOUNCE_MS);
  });
  ui.here.addEventListener("change", () => ask());
  ui.more.addEventListener("click", () => {
    if (shown.length) ask(shown[shown.length - 1].id);
  });
  // Click outside the box closes it, as the quick switcher does.
  ui.dialog.addEventListener("click", (event) => { if (event.target === ui.dialog) ui.dialog.close(); });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === "f") {
      event.preventDefault();
      show();
    }
  });
}
