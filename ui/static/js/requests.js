// Requests to the server whose answers change the store: joining (by a typed name, or to load
// a room), history pages, read markers, leaving. A typed room name goes to the server as it
// is; the answer carries the room's canonical name, and that is the one the page uses. A join
// never creates a room unless the person said so (`create: true` after "Create #typo?").

import { emit, sendFrame, target } from "./state.js";

const HISTORY_PAGE = 50;

// The server answers one socket's frames in the order they were sent (docs/protocol.md): each
// join with `joined` or an `error` whose ref is "join", each history page with `history` or
// an error whose ref is "history". The oldest request here is the one being answered.
const joins = []; // {name, conv, create, origin}: conv is set when it only loads a known room
const histories = []; // {conv}
let wanted = null; // the join the person asked for last: opened when its answer comes

function sendJoin(request) {
  const frame = { type: "join", room: request.name };
  if (!request.create) frame.create = false;
  if (!sendFrame(frame)) return false;
  joins.push(request);
  return true;
}

function sendHistory(frame, conv) {
  if (!sendFrame(frame)) return false;
  histories.push({ conv });
  return true;
}

/** The person asked for a room by name: open whatever the server answers. ``origin`` says
 * where they asked ("join" box, "link", "undo"), so a refusal is shown there; ``create``
 * only after they confirmed a new room. */
export function joinRoom(name, { create = false, origin = "join" } = {}) {
  wanted = { name, conv: null, create, origin };
  sendJoin(wanted); // not sent: asked again when the connection comes back
}

/** A `joined` or a join's error arrived: {wanted: true, request} when it answers the person's
 * last request, else {conv} (the conversation the join was loading, or null). */
export function joinAnswered() {
  const request = joins.shift();
  if (request === undefined) return null;
  if (request === wanted) {
    wanted = null;
    return { wanted: true, request };
  }
  return { wanted: false, conv: request.conv };
}

/** A `history` or a history error arrived: the request it answers ({conv}), or null. */
export function historyAnswered() {
  return histories.shift() ?? null;
}

/** A new socket: the old one's requests will not be answered. */
export function forgetRequests() {
  joins.length = 0;
  histories.length = 0;
}

/** After a reconnect, ask again for the room the person is still waiting for. */
export function rejoinWanted() {
  if (wanted !== null) sendJoin(wanted);
}

/** Fetch the newest messages of ``conv`` (a room is joined, which answers with them); false
 * when the socket is down (asked again when it comes back). */
export function load(conv) {
  conv.loading = true;
  const sent = conv.kind === "room"
    ? sendJoin({ name: conv.name, conv, create: false })
    : sendHistory({ type: "history", with: conv.name, limit: HISTORY_PAGE }, conv);
  if (!sent) conv.loading = false;
  return sent;
}

/** Ask for the page before the oldest message shown; false when there is none to ask for. */
export function loadOlder(conv) {
  if (!conv.hasMore || conv.historyLoading || conv.messages.length === 0) return false;
  const frame = { type: "history", ...target(conv, "with"), before: conv.messages[0].id, limit: HISTORY_PAGE };
  if (!sendHistory(frame, conv)) return false;
  conv.historyLoading = true;
  return true;
}

/** Fetch the page of ``conv`` around the message ``id`` (a search result opened). */
export function loadAround(conv, id) {
  const sent = sendHistory({ type: "history", ...target(conv, "with"), around: id, limit: HISTORY_PAGE }, conv);
  if (sent) conv.historyLoading = true;
  return sent;
}

/** Ask for the page after the newest message shown, while reading older messages (a search
 * result opened); false when there is none to ask for or one is already on its way. */
export function loadNewer(conv, limit = HISTORY_PAGE) {
  if (!conv.newerGap || conv.newerLoading || conv.messages.length === 0) return false;
  const after = conv.messages[conv.messages.length - 1].id;
  if (!sendHistory({ type: "history", ...target(conv, "with"), after, limit }, conv)) return false;
  conv.newerLoading = true;
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
