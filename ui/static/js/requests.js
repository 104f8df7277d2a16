// Requests to the server whose answers change the store: joining (by a typed name, or to load
// a room), history pages, read markers, leaving. A typed room name goes to the server as it
// is; the answer carries the room's canonical name, and that is the one the page uses.

import { emit, sendFrame, target } from "./state.js";

const HISTORY_PAGE = 50;

// The server answers the joins of one socket in the order they were sent, each with `joined`
// or with an `error` whose ref is "join" (docs/protocol.md): the oldest one here is the one
// being answered. Each is {name, conv}: conv is set when it only loads a known room.
const joins = [];
let wanted = null; // the join the user asked for last: opened when its answer comes

function sendJoin(request) {
  if (!sendFrame({ type: "join", room: request.name })) return false;
  joins.push(request);
  return true;
}

/** The user asked for a room by name (typed, or from a link): open whatever the server answers. */
export function joinRoom(name) {
  wanted = { name, conv: null };
  sendJoin(wanted); // not sent: asked again when the connection comes back
}

/** A `joined` or a join's error arrived: "wanted" when it answers the user's last request,
 * else the conversation the join was loading (or null). */
export function joinAnswered() {
  const request = joins.shift();
  if (request === undefined) return null;
  if (request === wanted) {
    wanted = null;
    return "wanted";
  }
  return request.conv;
}

/** A new socket: the old one's joins will not be answered. */
export function forgetJoins() {
  joins.length = 0;
}

/** After a reconnect, ask again for the room the user is still waiting for. */
export function rejoinWanted() {
  if (wanted !== null) sendJoin(wanted);
}

/** Fetch the newest messages of ``conv`` (a room is joined, which answers with them). */
export function load(conv) {
  conv.loading = true;
  const sent = conv.kind === "room"
    ? sendJoin({ name: conv.name, conv })
    : sendFrame({ type: "history", with: conv.name, limit: HISTORY_PAGE });
  if (!sent) conv.loading = false; // asked again when the connection comes back
}

/** Ask for the page before the oldest message shown; false when there is none to ask for. */
export function loadOlder(conv) {
  if (!conv.hasMore || conv.historyLoading || conv.messages.length === 0) return false;
  const frame = { type: "history", ...target(conv, "with"), before: conv.messages[0].id, limit: HISTORY_PAGE };
  if (!sendFrame(frame)) return false;
  conv.historyLoading = true;
  return true;
}

/** Tell the server (and so every tab) that ``conv`` is read up to its newest message. */
export function markRead(conv) {
  conv.unseen = 0;
  const newest = conv.messages.length ? conv.messages[conv.messages.length - 1].id : 0;
  if (newest <= conv.lastReadId && conv.unread === 0) return;
  const id = Math.max(newest, conv.lastReadId);
  sendFrame({ type: "read", ...target(conv, "with"), id });
  conv.lastReadId = id;
  conv.unread = 0;
  emit("conv", conv);
}

export function leave(conv) {
  sendFrame({ type: "leave", room: conv.name });
}
