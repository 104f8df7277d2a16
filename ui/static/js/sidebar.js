// The sidebar: the join box and the lists of rooms and direct messages. Each conversation has
// one <li> for the life of the page; a change redraws that entry alone and moves, adds or
// removes just it, so the other entries (and the focus, and a screen reader's place) stay.
// The join box creates nothing by itself: a room that does not exist is offered ("Create
// #typo?") and made only when the person confirms; "@name" opens a DM only with someone real.

import { avatar, h, icon } from "./dom.js";
import { t, tn } from "./i18n.js";
import { errorText } from "./notices.js";
import { titleCount } from "./notify.js";
import { joinRoom } from "./requests.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
const ui = {
  roomList: $("room-list"), dmList: $("dm-list"), roomsEmpty: $("rooms-empty"), dmsEmpty: $("dms-empty"),
  joinForm: $("join-form"), joinInput: $("join-input"), joinError: $("join-error"), joinCount: $("join-count"),
};

const entries = new Map(); // conversation key -> {conv, li, link, signature}
let open = () => {};
let openDm = () => {};
let askedInBox = null; // the name last sent from the join box (typingNextName)

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
const byLatest = (a, b) => (b.lastId || Infinity) - (a.lastId || Infinity);

function shown(conv) {
  // A DM is listed once it has a message, or while open and known to exist (its history came).
  return conv.member || (conv.kind === "dm" && conv === state.active() && conv.loaded);
}

function label(conv, online) {
  let text = conv.unread > 0 && conv.mentions > 0
    ? tn("{name}, {n} unread, mentioned", "{name}, {n} unread, mentioned", conv.unread, { name: conv.name })
    : conv.unread > 0
    ? (conv.kind === "room"
      ? tn("{room}, {n} unread", "{room}, {n} unread", conv.unread, { room: conv.name })
      : tn("{user}, {n} unread", "{user}, {n} unread", conv.unread, { user: conv.name }))
    : null;
  if (conv.kind === "dm") text = `${text || conv.name}, ${online ? t("online") : t("offline")}`;
  const word = online && conv.kind === "dm" ? STATUS_WORDS[state.statusOf(conv.name)] : null;
  if (word) text = `${text}, ${t(word)}`;
  if (conv.notify === "none") text = `${text || conv.name}, ${t("muted")}`;
  return text;
}

const STATUS_WORDS = { away: "Away", dnd: "Do not disturb" };

function fill(entry) {
  const { conv, link } = entry;
  const isActive = conv === state.active();
  const online = conv.kind === "dm" && state.isOnline(conv.name);
  const status = online ? state.statusOf(conv.name) : "";
  const signature = JSON.stringify([conv.name, isActive, conv.unread, online, conv.mentions, conv.notify, status]);
  if (signature === entry.signature) return;
  entry.signature = signature;
  const muted = conv.notify === "none";
  link.className = `conv-link${isActive ? " active" : ""}${conv.unread > 0 && !muted ? " has-unread" : ""}${muted ? " muted" : ""}`;
  if (isActive) link.setAttribute("aria-current", "page");
  else link.removeAttribute("aria-current");
  const text = label(conv, online);
  if (text) link.setAttribute("aria-label", text);
  else link.removeAttribute("aria-label");
  const lead = conv.kind === "room"
    ? icon("hash", "conv-icon")
    : h("span", { class: "avatar-wrap" }, avatar(conv.name, "avatar-sm"),
      h("span", { class: `presence ${online ? `on${status === "available" ? "" : ` ${status}`}` : "off"}`, title: online ? t("online") : t("offline") }));
  const name = h("span", { class: "conv-name", text: conv.name });
  if (conv.unread > 0) {
    const count = conv.unread > 99 ? "99+" : String(conv.unread);
    const badges = [h("span", { class: "badge", "aria-hidden": "true", text: count })];
    if (conv.mentions > 0 && !muted) badges.unshift(h("span", { class: "badge mention-badge", "aria-hidden": "true", text: "@" }));
    link.replaceChildren(lead, name, ...badges);
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
  const total = titleCount(); // mentions and DMs, muted conversations left out (notify.js)
  const conv = state.active();
  const place = conv ? (conv.kind === "room" ? `#${conv.name}` : conv.name) : "";
  document.title = `${total > 0 ? `(${total}) ` : ""}${place ? `${place} · ` : ""}Deskchat`;
}

/** True while the person types, in the join box, another name than the one they last asked
 * for there: an answer arriving meanwhile (a slow server) must neither clear the box nor move
 * the focus out of it. */
export function typingNextName() {
  const typed = ui.joinInput.value.trim();
  return typed !== "" && typed !== askedInBox && document.activeElement === ui.joinInput;
}

/** Show a refusal under the join box; ``create`` adds the "Create #name" button. */
function showJoinError(text, create = null) {
  const parts = [text];
  if (create !== null) {
    parts.push(" ", h("button", {
      type: "button", class: "link-button", text: t("Create #{room}", { room: create }),
      on: { click: () => {
        ui.joinError.replaceChildren();
        joinRoom(create, { create: true, origin: "join" });
      } },
    }));
  }
  ui.joinError.replaceChildren(...parts);
}

/** The room-name counter near the server's limit (names are refused in words, never cut). */
function updateJoinCount() {
  const max = state.getLimits().max_room_name_chars;
  const value = ui.joinInput.value;
  const n = Array.from(value.startsWith("@") ? "" : value.trim()).length;
  ui.joinCount.hidden = n < max - 8;
  ui.joinCount.classList.toggle("over", n > max);
  ui.joinCount.textContent = t("{n} / {max}", { n, max });
}

export function init(callbacks) {
  open = callbacks.open;
  openDm = callbacks.openDm;
  state.on("conv", update);
  state.on("renamed", (conv, oldKey) => {
    const entry = entries.get(oldKey);
    if (entry) {
      entry.li.remove();
      entries.delete(oldKey);
    }
    update(conv);
  });
  state.on("status", (users) => {
    for (const user of users) {
      const conv = state.getConv(state.dmKey(user));
      if (conv) update(conv);
    }
  });
  state.on("presence", (users) => {
    for (const user of users) {
      const conv = state.getConv(state.dmKey(user));
      if (conv) update(conv);
    }
  });
  state.on("active", (conv, previous) => {
    if (previous) update(previous);
    if (conv) update(conv);
    updateTitle();
  });
  // The join box sends what was typed; the server's answer names the room (see incoming.js).
  state.on("opened", () => {
    if (typingNextName()) return; // what they typed since their request stays
    ui.joinInput.value = "";
    ui.joinError.replaceChildren();
    updateJoinCount();
  });
  state.on("join-error", (frame, request) => {
    if (request.origin !== "join") return;
    // The server names the room as it would store it; that is the one offered.
    if (frame.code === "unknown_room") showJoinError(errorText(frame), frame.room || request.name);
    else showJoinError(errorText(frame));
    ui.joinInput.focus();
  });
  state.on("dm-found", (conv, opening) => {
    if (opening.origin !== "join") return;
    ui.joinInput.value = "";
    ui.joinError.replaceChildren();
  });
  state.on("unknown-user", (conv, frame, opening) => {
    if (!opening || opening.origin !== "join") return;
    showJoinError(errorText(frame));
    ui.joinInput.focus();
  });
  state.on("limits", updateJoinCount);
  ui.joinInput.addEventListener("input", () => {
    updateJoinCount();
    ui.joinError.replaceChildren();
  });
  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.joinInput.value.trim();
    if (!name) return;
    askedInBox = name;
    ui.joinError.replaceChildren();
    if (name.startsWith("@")) {
      const user = name.slice(1);
      if (user === state.myName()) return showJoinError(t("You cannot send a direct message to yourself."));
      if (!openDm(user, { origin: "join" })) showJoinError(t("Not connected. Try again in a moment."));
      else if (!state.getConv(state.dmKey(user))?.opening) ui.joinInput.value = "";
      return;
    }
    joinRoom(name, { origin: "join" });
  });
}
