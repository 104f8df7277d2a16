// Reading on from a search result (`history` with `after`, docs/protocol.md): newer pages are
// appended only where the shown messages end, and the gap closes only once every message the
// page has heard of (live ones included) is in.
import assert from "node:assert/strict";
import { test } from "node:test";

import { apply } from "../../../ui/static/js/incoming.js";
import { outbox } from "../../../ui/static/js/outgoing.js";
import { loadAround, loadNewer } from "../../../ui/static/js/requests.js";
import * as state from "../../../ui/static/js/state.js";

const sent = [];
state.init({ me: "alice", send: (frame) => { sent.push(frame); return true; } });
const message = (id) => ({ id, room: "r", user: "bob", body: `m${id}`, ts: "2026-12-07T01:00:00Z", client_id: null, files: [], mentions: [] });
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => message(from + i));
const shownIds = (conv) => conv.messages.map((m) => m.id);

test("newer pages fill the gap in order, once each, live messages included", () => {
  apply({ type: "hello", user: "alice", limits: { max_body_chars: 4000 } });
  apply({ type: "conversations", rooms: [{ room: "r", unread: 0, last_id: 30, last_read_id: 30 }], dms: [] });
  const conv = state.conversation("room", "r");
  assert.equal(loadAround(conv, 10), true);
  apply({ type: "history", room: "r", before: null, around: 10, messages: range(8, 12), has_more: true, has_newer: true });
  assert.equal(conv.newerGap, true);
  assert.deepEqual(shownIds(conv), [8, 9, 10, 11, 12]);

  sent.length = 0;
  assert.equal(loadNewer(conv), true);
  assert.deepEqual(sent, [{ type: "history", room: "r", after: 12, limit: 50 }]);
  assert.equal(loadNewer(conv), false); // one on its way already
  // Said meanwhile: counted, not drawn in the gap.
  apply({ type: "message", ...message(41) });
  assert.deepEqual(shownIds(conv), [8, 9, 10, 11, 12]);

  apply({ type: "history", room: "r", before: null, after: 12, messages: range(13, 40), has_more: false });
  assert.deepEqual(shownIds(conv), range(8, 40).map((m) => m.id));
  assert.equal(conv.newerGap, true, "41 was heard of but is not on the page yet");

  assert.equal(loadNewer(conv), true);
  assert.deepEqual(sent.at(-1), { type: "history", room: "r", after: 40, limit: 50 });
  apply({ type: "history", room: "r", before: null, after: 40, messages: [message(41)], has_more: false });
  assert.deepEqual(shownIds(conv), range(8, 41).map((m) => m.id));
  assert.equal(conv.newerGap, false);
  // Live again: the next message is drawn as usual.
  apply({ type: "message", ...message(42) });
  assert.deepEqual(shownIds(conv).slice(-2), [41, 42]);
});

test("a newer page asked for before another result replaced the page is dropped", () => {
  const conv = state.conversation("room", "r");
  assert.equal(loadAround(conv, 3), true);
  apply({ type: "history", room: "r", before: null, around: 3, messages: range(2, 4), has_more: true, has_newer: true });
  assert.equal(loadNewer(conv), true);
  assert.equal(loadAround(conv, 20), true); // the reader opened another result meanwhile
  apply({ type: "history", room: "r", before: null, after: 4, messages: range(5, 9), has_more: true });
  apply({ type: "history", room: "r", before: null, around: 20, messages: range(19, 21), has_more: true, has_newer: true });
  assert.deepEqual(shownIds(conv), [19, 20, 21]);
  assert.equal(conv.newerLoading, false);
  // And an answer that no longer starts where the page ends changes nothing either.
  apply({ type: "history", room: "r", before: null, after: 4, messages: range(5, 9), has_more: true });
  assert.deepEqual(shownIds(conv), [19, 20, 21]);
});

test("what the reader sends while reading older messages comes in its place, once", () => {
  const conv = state.conversation("room", "r");
  // The page around 20 from the last test: 19-21 shown, newer ones not loaded.
  assert.equal(conv.newerGap, true);
  outbox.add(conv, { client_id: "mine-1", body: "hello", user: "alice", ts: new Date(), files: [], mentions: [], state: "pending" });
  assert.deepEqual(sent.at(-1), { type: "send", room: "r", body: "hello", client_id: "mine-1" });
  apply({ type: "ack", client_id: "mine-1", id: 50 });
  assert.deepEqual(shownIds(conv), [19, 20, 21], "not after a hole");
  assert.equal(conv.outbox.length, 0);
  assert.equal(loadNewer(conv), true);
  assert.deepEqual(sent.at(-1), { type: "history", room: "r", after: 21, limit: 50 });
  const own = { ...message(50), user: "alice", body: "hello", client_id: "mine-1" };
  apply({ type: "history", room: "r", before: null, after: 21, messages: [...range(22, 49), own], has_more: false });
  assert.deepEqual(shownIds(conv), range(19, 50).map((m) => m.id));
  assert.equal(conv.newerGap, false);
});
