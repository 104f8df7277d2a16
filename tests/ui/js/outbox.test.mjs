// The outbox (ui/static/js/outbox.js) under node, with a fake socket and fake timers:
// one line, first in first out, paused on `rate_limited` and resumed in order.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MIN_PAUSE_MS, Outbox } from "../../../ui/static/js/outbox.js";

/** An outbox on a fake socket: ``wire`` is every frame sent; ``tick(ms)`` runs due timers. */
function harness({ online = true } = {}) {
  const wire = [];
  const timers = [];
  let now = 0;
  const world = { online, wire, events: [] };
  world.box = new Outbox({
    transmit: (conv, msg) => {
      if (!world.online) return false;
      wire.push({ conv: conv.name, body: msg.body, client_id: msg.client_id });
      return true;
    },
    changed: (what, conv, msg) => world.events.push([what, msg.body]),
    setTimer: (fn, ms) => {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => timers.splice(timers.indexOf(timer), 1),
  });
  world.tick = (ms) => {
    now += ms;
    for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
      if (timer.at <= now) {
        timers.splice(timers.indexOf(timer), 1);
        timer.fn();
      }
    }
  };
  world.pending = () => timers.length;
  return world;
}

const conv = (name) => ({ name, outbox: [] });
let counter = 0;
const message = (body) => ({ client_id: `c${(counter += 1)}`, body, state: "pending", id: null });

test("one message on the wire at a time, the next after the ack", () => {
  const w = harness();
  const room = conv("general");
  const [a, b, c] = [message("1"), message("2"), message("3")];
  for (const msg of [a, b, c]) w.box.add(room, msg);
  assert.deepEqual(w.wire.map((f) => f.body), ["1"]);
  w.box.ack(a.client_id, 10);
  assert.deepEqual(w.wire.map((f) => f.body), ["1", "2"]);
  w.box.ack(b.client_id, 11);
  w.box.ack(c.client_id, 12);
  assert.deepEqual(w.wire.map((f) => f.body), ["1", "2", "3"]);
  assert.equal(a.state, "sent");
  assert.equal(c.id, 12);
  assert.equal(room.outbox.length, 0);
  assert.equal(w.box.size, 0);
});

test("rate_limited holds the message and everything behind it, then resends in order", () => {
  const w = harness();
  const room = conv("general");
  const dm = conv("bob");
  const [a, b, c] = [message("a"), message("b"), message("c")];
  w.box.add(room, a);
  w.box.add(dm, b);
  w.box.add(room, c);
  assert.equal(w.box.refuse({ code: "rate_limited", ref: a.client_id, retry_after: 1.5 }), true);
  assert.equal(a.state, "pending");
  assert.equal(a.waiting, true);
  w.tick(1000);
  assert.deepEqual(w.wire.map((f) => f.body), ["a"], "nothing overtakes the refused one");
  w.tick(600);
  assert.deepEqual(w.wire.map((f) => f.body), ["a", "a"]);
  assert.equal(a.waiting, false);
  w.box.ack(a.client_id, 1);
  w.box.ack(b.client_id, 2);
  w.box.ack(c.client_id, 3);
  assert.deepEqual(w.wire.map((f) => `${f.conv}:${f.body}`), ["general:a", "general:a", "bob:b", "general:c"]);
});

test("a retry_after of 0 (or none) still resends", () => {
  for (const retryAfter of [0, undefined, null]) {
    const w = harness();
    const room = conv("general");
    const a = message("zero");
    w.box.add(room, a);
    w.box.refuse({ code: "rate_limited", ref: a.client_id, retry_after: retryAfter });
    assert.equal(w.pending(), 1, "a timer is set");
    w.tick(MIN_PAUSE_MS);
    assert.equal(w.wire.length, 2, `resent after retry_after=${retryAfter}`);
  }
});

test("120 messages under a token-bucket limit are stored in typing order, none lost", () => {
  const w = harness();
  const room = conv("general");
  const stored = [];
  let tokens = 30;
  let clock = 0;
  const msgs = Array.from({ length: 120 }, (_, i) => message(String(i)));
  for (const msg of msgs) w.box.add(room, msg);
  // The server: answers whatever is on the wire, refusing when the bucket is empty.
  for (let step = 0; step < 10000 && stored.length < 120; step += 1) {
    const frame = w.wire.shift();
    if (!frame) {
      w.tick(10);
      clock += 10;
      tokens = Math.min(30, tokens + 0.05); // 5 per second
      continue;
    }
    if (tokens >= 1) {
      tokens -= 1;
      if (!stored.includes(frame.body)) stored.push(frame.body);
      w.box.ack(frame.client_id, stored.indexOf(frame.body) + 1);
    } else {
      w.box.refuse({ code: "rate_limited", ref: frame.client_id, retry_after: 0 });
    }
  }
  assert.deepEqual(stored, msgs.map((m) => m.body));
  assert.ok(msgs.every((m) => m.state === "sent"));
});

test("offline: nothing is lost, the head goes when the socket is back", () => {
  const w = harness({ online: false });
  const room = conv("general");
  const [a, b] = [message("a"), message("b")];
  w.box.add(room, a);
  w.box.add(room, b);
  assert.equal(w.wire.length, 0);
  assert.equal(room.outbox.length, 2, "both shown as unsent");
  w.online = true;
  w.box.connected();
  assert.deepEqual(w.wire.map((f) => f.body), ["a"]);
});

test("after a reconnect the unacknowledged head is sent again (same client_id)", () => {
  const w = harness();
  const room = conv("general");
  const a = message("a");
  w.box.add(room, a);
  w.box.connected();
  assert.deepEqual(w.wire.map((f) => f.client_id), [a.client_id, a.client_id]);
});

test("a refusal for good marks the message failed in place and the line goes on", () => {
  const w = harness();
  const room = conv("general");
  const [a, b] = [message("a"), message("b")];
  w.box.add(room, a);
  w.box.add(room, b);
  w.box.refuse({ code: "not_joined", ref: a.client_id });
  assert.equal(a.state, "failed");
  assert.equal(a.error.code, "not_joined");
  assert.deepEqual(room.outbox, [a, b], "still shown, in place");
  assert.deepEqual(w.wire.map((f) => f.body), ["a", "b"]);
  w.box.ack(b.client_id, 5);
  w.box.retry(a);
  assert.equal(a.state, "pending");
  assert.deepEqual(w.wire.map((f) => f.body), ["a", "b", "a"]);
});

test("a message coming back before its ack counts as the ack, once", () => {
  const w = harness();
  const room = conv("general");
  const a = message("a");
  w.box.add(room, a);
  assert.ok(w.box.ack(a.client_id, 7));
  assert.equal(w.box.ack(a.client_id, 7), null);
  assert.equal(w.box.refuse({ code: "rate_limited", ref: a.client_id }), false);
});

test("errors that are not about our messages are left alone", () => {
  const w = harness();
  assert.equal(w.box.refuse({ code: "unknown_room", ref: "join" }), false);
});
