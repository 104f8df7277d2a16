// The composer: Enter sends, Shift+Enter starts a new line, "/pm USER TEXT" sends a direct
// message (as in the tutorial), and typing tells the others at most every few seconds.

import { t } from "./i18n.js";
import { toast } from "./notices.js";
import { queue } from "./outbox.js";
import * as state from "./state.js";

const TYPING_SEND_EVERY_MS = 3000;

const $ = (id) => document.getElementById(id);
const ui = { form: $("composer"), input: $("composer-input") };
let open = () => {};
let lastTypingSent = 0;

function parsePm(text) {
  if (!(text.startsWith("/pm ") || text === "/pm")) return null;
  const rest = text.slice(3).trim();
  const space = rest.search(/\s/);
  if (space < 0) return { user: rest, body: "" };
  return { user: rest.slice(0, space), body: rest.slice(space).trim() };
}

function sendFromComposer() {
  const text = ui.input.value.trim();
  let conv = state.active();
  if (!text || !conv) return;
  let body = text;
  const pm = parsePm(text);
  if (pm) {
    if (!pm.user || !pm.body) return toast(t("Usage: /pm USER TEXT"));
    if (pm.user === state.myName()) return toast(t("You cannot send a direct message to yourself."));
    conv = state.conversation("dm", pm.user);
    body = pm.body;
    if (conv !== state.active()) open(conv.key);
  }
  if (body.length > state.getLimits().max_body_chars) return toast(t("The message is too long."));
  ui.input.value = "";
  lastTypingSent = 0; // the next keystroke starts a new "is typing" notice
  resize();
  queue(conv, state.myName(), body);
}

function sendTyping() {
  const conv = state.active();
  const text = ui.input.value;
  if (!conv || !text.trim() || text.startsWith("/")) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_SEND_EVERY_MS) return;
  if (conv.kind === "dm" && !conv.member) return; // no such user, perhaps: stay quiet
  lastTypingSent = now;
  state.sendFrame({ type: "typing", ...state.target(conv) });
}

function resize() {
  // CSSOM writes are allowed by the page's CSP (only style attributes in markup are not).
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
}

/** Put the cursor in the composer (not on a phone, where the keyboard would cover the list). */
export function focus() {
  if (!window.matchMedia("(max-width: 720px)").matches) ui.input.focus();
}

export function init(callbacks) {
  open = callbacks.open;
  state.on("limits", (limits) => { ui.input.maxLength = limits.max_body_chars; });
  state.on("active", (conv) => {
    if (!conv) return;
    ui.input.placeholder = conv.kind === "room" ? t("Message #{room}", { room: conv.name }) : t("Message {user}", { user: conv.name });
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
    sendTyping();
  });
}
