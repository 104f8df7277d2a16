// A person's tabs of one browser (one profile: they share its storage, locks and channels)
// agree on two things, so that a message makes one notification, not one per tab:
//
// - which tab notifies: the one holding the Web Lock "deskchat.notifier.<user>". Every tab
//   asks for it; the browser grants it to one and, when that tab closes (or crashes), to the
//   next that asked.
// - which conversation each tab shows in a focused window: posted on a BroadcastChannel on
//   every change, so the notifying tab stays quiet about a conversation another tab has on
//   screen. Each tab also holds a lock of its own while it lives, so a tab that vanished
//   without saying goodbye is told from one that is still there.
//
// The desktop window is a browser of its own and shares nothing with a browser's tabs. Where
// the browser has no Web Locks (an old one, or a page that is not a secure context) every tab
// notifies, as a lone tab would; the notification's tag then lets the OS collapse duplicates.
// notify.js applies the rule; this module only knows about tabs.

import * as state from "./state.js";

const CHANNEL = "deskchat.tabs.";
const NOTIFIER = "deskchat.notifier.";
const ALIVE = "deskchat.tab.";

// Not crypto.randomUUID(): it exists only in secure contexts, and a LAN address may not be one.
const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
const others = new Map(); // tab id -> {key, shown}: what each other tab shows, and whether in a focused window
let channel = null;
let notifier = false;
let locks = null;
let user = "";

/** Whether this tab is the one of the person's tabs that notifies. */
export const isNotifier = () => notifier;

function onScreenHere() {
  const conv = state.active();
  return { key: conv ? conv.key : null, shown: Boolean(conv) && document.visibilityState === "visible" && document.hasFocus() };
}

function post(message) {
  if (!channel) return;
  try {
    channel.postMessage({ ...message, id });
  } catch {
    // the channel closed with the page
  }
}

const announce = () => post({ kind: "state", ...onScreenHere() });

function heard({ data }) {
  if (!data || typeof data.id !== "string" || data.id === id) return;
  if (data.kind === "state") others.set(data.id, { key: data.key, shown: Boolean(data.shown) });
  else if (data.kind === "bye") others.delete(data.id);
  if (data.kind === "hello") {
    others.set(data.id, { key: data.key, shown: Boolean(data.shown) });
    announce(); // a new tab learns what the others show
  }
}

/**
 * Whether this tab or another live tab of the person shows conversation ``key`` in a focused
 * window. A tab that said so but is gone (its lock is no longer held) is forgotten.
 */
export async function onScreen(key) {
  const here = onScreenHere();
  if (here.shown && here.key === key) return true;
  const claims = [...others].filter(([, tab]) => tab.shown && tab.key === key).map(([tabId]) => tabId);
  if (!claims.length) return false;
  if (!locks) return true;
  let held;
  try {
    held = new Set((await locks.query()).held.map((lock) => lock.name));
  } catch {
    return true;
  }
  const alive = claims.filter((tabId) => held.has(ALIVE + tabId));
  for (const tabId of claims) if (!alive.includes(tabId)) others.delete(tabId);
  return alive.length > 0;
}

const forever = () => new Promise(() => {});

function holdLocks() {
  locks = globalThis.navigator && navigator.locks && typeof navigator.locks.request === "function" ? navigator.locks : null;
  if (!locks) {
    notifier = true;
    return;
  }
  // Held for the page's life: the browser lets go when the tab closes, crashes or navigates.
  locks.request(ALIVE + id, forever).catch(() => {});
  locks
    .request(NOTIFIER + user, () => {
      notifier = true;
      return forever();
    })
    .catch(() => {
      notifier = true; // the browser refused the lock (e.g. an opaque origin): notify as a lone tab
      locks = null;
    });
}

export function init() {
  user = state.myName();
  holdLocks();
  if (typeof BroadcastChannel === "function") {
    channel = new BroadcastChannel(CHANNEL + user);
    channel.addEventListener("message", heard);
    post({ kind: "hello", ...onScreenHere() });
  }
  state.on("active", announce);
  window.addEventListener("focus", announce);
  window.addEventListener("blur", announce);
  document.addEventListener("visibilitychange", announce);
  window.addEventListener("pagehide", () => post({ kind: "bye" }));
  window.addEventListener("pageshow", (event) => { if (event.persisted) post({ kind: "hello", ...onScreenHere() }); });
}
