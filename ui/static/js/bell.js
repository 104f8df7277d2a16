// The bell in the sidebar's foot: a small panel with the person's status, the notifications
// switch and the sound. Permission is asked only when the person presses "Turn on
// notifications" in it (never on load); a denial is said, not asked again. Once on,
// notifications follow each conversation's level with no further switch (notify.js).

import { t } from "./i18n.js";
import * as notify from "./notify.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
let ui = null;
let sprite = "";
let setStatus = () => {};

const STATUS_WORDS = { available: "Available", away: "Away", dnd: "Do not disturb" };

function isOpen() {
  return !ui.panel.hidden;
}

function setOpen(open) {
  ui.panel.hidden = !open;
  ui.button.setAttribute("aria-expanded", String(open));
  if (open) {
    render();
    ui.status.focus();
  }
}

/** The bell and the panel as the permission and the status are now. */
function render() {
  const permission = notify.permission();
  const on = permission === "granted" || permission === "desktop";
  const dnd = state.statusOf(state.myName()) === "dnd";
  ui.button.classList.toggle("on", on && !dnd);
  ui.icon.setAttribute("href", `${sprite}#${on && !dnd ? "bell" : "bell-off"}`);
  const label = on
    ? (dnd ? t("Notifications: paused (do not disturb)") : t("Notifications: on"))
    : t("Notifications: off");
  ui.button.setAttribute("aria-label", label);
  ui.button.title = label;
  ui.enable.hidden = permission !== "default";
  ui.state.classList.toggle("denied", permission === "denied");
  ui.state.textContent = {
    desktop: t("Notifications are on: Deskchat shows them on your desktop."),
    granted: t("Notifications are on. The menu at the top of each conversation says which of its messages notify you."),
    default: t("Notifications are off. Turn them on to hear of messages while Deskchat is in the background."),
    denied: t("This browser blocks notifications from Deskchat. Allow them in the site settings (the lock next to the address), then reload."),
    unsupported: t("This browser cannot show notifications."),
  }[permission];
  ui.sound.checked = notify.soundOn();
}

function renderStatus() {
  const status = state.statusOf(state.myName());
  ui.status.value = status;
  ui.dot.className = `status-dot ${status}`;
  ui.meStatus.textContent = status === "available" ? "" : t(STATUS_WORDS[status]);
  render();
}

export function init(callbacks) {
  setStatus = callbacks.setStatus;
  sprite = $("app").dataset.icons;
  ui = {
    button: $("bell-button"), icon: $("bell-icon"), panel: $("bell-panel"), enable: $("bell-enable"),
    state: $("bell-state"), sound: $("sound-toggle"), status: $("status-select"),
    dot: $("me-status-dot"), meStatus: $("me-status"),
  };
  ui.button.addEventListener("click", () => setOpen(!isOpen()));
  ui.enable.addEventListener("click", async () => {
    await notify.requestPermission();
    render();
    if (ui.enable.hidden) ui.state.focus(); // the button went: the answer, in words, has focus
  });
  ui.sound.addEventListener("change", () => notify.setSound(ui.sound.checked));
  ui.status.addEventListener("change", () => setStatus(ui.status.value));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    event.preventDefault();
    setOpen(false);
    ui.button.focus();
  });
  document.addEventListener("click", (event) => {
    if (isOpen() && !ui.panel.contains(event.target) && !ui.button.contains(event.target)) setOpen(false);
  });
  state.on("status", (users) => { if (users.includes(state.myName())) renderStatus(); });
  renderStatus();
}
