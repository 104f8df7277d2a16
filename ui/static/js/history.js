// A conversation's messages in id order: history pages (the newest, older ones, a page around
// a search result, the pages after it) merged into what is shown, each message once, and a
// single stored message put in its place. The `history` frame's rules live here; incoming.js
// hands it over.

import { emit, noteSeen } from "./state.js";

/** A message as the page keeps it, from a `message` frame or a history page's entry. */
export const toMessage = (frame) => ({ id: frame.id, user: frame.user, body: frame.body, ts: new Date(frame.ts), client_id: frame.client_id, files: frame.files || [], mentions: frame.mentions || [], state: "sent" });

/** Add a page's messages to ``conv``: each once, in id order. */
export function merge(conv, frames) {
  let added = false;
  for (const frame of frames) {
    noteSeen(frame.id);
    conv.lastId = Math.max(conv.lastId, frame.id);
    if (conv.byId.has(frame.id)) continue;
    const msg = toMessage(frame);
    conv.byId.set(msg.id, msg);
    conv.messages.push(msg);
    added = true;
  }
  if (added) conv.messages.sort((a, b) => a.id - b.id);
}

/** Put a stored message into ``conv`` in id order; true when it went at the end. */
export function addSent(conv, msg) {
  conv.byId.set(msg.id, msg);
  const inOrder = conv.messages.length === 0 || conv.messages[conv.messages.length - 1].id < msg.id;
  conv.messages.push(msg);
  if (!inOrder) conv.messages.sort((a, b) => a.id - b.id);
  conv.lastId = Math.max(conv.lastId, msg.id);
  return inOrder;
}

/** Apply a `history` frame to ``conv``: the newest page, an older one (``before``), the page
 * around a message (``around``) or a page after the newest shown (``after``). */
export function historyPage(conv, frame) {
  if (frame.around !== undefined && frame.around !== null) return around(conv, frame);
  if (frame.after !== undefined && frame.after !== null) return newer(conv, frame);
  const older = frame.before !== null && frame.before !== undefined;
  conv.historyLoading = false;
  conv.loading = false;
  if (!older && !conv.loaded) {
    conv.hasMore = frame.has_more;
    conv.dividerAfter = conv.unread > 0 && conv.lastReadId > 0 ? conv.lastReadId : null;
  }
  if (older) conv.hasMore = frame.has_more;
  merge(conv, frame.messages);
  conv.loaded = true;
  if (conv.opening) {
    // The person exists: open the DM they asked for (and send what they typed).
    const opening = conv.opening;
    conv.opening = null;
    emit("dm-found", conv, opening);
  }
  emit("messages", conv, older ? { older: true } : { reset: true });
}

/** A page around one message (a search result opened): joined to what is shown when the
 * two meet, else shown alone, with the newer messages marked as not loaded (``newerGap``). */
function around(conv, frame) {
  conv.historyLoading = false;
  conv.loading = false;
  const page = frame.messages;
  const meets = conv.loaded && !conv.newerGap && conv.messages.length > 0 && page.length > 0
    && page[page.length - 1].id >= conv.messages[0].id;
  if (meets) {
    if (page[0].id < conv.messages[0].id) conv.hasMore = frame.has_more;
  } else {
    conv.messages = [];
    conv.byId = new Map();
    conv.hasMore = frame.has_more;
    conv.newerGap = frame.has_newer;
    conv.dividerAfter = null;
  }
  merge(conv, page);
  conv.loaded = true;
  emit("messages", conv, { reset: true, focus: frame.around });
}

/** A page after the newest message shown (`history` with `after`), while reading older
 * messages: appended when it starts where the shown ones end (an answer to a request made
 * before another search result replaced them is dropped). The gap is closed once nothing
 * newer exists and every message that arrived live meanwhile (counted in ``lastId``) is in. */
function newer(conv, frame) {
  conv.newerLoading = false;
  const shown = conv.messages;
  if (!conv.loaded || !conv.newerGap || shown.length === 0 || shown[shown.length - 1].id !== frame.after) return;
  merge(conv, frame.messages);
  conv.newerGap = frame.has_more || conv.lastId > conv.messages[conv.messages.length - 1].id;
  emit("messages", conv, { newer: true });
}

/** Leave a page around a search result for the newest messages (loaded again from the
 * server by the caller). */
export function forgetLoaded(conv) {
  conv.messages = [];
  conv.byId = new Map();
  conv.loaded = false;
  conv.newerGap = false;
  conv.hasMore = false;
}
