// The members panel: who is online in the open room, each a button that opens a direct
// message. Open beside the conversation on a wide screen, over it (with a backdrop) otherwise.

import { avatar, h } from "./dom.js";
import { t, tn } from "./i18n.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
const ui = {
  root: $("app"), button: $("members-button"), title: $("members-title"), list: $("member-list"),
  close: $("members-close"), backdrop: $("backdrop"),
};
const wideEnough = window.matchMedia("(min-width: 1100px)");
let openDm = () => {};

const isOpen = () => ui.root.dataset.members === "open";

const STATUS_WORDS = { away: "Away", dnd: "Do not disturb" };

/** "Away" or "Do not disturb" beside a name (nothing when available). */
function statusWord(user) {
  const word = STATUS_WORDS[state.statusOf(user)];
  return word ? h("span", { class: "member-status", text: t(word) }) : null;
}

function render() {
  const conv = state.active();
  if (!conv || conv.kind !== "room") {
    ui.list.replaceChildren();
    return;
  }
  const me = state.myName();
  const online = state.onlineIn(conv);
  ui.title.textContent = tn("Online — {n}", "Online — {n}", online.length);
  const items = online.map((user) => {
    const who = [avatar(user, "avatar-sm"), h("span", { class: "member-name", text: user === me ? t("{user} (you)", { user }) : user })];
    if (user === me) return h("li", { class: "member self" }, h("span", { class: "member-row" }, ...who));
    return h("li", { class: "member" }, h("button", {
      type: "button", class: "member-row", title: t("Open a direct message with {user}", { user }),
      "aria-label": t("Open a direct message with {user}", { user }), dataset: { user },
      on: { click: () => { if (!wideEnough.matches) setOpen(false); openDm(user); } },
    }, ...who, h("span", { class: `presence on ${state.statusOf(user)}`.replace(" available", ""), "aria-hidden": "true" }), statusWord(user)));
  });
  if (online.length <= 1) items.push(h("li", { class: "empty-hint", text: t("Nobody else is here right now.") }));
  ui.list.replaceChildren(...items);
}

function setOpen(openPanel) {
  ui.root.dataset.members = openPanel ? "open" : "closed";
  ui.button.setAttribute("aria-expanded", String(openPanel));
  if (openPanel) render();
}

export function init(callbacks) {
  openDm = callbacks.openDm;
  state.on("active", (conv) => {
    // Open by default for a room when there is room for it beside the messages.
    setOpen(Boolean(conv && conv.kind === "room" && wideEnough.matches));
    render();
  });
  state.on("online", (conv) => { if (conv === state.active()) render(); });
  state.on("presence", () => { if (isOpen()) render(); });
  state.on("status", () => { if (isOpen()) render(); });
  ui.button.addEventListener("click", () => setOpen(!isOpen()));
  ui.close.addEventListener("click", () => {
    setOpen(false);
    ui.button.focus();
  });
  ui.backdrop.addEventListener("click", () => setOpen(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen() && !wideEnough.matches) {
      setOpen(false);
      ui.button.focus();
    }
  });
}
