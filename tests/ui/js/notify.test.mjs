// The notification rule (notify.js) and the mention helpers (mentions.js): pure functions, so
// the decision the page makes is tested case by case without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { apply } from "../../../ui/static/js/incoming.js";
import { completions, mentionParts, mentionQuery } from "../../../ui/static/js/mentions.js";
import { attentionCount, attentionOf, levelLets, notificationText, shouldNotify } from "../../../ui/static/js/notify.js";
import * as state from "../../../ui/static/js/state.js";

const room = (notify, extra = {}) => ({ kind: "room", name: "general", key: "r:general", member: true, notify, unread: 0, mentions: 0, ...extra });
const dm = (notify, extra = {}) => ({ kind: "dm", name: "bob", key: "d:bob", member: true, notify, unread: 0, mentions: 0, ...extra });
const fromBob = (mentions = []) => ({ user: "bob", body: "hello", mentions });

test("levels: all lets everything through, mentions only mentions of me, none nothing", () => {
  assert.equal(levelLets(room("all"), fromBob(), "alice"), true);
  assert.equal(levelLets(room("mentions"), fromBob(), "alice"), false);
  assert.equal(levelLets(room("mentions"), fromBob(["carol"]), "alice"), false);
  assert.equal(levelLets(room("mentions"), fromBob(["alice", "carol"]), "alice"), true);
  assert.equal(levelLets(room("none"), fromBob(["alice"]), "alice"), false);
  assert.equal(levelLets(dm("all"), fromBob(), "alice"), true);
});

test("never my own message, never in do-not-disturb, never the conversation on screen", () => {
  const base = { conv: dm("all"), msg: fromBob(), me: "alice", myStatus: "available", onScreen: false };
  assert.equal(shouldNotify(base), true);
  assert.equal(shouldNotify({ ...base, msg: { user: "alice", body: "x", mentions: ["alice"] } }), false);
  assert.equal(shouldNotify({ ...base, myStatus: "dnd" }), false);
  assert.equal(shouldNotify({ ...base, myStatus: "away" }), true); // away is no silence
  assert.equal(shouldNotify({ ...base, onScreen: true }), false);
  assert.equal(shouldNotify({ ...base, conv: dm("none") }), false);
});

test("of a person's tabs only the one that notifies does", () => {
  const base = { conv: dm("all"), msg: fromBob(), me: "alice", myStatus: "available", onScreen: false };
  assert.equal(shouldNotify({ ...base, notifier: true }), true);
  assert.equal(shouldNotify({ ...base, notifier: false }), false);
  assert.equal(shouldNotify({ ...base, notifier: true, onScreen: true }), false); // shown in another tab
});

test("the title count: mentions, whole DMs, nothing muted or left", () => {
  assert.equal(attentionOf(room("mentions", { unread: 7, mentions: 2 })), 2);
  assert.equal(attentionOf(room("all", { unread: 7, mentions: 2 })), 7);
  assert.equal(attentionOf(room("none", { unread: 7, mentions: 2 })), 0);
  assert.equal(attentionOf(dm("all", { unread: 3 })), 3);
  assert.equal(attentionOf(room("mentions", { member: false, mentions: 4 })), 0);
  assert.equal(attentionCount([room("mentions", { unread: 7, mentions: 2 }), dm("all", { unread: 3 }), dm("none", { unread: 9 })]), 5);
});

test("notification text is plain text, long bodies cut by characters", () => {
  const t = (key, params) => key.replace(/\{(\w+)\}/g, (_, k) => params[k]);
  assert.deepEqual(notificationText(room("all"), fromBob(), t), { title: "bob in #general", body: "hello" });
  assert.deepEqual(notificationText(dm("all"), fromBob(), t), { title: "bob", body: "hello" });
  const long = "ж".repeat(250);
  assert.equal(notificationText(dm("all"), { user: "bob", body: long }, t).body, `${"ж".repeat(200)}…`);
});

test("the store counts mentions of me as they arrive and clears them when read", () => {
  state.init({ me: "alice", send: () => true });
  apply({ type: "hello", user: "alice", status: "available", limits: { max_body_chars: 4000, away_after_seconds: 60 } });
  apply({
    type: "conversations",
    rooms: [{ room: "ops", unread: 0, last_id: 0, last_read_id: 0, mentions: 0, notify: "mentions" }],
    dms: [],
  });
  const incoming = [];
  state.on("incoming", (conv, frame) => incoming.push(frame.id));
  const ops = state.getConv(state.roomKey("ops"));
  apply({ type: "message", id: 1, room: "ops", user: "bob", body: "@alice hi", ts: "2026-12-06T10:00:00Z", client_id: "a", mentions: ["alice"] });
  apply({ type: "message", id: 2, room: "ops", user: "bob", body: "hi all", ts: "2026-12-06T10:00:01Z", client_id: "b", mentions: [] });
  apply({ type: "resumed", since: 2, has_more: false, messages: [{ id: 3, room: "ops", user: "bob", body: "@room", ts: "2026-12-06T10:00:02Z", client_id: "c", mentions: ["alice"] }] });
  assert.deepEqual([ops.unread, ops.mentions], [3, 2]);
  assert.deepEqual(incoming, [1, 2]); // caught up by resume: counted, not announced
  apply({ type: "notify", room: "ops", level: "none" });
  assert.equal(ops.notify, "none");
  apply({ type: "read", room: "ops", id: 3 });
  assert.deepEqual([ops.unread, ops.mentions], [0, 0]);
  apply({ type: "user_presence", users: { alice: true }, status: { alice: "dnd" } });
  assert.equal(state.statusOf("alice"), "dnd");
});

test("the @ word before the caret", () => {
  assert.deepEqual(mentionQuery("hi @bo", 6), { start: 3, query: "bo" });
  assert.deepEqual(mentionQuery("@", 1), { start: 0, query: "" });
  assert.equal(mentionQuery("mail ann@bo", 11), null); // an address
  assert.equal(mentionQuery("hi @bob there", 13), null); // the caret left the word
});

test("completions: prefix first, then containing, never me, @room first in a room", () => {
  const names = ["alice", "Bob", "bobby", "carol", "robert"];
  assert.deepEqual(completions("bo", names, { me: "alice", inRoom: false }), ["Bob", "bobby"]);
  assert.deepEqual(completions("ob", names, { me: "alice", inRoom: false }), ["Bob", "bobby", "robert"]);
  assert.deepEqual(completions("", names, { me: "alice", inRoom: true }), ["room", "Bob", "bobby", "carol", "robert"]);
  assert.deepEqual(completions("al", names, { me: "alice", inRoom: true }), []);
});

test("only names the server listed are drawn as mentions", () => {
  assert.deepEqual(mentionParts("hi @bob and @eve.", ["bob"]), [
    { text: "hi ", mention: null }, { text: "@bob", mention: "bob" }, { text: " and @eve.", mention: null },
  ]);
  assert.deepEqual(mentionParts("thanks @bob.", ["bob"]), [
    { text: "thanks ", mention: null }, { text: "@bob", mention: "bob" }, { text: ".", mention: null },
  ]);
  assert.deepEqual(mentionParts("@room go", ["bob", "carol"]), [{ text: "@room", mention: "room" }, { text: " go", mention: null }]);
  assert.deepEqual(mentionParts("@room go", []), [{ text: "@room go", mention: null }]);
  assert.deepEqual(mentionParts("x@bob.org", ["bob"]), [{ text: "x@bob.org", mention: null }]);
});
