// The person's own messages, in one line for the whole page: the one Outbox (outbox.js),
// wired to the socket and the store. A message the server stored takes its place in its
// conversation; a DM to someone the server does not know leaves nothing behind.

import { addSent } from "./history.js";
import { Outbox } from "./outbox.js";
import { emit, forgetConversation, noteSeen, sendFrame, target } from "./state.js";

export const outbox = new Outbox({
  transmit: (conv, msg) => sendFrame({
    type: "send", ...target(conv), body: msg.body, client_id: msg.client_id,
    ...(msg.files && msg.files.length ? { files: msg.files.map((file) => file.id) } : {}),
  }),
  changed: (what, conv, msg) => {
    if (what === "acked") return stored(conv, msg);
    if (what === "state" && msg.state === "failed" && msg.error && msg.error.code === "unknown_user"
      && conv.kind === "dm" && !conv.member) return forgetGhost(conv, msg.error);
    emit(what === "queued" ? "queued" : what === "requeued" || what === "removed" ? "requeued" : "outbox", conv, msg);
  },
});

function stored(conv, msg) {
  noteSeen(msg.id);
  // Reading older messages: the newer pages bring it in its place (appended now, it would
  // stand after a hole, and the next page would start after it).
  if (conv.newerGap) conv.lastId = Math.max(conv.lastId, msg.id);
  else if (!conv.byId.has(msg.id)) addSent(conv, msg);
  conv.lastReadId = Math.max(conv.lastReadId, msg.id);
  conv.member = true;
  emit("outbox", conv, msg);
  emit("conv", conv);
}

/** A DM with someone the server does not know: nothing of it stays (no ghost in the sidebar). */
export function forgetGhost(conv, frame) {
  const opening = conv.opening;
  conv.opening = null;
  for (const msg of [...conv.outbox]) outbox.discard(msg);
  forgetConversation(conv);
  emit("unknown-user", conv, frame, opening);
  emit("conv", conv);
}
