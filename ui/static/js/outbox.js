// The person's own messages, on their way to the server. One line for the whole page, first in
// first out, one message on the wire at a time: the next leaves only when the server has
// acknowledged the one before, so the server stores them in the order they were typed, and
// everyone (the sender after a reload included) sees that order. A `rate_limited` refusal
// pauses the line for the `retry_after` the server gave and sends the same message again; the
// ones behind it wait. After a reconnect the head is sent again: the server keeps one message
// per client_id, so a resend never makes a duplicate.
//
// No DOM and no imports: outgoing.js wires it to the socket and the store (state.js), and
// tests/ui/js/outbox.test.mjs drives it with fake timers under node.

/** Shortest pause, so a `retry_after` of 0 (or a missing one) still waits a tick, then resends. */
export const MIN_PAUSE_MS = 50;

/** Errors that say "not now" rather than "never": the message stays in line. */
const TRANSIENT = new Set(["rate_limited"]);

export class Outbox {
  /**
   * @param {object} options
   * @param {(conv: object, msg: object) => boolean} options.transmit  send one frame; false
   *   when the socket is not open (the message waits for `connected()`)
   * @param {(what: string, conv: object, msg: object) => void} [options.changed]  told
   *   "queued", "state" (pending/failed/waiting changed), "acked", "requeued" or "removed"
   * @param {Function} [options.setTimer] @param {Function} [options.clearTimer]  for tests
   */
  constructor({ transmit, changed = () => {}, setTimer, clearTimer }) {
    this.transmit = transmit;
    this.changed = changed;
    this.setTimer = setTimer || ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = clearTimer || ((timer) => clearTimeout(timer));
    this.line = []; // {conv, msg} waiting to be stored, in typing order; line[0] may be on the wire
    this.unacked = new Map(); // client_id -> {conv, msg}: every message not stored yet, failed ones too
    this.onWire = false; // line[0] was sent and its answer has not come
    this.timer = null; // set while the line is paused by `rate_limited`
  }

  /** Messages typed but not yet stored (failed ones included). */
  get size() {
    return this.unacked.size;
  }

  /** Put ``msg`` (its client_id set, state "pending") at the end of the line for ``conv``. */
  add(conv, msg) {
    const entry = { conv, msg };
    conv.outbox.push(msg);
    this.line.push(entry);
    this.unacked.set(msg.client_id, entry);
    this.changed("queued", conv, msg);
    this.pump();
  }

  /** Send the head of the line unless it is already out, the line is paused, or offline. */
  pump() {
    if (this.onWire || this.timer !== null || this.line.length === 0) return;
    const { conv, msg } = this.line[0];
    if (msg.waiting) {
      msg.waiting = false;
      this.changed("state", conv, msg);
    }
    if (this.transmit(conv, msg)) this.onWire = true;
  }

  /** The server stored ``clientId`` as ``id`` (an `ack`, or our own `message` coming back).
   * Returns the entry {conv, msg}, or null when it is not one of ours (or already acked). */
  ack(clientId, id) {
    const entry = this.unacked.get(clientId);
    if (!entry) return null;
    this.unacked.delete(clientId);
    const at = this.line.indexOf(entry);
    if (at >= 0) this.line.splice(at, 1);
    if (at === 0) this.onWire = false;
    const { conv, msg } = entry;
    const shown = conv.outbox.indexOf(msg);
    if (shown >= 0) conv.outbox.splice(shown, 1);
    msg.state = "sent";
    msg.id = id;
    msg.error = null;
    msg.waiting = false;
    this.changed("acked", conv, msg);
    this.pump();
    return entry;
  }

  /** An error frame: when its ref is one of our messages, handle it and return true. */
  refuse(frame) {
    const entry = frame.ref ? this.unacked.get(frame.ref) : undefined;
    if (!entry) return false;
    const { conv, msg } = entry;
    const at = this.line.indexOf(entry);
    if (at === 0) this.onWire = false;
    if (TRANSIENT.has(frame.code) && at >= 0) {
      // Hold this one, and so everything behind it, for as long as the server asked.
      msg.waiting = true;
      this.changed("state", conv, msg);
      this.pause(frame.retry_after);
      return true;
    }
    // Refused for good (no such user, not a member...): marked in place with the reason; the
    // line goes on, and Retry puts it at the end.
    if (at >= 0) this.line.splice(at, 1);
    msg.state = "failed";
    msg.waiting = false;
    msg.error = frame;
    this.changed("state", conv, msg);
    this.pump();
    return true;
  }

  /** Wait ``seconds`` (the server's `retry_after`; 0 or missing: a tick) before sending again. */
  pause(seconds) {
    const ms = Math.max(MIN_PAUSE_MS, (Number(seconds) || 0) * 1000);
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  /** The person pressed Retry on a failed message: it goes to the end of the line. */
  retry(msg) {
    const entry = this.unacked.get(msg.client_id);
    if (!entry || msg.state !== "failed") return;
    msg.state = "pending";
    msg.error = null;
    const shown = entry.conv.outbox.indexOf(msg);
    if (shown >= 0) entry.conv.outbox.splice(shown, 1);
    entry.conv.outbox.push(msg);
    this.line.push(entry);
    this.changed("requeued", entry.conv, msg);
    this.pump();
  }

  /** Forget a message that was never stored (its conversation turned out not to exist). */
  discard(msg) {
    const entry = this.unacked.get(msg.client_id);
    if (!entry) return;
    this.unacked.delete(msg.client_id);
    const at = this.line.indexOf(entry);
    if (at >= 0) this.line.splice(at, 1);
    if (at === 0) this.onWire = false;
    const shown = entry.conv.outbox.indexOf(msg);
    if (shown >= 0) entry.conv.outbox.splice(shown, 1);
    this.changed("removed", entry.conv, msg);
    this.pump();
  }

  /** A new socket: whatever was on the wire may have been lost with the old one; send the head
   * again (a pause set by the server still holds). */
  connected() {
    this.onWire = false;
    this.pump();
  }
}
