// The composer: Enter sends, Shift+Enter starts a new line, "/pm USER TEXT" sends a direct
// message (as in the tutorial), and typing tells the others at most every few seconds. Each
// conversation keeps its own draft (kept across reloads too), and the server's length limit is
// shown as a counter near it: text over it is refused in words, never cut.

import { t, tn } from "./i18n.js";
import { errorText } from "./notices.js";
import { outbox } from "./outgoing.js";
import * as state from "./state.js";

const TYPING_SEND_EVERY_MS = 3000;
const COUNT_FROM = 0.9; // show the counter from 90 % of the limit
const DRAFTS = "deskchat.drafts";

const $ = (id) => document.getElementById(id);
const ui = { form: $("composer"), input: $("composer-input"), count: $("composer-count"), error: $("composer-error") };
let openDm = () => false;
let lastTypingSent = 0;
let tooLong = false; // the error shown is "over the limit": it goes once the text fits
let draftKey = null; // the conversation whose draft is in the box
const drafts = loadDrafts();

function parsePm(text) {
  if (!(text.startsWith("/pm ") || text === "/pm")) return null;
  const rest = text.slice(3).trim();
  const space = rest.search(/\s/);
  if (space < 0) return { user: rest, body: "" };
  return { user: rest.slice(0, space), body: rest.slice(space).trim() };
}

/** Characters as the server counts them (code points, not UTF-16 units). */
const length = (text) => Array.from(text.trim()).length;

function showError(text) {
  if (!text) tooLong = false;
  ui.error.textContent = text;
  ui.input.setAttribute("aria-invalid", text ? "true" : "false");
}

function clearBox() {
  ui.input.value = "";
  saveDraft();
  lastTypingSent = 0; // the next keystroke starts a new "is typing" notice
  resize();
  updateCount();
}

function sendFromComposer() {
  const text = ui.input.value.trim();
  const conv = state.active();
  if (!text || !conv) return;
  const max = state.getLimits().max_body_chars;
  const pm = parsePm(text);
  const body = pm ? pm.body : text;
  if (length(body) > max) {
    tooLong = true;
    const over = length(body) - max;
    return showError(tn(
      "This message is {n} character over the limit of {max}. Shorten it or send it in parts.",
      "This message is {n} characters over the limit of {max}. Shorten it or send it in parts.",
      over, { max },
    ));
  }
  showError("");
  if (pm) {
    if (!pm.user || !pm.body) return showError(t("Usage: /pm USER TEXT"));
    if (pm.user === state.myName()) return showError(t("You cannot send a direct message to yourself."));
    // A name the page does not know is checked first; the text stays here until it is.
    const from = conv.key;
    if (!openDm(pm.user, { origin: "composer", body: pm.body, from, text })) {
      return showError(t("Not connected: your message is still here. Try again in a moment."));
    }
    if (state.getConv(state.dmKey(pm.user))?.opening) return; // waiting for the server
    clearDraft(from);
    return;
  }
  clearBox();
  outbox.add(conv, ownMessage(body));
}

let ownMessage = () => null;

function clearDraft(key) {
  delete drafts[key];
  persistDrafts();
  if (draftKey === key) clearBox();
}

function sendTyping() {
  const conv = state.active();
  const text = ui.input.value;
  if (!conv || !text.trim() || text.startsWith("/")) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_SEND_EVERY_MS) return;
  if (conv.kind === "dm" && !conv.member) return; // no message yet: stay quiet
  lastTypingSent = now;
  state.sendFrame({ type: "typing", ...state.target(conv) });
}

function resize() {
  // CSSOM writes are allowed by the page's CSP (only style attributes in markup are not).
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
}

/** The counter: hidden well below the limit, "n / max" near it, in words over it. */
function updateCount() {
  const max = state.getLimits().max_body_chars;
  const n = length(ui.input.value);
  const over = n > max;
  ui.count.hidden = n < max * COUNT_FROM;
  ui.count.classList.toggle("over", over);
  ui.count.textContent = over
    ? t("{n} / {max}: {over} too many", { n, max, over: n - max })
    : t("{n} / {max}", { n, max });
  if (!over && tooLong) showError("");
}

function loadDrafts() {
  try {
    return JSON.parse(localStorage.getItem(DRAFTS) || "{}") || {};
  } catch {
    return {};
  }
}

function persistDrafts() {
  try {
    localStorage.setItem(DRAFTS, JSON.stringify(drafts));
  } catch {
    // private mode or storage full: drafts still follow their conversation on this page
  }
}

function saveDraft() {
  if (draftKey === null) return;
  if (ui.input.value) drafts[draftKey] = ui.input.value;
  else delete drafts[draftKey];
  persistDrafts();
}

/** Put the cursor in the composer (not on a phone, where the keyboard would cover the list). */
export function focus() {
  if (!window.matchMedia("(max-width: 720px)").matches) ui.input.focus();
}

export function init(callbacks) {
  openDm = callbacks.openDm;
  ownMessage = callbacks.ownMessage;
  state.on("limits", updateCount);
  state.on("active", (conv) => {
    // Each draft stays with the conversation it was typed in.
    saveDraft();
    draftKey = conv ? conv.key : null;
    ui.input.value = conv ? drafts[conv.key] || "" : "";
    showError("");
    resize();
    updateCount();
    if (!conv) return;
    ui.input.placeholder = conv.kind === "room" ? t("Message #{room}", { room: conv.name }) : t("Message {user}", { user: conv.name });
  });
  // A renamed room keeps its draft, and the box its placeholder's new name.
  state.on("renamed", (conv, oldKey) => {
    if (drafts[oldKey] !== undefined) {
      drafts[conv.key] = drafts[oldKey];
      delete drafts[oldKey];
      persistDrafts();
    }
    if (draftKey === oldKey) draftKey = conv.key;
    if (conv === state.active()) ui.input.placeholder = t("Message #{room}", { room: conv.name });
  });
  // A /pm to someone the page did not know: sent once the server knows them, refused in place.
  state.on("dm-found", (conv, opening) => {
    if (opening.origin === "composer") clearDraft(opening.from);
  });
  state.on("unknown-user", (conv, frame, opening) => {
    if (opening && opening.origin === "composer" && state.active()?.key === opening.from) {
      showError(errorText(frame));
      ui.input.focus();
    }
  });
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendFromComposer();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendFromComposer();
    }
  });
  ui.input.addEventListener("input", () => {
    resize();
    updateCount();
    saveDraft();
    sendTyping();
  });
}
