// Messages this page sends. Each waits in its conversation's outbox as "pending" until the
// server's `ack` (or the message itself) comes back, or turns "failed" with the reason when
// an error frame names its client_id. After a reconnect the pending ones are sent again: the
// server keeps one message per client_id, so a retry never makes a duplicate.

import { errorText } from "./notices.js";
import { emit, getConv, noteSeen, sendFrame, target } from "./state.js";

const pendingByClientId = new Map(); // client_id -> conversation key

function randomId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
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

/** Queue ``body`` for ``conv`` as the user's own message and send it; returns the message. */
export function queue(conv, me, body) {
  const msg = { id: null, client_id: randomId(), user: me, body, ts: new Date(), state: "pending" };
  conv.outbox.push(msg);
  pendingByClientId.set(msg.client_id, conv.key);
  emit("queued", conv, msg);
  transmit(conv, msg);
  return msg;
}

function transmit(conv, msg) {
  sendFrame({ type: "send", ...target(conv), body: msg.body, client_id: msg.client_id });
}

export function handleAck(frame) {
  const key = pendingByClientId.get(frame.client_id);
  const conv = key && getConv(key);
  if (!conv) return;
  pendingByClientId.delete(frame.client_id);
  const index = conv.outbox.findIndex((m) => m.client_id === frame.client_id);
  if (index < 0) return;
  const [msg] = conv.outbox.splice(index, 1);
  msg.state = "sent";
  msg.id = frame.id;
  noteSeen(frame.id);
  if (!conv.byId.has(msg.id)) addSent(conv, msg);
  conv.lastId = Math.max(conv.lastId, msg.id);
  conv.lastReadId = Math.max(conv.lastReadId, msg.id);
  conv.member = true;
  emit("outbox", conv, msg);
  emit("conv", conv);
}

/** An error answering one of our messages: mark it failed. False for any other error. */
export function handleSendError(frame) {
  const key = frame.ref && pendingByClientId.get(frame.ref);
  const conv = key && getConv(key);
  const msg = conv && conv.outbox.find((m) => m.client_id === frame.ref);
  if (!msg) return false;
  msg.state = "failed";
  msg.error = errorText(frame);
  emit("outbox", conv, msg);
  // Over the rate limit the server says when to come back: do it for the user.
  if (frame.code === "rate_limited" && frame.retry_after) setTimeout(() => retry(msg), frame.retry_after * 1000);
  return true;
}

export function retry(msg) {
  const conv = getConv(pendingByClientId.get(msg.client_id));
  if (msg.state !== "failed" || !conv || !conv.outbox.includes(msg)) return;
  msg.state = "pending";
  msg.error = "";
  emit("outbox", conv, msg);
  transmit(conv, msg);
}

/** After a reconnect: send again every message still waiting for its ack. */
export function resendPending(convs) {
  for (const conv of convs) for (const msg of conv.outbox) if (msg.state === "pending") transmit(conv, msg);
}
