// One presence truth (issue 14): every source of "who is online" goes through one answer,
// `isOnline`, and every change is announced once (`presence`), so the DM header, the sidebar
// dot and the members panel, which all listen to it, cannot disagree.
import assert from "node:assert/strict";
import { test } from "node:test";

import { apply } from "../../../ui/static/js/incoming.js";
import * as state from "../../../ui/static/js/state.js";

const sent = [];
state.init({ me: "alice", send: (frame) => { sent.push(frame); return true; } });
const announced = [];
state.on("presence", (users) => announced.push([...users]));

test("a room's online list tells the DM views too, and going offline reaches the room", () => {
  apply({ type: "hello", user: "alice", limits: { max_body_chars: 4000 } });
  apply({
    type: "conversations",
    rooms: [{ room: "general", unread: 0, last_id: 0, last_read_id: 0 }],
    dms: [{ with: "bob", unread: 0, last_id: 5, last_read_id: 5, online: false }],
  });
  assert.equal(state.isOnline("bob"), false);
  announced.length = 0;

  // bob shows up in a room's list: the DM with him must hear it (it used to stay "offline").
  apply({ type: "joined", room: "general", online: ["alice", "bob"], messages: [], has_more: false, last_read_id: 0, unread: 0 });
  assert.equal(state.isOnline("bob"), true);
  assert.deepEqual(announced, [["alice", "bob"]]);
  const room = state.getConv(state.roomKey("general"));
  assert.deepEqual(state.onlineIn(room), ["alice", "bob"]);

  // bob's last tab closes: the room's list is stale until its own frame comes, but what it
  // shows already agrees with the DM.
  apply({ type: "user_presence", users: { bob: false } });
  assert.equal(state.isOnline("bob"), false);
  assert.deepEqual(state.onlineIn(room), ["alice"]);
  assert.deepEqual(announced, [["alice", "bob"], ["bob"]]);

  // Nothing changed, nothing announced.
  apply({ type: "user_presence", users: { bob: false } });
  assert.equal(announced.length, 2);
});

test("an unknown user's DM leaves nothing behind", () => {
  const ghosts = [];
  state.on("unknown-user", (conv) => ghosts.push(conv.name));
  const conv = state.conversation("dm", "nobody");
  conv.opening = { origin: "join", body: null };
  conv.loading = true;
  apply({ type: "history", with: "bob", before: null, messages: [], has_more: false }); // an earlier request
  sent.length = 0;
  // requests.js pairs answers with requests in order; simulate the request for "nobody".
  return import("../../../ui/static/js/requests.js").then(({ load }) => {
    load(conv);
    assert.deepEqual(sent, [{ type: "history", with: "nobody", limit: 50 }]);
    apply({ type: "error", code: "unknown_user", detail: "There is no user called 'nobody'.", ref: "history" });
    assert.deepEqual(ghosts, ["nobody"]);
    assert.equal(state.getConv(state.dmKey("nobody")), undefined);
  });
});

test("a renamed room keeps its conversation, and a message built just before still reaches it", () => {
  const renames = [];
  state.on("renamed", (conv, oldKey, oldName) => renames.push([conv.name, oldKey, oldName]));
  apply({ type: "joined", room: "ops", online: ["alice"], messages: [], has_more: false, last_read_id: 0, unread: 0 });
  const conv = state.getConv(state.roomKey("ops"));
  apply({ type: "renamed", room: "ops", name: "Operations" });
  assert.deepEqual(renames, [["Operations", "r:ops", "ops"]]);
  assert.equal(state.getConv(state.roomKey("Operations")), conv);
  assert.equal(state.getConv(state.roomKey("ops")), undefined);
  assert.equal(conv.name, "Operations");
  // Fanned out by its sender before the rename reached it: still the same conversation.
  apply({ type: "message", id: 900, room: "ops", user: "bob", body: "late", ts: "2026-12-06T10:00:00Z", client_id: null });
  assert.equal(state.getConv(state.roomKey("ops")), undefined);
  assert.deepEqual(conv.messages.map((m) => m.body), ["late"]);
  // A room that later takes the old name is a conversation of its own.
  apply({ type: "joined", room: "ops", online: ["alice"], messages: [], has_more: false, last_read_id: 0, unread: 0 });
  const fresh = state.getConv(state.roomKey("ops"));
  assert.notEqual(fresh, conv);
  apply({ type: "message", id: 901, room: "ops", user: "bob", body: "new ops", ts: "2026-12-06T10:00:01Z", client_id: null });
  assert.deepEqual(fresh.messages.map((m) => m.body), ["new ops"]);
  assert.deepEqual(conv.messages.map((m) => m.body), ["late"]);
});
