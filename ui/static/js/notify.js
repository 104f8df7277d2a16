// Notifications: which incoming message deserves one, how it is shown (the browser's
// Notification API, or the desktop launcher's native one through pywebview's bridge), and the
// count of unread messages the person would be told of (the page title, the desktop badge).
// The decision functions at the top are pure (unit-tested under node); `init` wires the page.
// Which of a person's tabs notifies, and what the others show, is tabs.js's to know.
// docs/protocol.md, "Notifications in the web client" and "Desktop bridge".

import * as state from "./state.js";
import * as tabs from "./tabs.js";

const SOUND_KEY = "deskchat.sound";
const BODY_CHARS = 200;

/** Whether ``conv``'s level lets a message through: "all", or "mentions" and it names me. */
export function levelLets(conv, msg, me) {
  if (conv.notify === "none") return false;
  if (conv.notify === "all") return true;
  return Array.isArray(msg.mentions) && msg.mentions.includes(me);
}

/**
 * The one rule: notify for a message the level lets through, not the person's own, not while
 * they are "do not disturb", and not while any of their tabs shows its conversation in a
 * focused window (``onScreen``); and only from the one tab that notifies (``notifier``), so a
 * person with several tabs open hears of it once.
 */
export function shouldNotify({ conv, msg, me, myStatus, onScreen, notifier = true }) {
  if (!notifier) return false;
  if (msg.user === me) return false;
  if (myStatus === "dnd") return false;
  if (onScreen) return false;
  return levelLets(conv, msg, me);
}

/** What a conversation adds to the title count: its unread mentions (or all its unread
 * messages at level "all"), nothing when muted. */
export function attentionOf(conv) {
  if (!conv.member || conv.notify === "none") return 0;
  return conv.notify === "all" ? conv.unread : conv.mentions;
}

export function attentionCount(convs) {
  let total = 0;
  for (const conv of convs) total += attentionOf(conv);
  return total;
}

/** The conversation as the desktop bridge names it: {room} or {with}. */
export const bridgeTarget = (conv) => (conv.kind === "room" ? { room: conv.name } : { with: conv.name });

/** Title and body, plain text (the Notification API and the launcher show text only). */
export function notificationText(conv, msg, translate) {
  const chars = Array.from(msg.body);
  const body = chars.length > BODY_CHARS ? `${chars.slice(0, BODY_CHARS).join("")}…` : msg.body;
  const title = conv.kind === "room" ? translate("{user} in #{room}", { user: msg.user, room: conv.name }) : msg.user;
  return { title, body };
}

// --- the page ---------------------------------------------------------------------------------

let openConversation = () => {};
let translate = (key) => key;
let soundUrl = "";
let lastCount = null;
const shown = new Set(); // notifications still on screen, closed when their conversation is read

/** The launcher's bridge when the page runs in the desktop window, else null. */
export function desktopBridge() {
  const api = globalThis.pywebview && globalThis.pywebview.api;
  return api && typeof api.notify === "function" ? api : null;
}

/** "desktop", "unsupported", or the browser's permission: "default", "granted", "denied". */
export function permission() {
  if (desktopBridge()) return "desktop";
  if (typeof Notification === "undefined") return "unsupported";
  return Notification.permission;
}

/** Ask the browser for permission: only ever called from the person's click on the bell. */
export async function requestPermission() {
  if (permission() !== "default") return permission();
  try {
    await Notification.requestPermission();
  } catch {
    // an old browser with the callback form, or a refusal to ask: the state below says which
  }
  return permission();
}

export function soundOn() {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

export function setSound(on) {
  try {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  } catch {
    // storage disabled: the switch lasts for this page only
  }
}

async function decide(conv, frame) {
  const msg = { id: frame.id, user: frame.user, body: frame.body, mentions: frame.mentions || [] };
  const me = state.myName();
  // The desktop window is a browser of its own, with no tabs to share with.
  const notifier = Boolean(desktopBridge()) || tabs.isNotifier();
  const facts = { conv, msg, me, myStatus: state.statusOf(me), notifier };
  // Asking the other tabs is only worth it for a message that would otherwise notify.
  if (!shouldNotify({ ...facts, onScreen: false })) return;
  if (shouldNotify({ ...facts, onScreen: await tabs.onScreen(conv.key) })) deliver(conv, msg);
}

function deliver(conv, msg) {
  const { title, body } = notificationText(conv, msg, translate);
  const sound = soundOn();
  const bridge = desktopBridge();
  if (bridge) {
    // The launcher shows it natively and plays the sound itself.
    Promise.resolve(bridge.notify({ title, body, conversation: bridgeTarget(conv), sound })).catch(() => {});
    return;
  }
  if (permission() !== "granted") return;
  let notification;
  try {
    // Tagged with the message: should two tabs ever both show it, the OS keeps one.
    notification = new Notification(title, { body, tag: `deskchat-message-${msg.id}`, icon: document.querySelector("link[rel=icon]")?.href });
  } catch {
    return; // e.g. Android Chrome allows only service-worker notifications
  }
  notification.onclick = () => {
    window.focus();
    openConversation(conv.key);
    notification.close();
  };
  notification.onclose = () => shown.delete(notification);
  notification.deskchatKey = conv.key;
  shown.add(notification);
  if (sound && soundUrl) new Audio(soundUrl).play().catch(() => {});
}

function updateCount() {
  const count = attentionCount(state.members());
  if (count === lastCount) return;
  lastCount = count;
  const bridge = desktopBridge();
  if (bridge && typeof bridge.set_unread === "function") Promise.resolve(bridge.set_unread(count)).catch(() => {});
}

/** Count of unread messages the person would be told of (the title's "(N)"). */
export const titleCount = () => attentionCount(state.members());

/**
 * Wire the page. ``open(key)`` opens a conversation; ``t`` translates; ``sound`` is the URL of
 * the notification sound.
 */
export function init({ open, t, sound }) {
  openConversation = open;
  translate = t;
  soundUrl = sound;
  tabs.init();
  state.on("incoming", (conv, frame) => { decide(conv, frame); });
  state.on("conv", (conv) => {
    updateCount();
    if (conv.unread === 0) {
      for (const notification of [...shown]) if (notification.deskchatKey === conv.key) notification.close();
    }
  });
  state.on("synced", updateCount);
  // pywebview injects its bridge after the page has loaded: tell it the count once it is there.
  window.addEventListener("pywebviewready", () => {
    lastCount = null;
    updateCount();
  });
  // The launcher calls this when a native notification is clicked (evaluate_js).
  window.deskchat = {
    ...(window.deskchat || {}),
    openConversation(target) {
      const key = target && typeof target.room === "string" ? state.roomKey(target.room)
        : target && typeof target.with === "string" ? state.dmKey(target.with) : null;
      if (!key) return false;
      const conv = state.getConv(key);
      if (!conv || !conv.member) return false; // nothing the user is not already in
      openConversation(key);
      return true;
    },
  };
}
