// Which conversation is open: the address bar (?room= / ?dm=), the one remembered for the next
// visit, what opens on load, and opening one from a click, a name or the server's answer.

import * as composer from "./composer.js";
import { outbox } from "./outgoing.js";
import { joinRoom, load } from "./requests.js";
import * as sidebar from "./sidebar.js";
import * as state from "./state.js";

const root = document.getElementById("app");
const narrow = window.matchMedia("(max-width: 720px)");
const LAST = "deskchat.last";

/** Make ``key`` the open conversation (null: none), asking the server for it if needed;
 * the composer takes the focus unless ``focus`` is false. */
export function open(key, { focus = true } = {}) {
  const conv = key ? state.getConv(key) : null;
  const params = new URLSearchParams();
  if (conv) params.set(conv.kind === "room" ? "room" : "dm", conv.name);
  const query = params.toString();
  history.replaceState(null, "", query ? `/?${query}` : "/");
  if (conv) remember({ kind: conv.kind, name: conv.name });
  root.dataset.view = conv ? "conversation" : "list";
  state.setActive(conv ? conv.key : null);
  if (!conv) return;
  if (!conv.loaded && !conv.loading) load(conv);
  if (focus) composer.focus();
}

/** Open the DM with ``user``. One the page does not know yet is checked with the server
 * first (its history is asked for): it opens when the answer comes, and a name nobody has is
 * shown as an error where it was typed (``origin``), adding nothing. ``body``: a message to
 * send once it opens (a `/pm`). */
export function openDm(user, { origin = "members", body = null, from = null } = {}) {
  if (user === state.myName()) return false;
  const conv = state.conversation("dm", user);
  if (conv.member || conv.loaded) {
    open(conv.key);
    if (body !== null) outbox.add(conv, ownMessage(body));
    return true;
  }
  conv.opening = { origin, body, from };
  return load(conv);
}

/** A message typed by this person, not yet stored. */
export function ownMessage(body) {
  return { id: null, client_id: randomId(), user: state.myName(), body, ts: new Date(), state: "pending", waiting: false, error: null };
}

function randomId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The last open conversation, for the next visit (storage may be off: then just forget). */
function remember(value) {
  try {
    localStorage.setItem(LAST, JSON.stringify(value));
  } catch {
    // private mode or storage disabled
  }
}

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(LAST) || "null");
  } catch {
    return null;
  }
}

/** On load: the room or DM in the address, else the last one, else the first room. */
function openInitial() {
  const params = new URLSearchParams(location.search);
  const room = root.dataset.openRoom || params.get("room");
  const dm = params.get("dm");
  // A typed or linked name goes to the server as it is; its answer names the room to open.
  if (room) return joinRoom(room, { origin: "link" });
  if (dm && dm !== state.myName()) return openDm(dm, { origin: "link" });
  if (narrow.matches) return open(null);
  const last = remembered();
  const conv = last && state.getConv(last.kind === "room" ? state.roomKey(last.name) : state.dmKey(last.name));
  if (conv && conv.member) return open(conv.key);
  open(sidebar.firstRoomKey());
}

export function init() {
  state.on("synced", (first) => {
    if (first) return openInitial();
    const conv = state.active();
    if (conv && !conv.loaded && !conv.loading) load(conv);
  });
  state.on("opened", (conv) => open(conv.key, { focus: !sidebar.typingNextName() }));
  state.on("dm-found", (conv, opening) => {
    open(conv.key);
    if (opening.body !== null) outbox.add(conv, ownMessage(opening.body));
  });
  state.on("unknown-user", (conv) => { if (conv === state.active()) open(null); });
  state.on("left", (conv) => { if (conv === state.active()) open(null); });
  document.getElementById("back-button").addEventListener("click", () => {
    root.dataset.view = "list";
  });
}
