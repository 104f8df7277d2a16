// Away by itself: after `away_after_seconds` (hello's limits) with no key, click, touch or
// pointer movement in any of the person's tabs, the page sets their status to "away"; the next
// activity sets it back to "available", but only when it was a page that went away (a status
// the person chose stays). Tabs share the last activity and that mark through localStorage.

import * as state from "./state.js";

const ACTIVITY = "deskchat.activity";
const AUTO = "deskchat.autoAway";
const WRITE_EVERY_MS = 2000;

let lastActivity = Date.now();
let lastWritten = 0;
let timer = null;

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage disabled: this tab alone decides
  }
}

const me = () => state.myName();

/** The person chose a status: it stays until they change it again. */
export function choose(status) {
  write(AUTO, null);
  state.sendFrame({ type: "status", status });
}

function active() {
  const now = Date.now();
  lastActivity = now;
  if (now - lastWritten > WRITE_EVERY_MS) {
    lastWritten = now;
    write(ACTIVITY, String(now));
  }
  if (state.statusOf(me()) === "away" && read(AUTO) === "1") {
    write(AUTO, null);
    state.sendFrame({ type: "status", status: "available" });
  }
}

function check() {
  const after = Number(state.getLimits().away_after_seconds) || 0;
  if (after <= 0 || state.statusOf(me()) !== "available") return;
  const shared = Number(read(ACTIVITY)) || 0;
  if (Date.now() - Math.max(lastActivity, shared) < after * 1000) return;
  if (state.sendFrame({ type: "status", status: "away" }) !== false) write(AUTO, "1");
}

function schedule() {
  clearInterval(timer);
  const after = Number(state.getLimits().away_after_seconds) || 0;
  if (after <= 0) return;
  // A quarter of the idle time, so "away" shows at most a quarter late; at most every 30 s.
  timer = setInterval(check, Math.min(30_000, Math.max(250, (after * 1000) / 4)));
}

export function init() {
  for (const kind of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "focus"]) {
    window.addEventListener(kind, active, { passive: true, capture: true });
  }
  state.on("limits", schedule);
}
