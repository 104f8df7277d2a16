// The sidebar: the join box and the lists of rooms and direct messages. Each conversation has
// one <li> for the life of the page; a change redraws that entry alone and moves, adds or
// removes just it, so the other entries (and the focus, and a screen reader's place) stay.

import { avatar, h, icon } from "./dom.js";
import { t, tn } from "./i18n.js";
import { errorText } from "./notices.js";
import { joinRoom } from "./requests.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
const ui = {
  roomList: $("room-list"), dmList: $("dm-list"), roomsEmpty: $("rooms-empty"), dmsEmpty: $("dms-empty"),
  joinForm: $("join-form"), joinInput: $("join-input"), joinError: $("join-error"),
};

const entries = new Map(); // conversation key -> {conv, li, link, signature}
let open = () => {};
let openDm = () => {};

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
const byLatest = (a, b) => (b.lastId || Infinity) - (a.lastId || Infinity);

function shown(conv) {
  return conv.member || (conv.kind === "dm" && conv === state.active());
}

function label(conv, online) {
  let text = conv.unread > 0
    ? (conv.kind === "room"
      ? tn("{room}, {n} unread", "{room}, {n} unread", conv.unread, { room: conv.name })
      : tn("{user}, {n} unread", "{user}, {n} unread", conv.unread, { user: conv.name }))
    : null;
  if (conv.kind === "dm") text = `${text || conv.name}, ${online ? t("online") : t("offline")}`;
  return text;
}

function fill(entry) {
  const { conv, link } = entry;
  const isActive = conv === state.active();
  const online = conv.kind === "dm" && state.isOnline(conv.name);
  const signature = JSON.stringify([conv.name, isActive, conv.unread, online]);
  if (signature === entry.signature) return;
  entry.signature = signature;
  link.className = `conv-link${isActive ? " active" : ""}${conv.unread > 0 ? " has-unread" : ""}`;
  if (isActive) link.setAttribute("aria-current", "page");
  else link.removeAttribute("aria-current");
  const text = label(conv, online);
  if (text) link.setAttribute("aria-label", text);
  else link.removeAttribute("aria-label");
  const lead = conv.kind === "room"
    ? icon("hash", "conv-icon")
    : h("span", { class: "avatar-wrap" }, avatar(conv.name, "avatar-sm"),
      h("span", { class: `presence ${online ? "on" : "off"}`, title: online ? t("online") : t("offline") }));
  const name = h("span", { class: "conv-name", text: conv.name });
  if (conv.unread > 0) {
    const count = conv.unread > 99 ? "99+" : String(conv.unread);
    link.replaceChildren(lead, name, h("span", { class: "badge", "aria-hidden": "true", text: count }));
  } else {
    link.replaceChildren(lead, name);
  }
}

function create(conv) {
  const params = new URLSearchParams({ [conv.kind === "room" ? "room" : "dm"]: conv.name });
  const link = h("a", {
    href: `/?${params}`, dataset: { key: conv.key },
    on: { click: (event) => { event.preventDefault(); open(conv.key); } },
  });
  const entry = { conv, link, li: h("li", {}, link), signature: null };
  entries.set(conv.key, entry);
  return entry;
}

/** Put ``entry`` where the list's order wants it, touching nothing when it already is. */
function place(entry) {
  const { conv, li } = entry;
  const list = conv.kind === "room" ? ui.roomList : ui.dmList;
  const compare = conv.kind === "room" ? byName : byLatest;
  let before = null;
  for (const other of list.children) {
    if (other !== li && compare(conv, entries.get(other.firstElementChild.dataset.key).conv) < 0) {
      before = other;
      break;
    }
  }
  if (li.parentNode === list && li.nextElementSibling === before) return;
  const focused = document.activeElement === entry.link;
  list.insertBefore(li, before);
  if (focused) entry.link.focus(); // moving a node drops its focus
}

/** Redraw one conversation's entry (adding, moving or removing it as needed). */
export function update(conv) {
  let entry = entries.get(conv.key);
  if (!shown(conv)) {
    if (entry) {
      entry.li.remove();
      entries.delete(conv.key);
    }
  } else {
    entry = entry || create(conv);
    fill(entry);
    place(entry);
  }
  ui.roomsEmpty.hidden = ui.roomList.children.length > 0;
  ui.dmsEmpty.hidden = ui.dmList.children.length > 0;
  updateTitle();
}

/** The key of the first room in the list, or null. */
export function firstRoomKey() {
  return ui.roomList.firstElementChild?.firstElementChild.dataset.key ?? null;
}

function updateTitle() {
  const total = state.totalUnread();
  const conv = state.active();
  const place = conv ? (conv.kind === "room" ? `#${conv.name}` : conv.name) : "";
  document.title = `${total > 0 ? `(${total}) ` : ""}${place ? `${place} · ` : ""}Deskchat`;
}

export function init(callbacks) {
  open = callbacks.open;
  openDm = callbacks.openDm;
  state.on("conv", update);
  state.on("active", (conv, previous) => {
    if (previous) update(previous);
    if (conv) update(conv);
    updateTitle();
  });
  // The join box sends what was typed; the server's answer names the room (see state.js).
  state.on("opened", () => {
    ui.joinInput.value = "";
    ui.joinError.textContent = "";
  });
  state.on("join-error", (frame) => {
    ui.joinError.textContent = errorText(frame);
    ui.joinInput.focus();
  });
  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.joinInput.value.trim();
    if (!name) return;
    if (name.startsWith("@")) {
      ui.joinInput.value = "";
      openDm(name.slice(1));
      return;
    }
    ui.joinError.textContent = "";
    joinRoom(name);
  });
}
