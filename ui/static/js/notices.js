// What the page tells the user outside the conversation: the connection's state (beside the
// name, and a banner when it matters), the toast for errors that belong nowhere else, and the
// readable text of the server's error codes.

import { h, icon } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

const ERROR_TEXT = {
  bad_room_name: "Room names are 1 to 64 letters, digits, spaces or punctuation.",
  dm_to_self: "You cannot send a direct message to yourself.",
  rate_limited: "Too many messages; wait a moment.",
  body_too_long: "The message is too long.",
  empty_body: "The message is empty.",
  too_many_rooms: "You are in too many rooms.",
  not_joined: "Join the room first.",
  unknown_room: "That room does not exist.",
  not_allowed: "Only an administrator can rename a room.",
  server_error: "The server could not handle that.",
  unknown_file: "This file cannot be sent here, or it waited unsent too long and was removed: upload it again.",
};

// A database fault the server named (`fault` in `server_error`): what happened and what to do.
const FAULT_TEXT = {
  disk_full: "The disk holding the chat's database is full: nothing new can be stored. Whoever runs Deskchat must free space on that disk; then unsent messages can be sent again.",
  busy: "Another program holds the chat's database locked: nothing new can be stored until it lets go. Send again in a moment.",
  damaged: "The chat's database is damaged: nothing can be stored. Whoever runs Deskchat should quit it and restore the last backup (deskchat restore FILE).",
};

/** A `server_error` frame in words: the fault it names, else the server's own detail. */
export function faultText(frame) {
  if (FAULT_TEXT[frame.fault]) return t(FAULT_TEXT[frame.fault]);
  return frame.detail || t("The server could not handle that.");
}

/** An error frame as a sentence for people, in the page's language. */
export function errorText(frame) {
  if (frame.code === "server_error") return faultText(frame);
  if (frame.code === "unknown_room" && frame.room && frame.renamed_to) return t("#{room} is now called #{name}.", { room: frame.room, name: frame.renamed_to });
  if (frame.code === "unknown_room" && frame.room) return t("There is no room called #{room}.", { room: frame.room });
  if (frame.code === "room_exists") return t("There is already a room called #{room}.", { room: frame.room });
  if (frame.code === "unknown_user") {
    const match = /'(.*)'/.exec(frame.detail || "");
    return t("There is no user called {user}.", { user: match ? match[1] : "" });
  }
  return ERROR_TEXT[frame.code] ? t(ERROR_TEXT[frame.code]) : frame.detail || frame.code;
}

let toastTimer = null;

/** A short notice at the bottom; ``action`` ({label, run}) adds a button (e.g. "Undo"), and
 * keeps the notice up longer so there is time to reach it. */
export function toast(text, action = null) {
  const box = $("toast");
  const parts = [h("span", { text })];
  if (action) {
    parts.push(" ", h("button", {
      type: "button", class: "link-button toast-action", text: action.label,
      on: { click: () => { box.hidden = true; action.run(); } },
    }));
  }
  box.replaceChildren(...parts);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, action ? 10000 : 6000);
}

let retryNow = () => {};

/** What the banner's "Retry now" does (connection.js's retryNow). */
export function onRetryNow(fn) {
  retryNow = fn;
}

/** Show a state of connection.js: "connecting", "connected", "reconnecting", "refused",
 * "signed-out", "fault" (a database fault: faults.js says it in its own notice). */
export function showConnectionState(root, state) {
  root.dataset.state = state;
  const labels = {
    connecting: t("Connecting…"), connected: t("Connected"), reconnecting: t("Reconnecting…"),
    refused: t("Too many tabs"), "signed-out": t("Reconnecting…"), fault: t("Server problem"),
  };
  $("conn-text").textContent = labels[state] || state;
  const banner = $("conn-banner");
  banner.hidden = !(state === "reconnecting" || state === "refused");
  // The status beside the name stays short; the banner says what to do.
  const text = state === "refused" ? t("Too many open tabs: close some and reload.") : t("Connection lost. Reconnecting…");
  const again = h("button", { type: "button", class: "link-button", id: "retry-now", text: t("Retry now"), on: { click: () => retryNow() } });
  banner.replaceChildren(h("span", { text }), " ", again);
  if (state === "signed-out") {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`${root.dataset.loginUrl}?next=${next}`);
  }
}

/** Give the server's flash messages (the `.notice` banners) a close button. */
export function makeNoticesDismissable() {
  for (const notice of document.querySelectorAll(".notice")) {
    const close = h("button", { type: "button", class: "icon-button", "aria-label": t("Dismiss"), title: t("Dismiss") }, icon("close"));
    close.addEventListener("click", () => notice.remove());
    notice.append(close);
  }
}
