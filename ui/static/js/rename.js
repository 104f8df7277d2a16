// Renaming a room (issue 14: the install's `general` among them). An administrator who is a
// member gets a "Rename room" button in the room's header; the name goes to the server as
// typed, which refuses it in words (taken, not a valid name) or tells every member's page at
// once (`renamed`, applied in incoming.js). A link or a typed name that a room had before says
// where it went and opens the room under its name now. docs/protocol.md, "Renaming a room".

import { h, icon } from "./dom.js";
import { t } from "./i18n.js";
import { errorText, toast } from "./notices.js";
import { joinRoom } from "./requests.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
const root = $("app");
let button = null;
let dialog = null;
let ui = {};
let pending = null; // the room's name while its rename is on the wire

function allowed(conv) {
  return root.dataset.canRename === "1" && conv && conv.kind === "room" && conv.member;
}

function renderButton() {
  button.hidden = !allowed(state.active());
}

function build() {
  button = h("button", {
    type: "button", class: "icon-button", id: "rename-button", hidden: true,
    title: t("Rename room"), "aria-label": t("Rename room"), on: { click: show },
  }, icon("pencil"));
  $("leave-button").before(button);
  ui.input = h("input", { id: "rename-input", type: "text", autocomplete: "off", required: true });
  ui.label = h("label", { for: "rename-input", id: "rename-title" });
  ui.error = h("p", { class: "form-error", id: "rename-error", role: "alert" });
  ui.count = h("span", { class: "char-count", id: "rename-count", "aria-live": "polite", hidden: true });
  ui.save = h("button", { type: "submit", class: "button", text: t("Rename") });
  const cancel = h("button", { type: "button", class: "link-button", text: t("Cancel"), on: { click: () => dialog.close() } });
  const form = h("form", { method: "dialog", class: "rename-form" },
    h("h2", { class: "rename-heading", id: "rename-heading", text: t("Rename room") }),
    ui.label, ui.input, ui.count, ui.error, h("div", { class: "rename-actions" }, cancel, ui.save));
  form.addEventListener("submit", submit);
  dialog = h("dialog", { class: "rename-dialog", id: "rename-dialog", "aria-labelledby": "rename-heading" }, form);
  ui.input.setAttribute("aria-describedby", "rename-error rename-count");
  ui.input.addEventListener("input", () => {
    ui.error.textContent = "";
    updateCount();
  });
  dialog.addEventListener("close", () => {
    pending = null;
    ui.save.disabled = false;
  });
  document.body.append(dialog);
}

/** Names are refused in words, never cut: a counter near the server's limit. */
function updateCount() {
  const max = state.getLimits().max_room_name_chars;
  const n = Array.from(ui.input.value.trim()).length;
  ui.count.hidden = n < max - 8;
  ui.count.classList.toggle("over", n > max);
  ui.count.textContent = t("{n} / {max}", { n, max });
}

function show() {
  const conv = state.active();
  if (!allowed(conv)) return;
  ui.label.textContent = t("New name for #{room}", { room: conv.name });
  ui.input.value = conv.name;
  ui.error.textContent = "";
  updateCount();
  dialog.showModal();
  ui.input.select();
}

function submit(event) {
  event.preventDefault();
  const conv = state.active();
  const name = ui.input.value.trim();
  if (!conv || !name) return;
  if (!state.sendFrame({ type: "rename", room: conv.name, name })) {
    ui.error.textContent = t("Not connected. Try again in a moment.");
    return;
  }
  pending = conv.name;
  ui.save.disabled = true;
}

export function init() {
  build();
  state.on("active", renderButton);
  state.on("conv", (conv) => { if (conv === state.active()) renderButton(); });
  state.on("renamed", (conv, oldKey, oldName) => {
    if (pending !== null && pending === oldName) {
      pending = null;
      ui.save.disabled = false;
      dialog.close();
    }
    if (conv === state.active()) {
      // The address names the room as it is called now (a reload opens it again).
      history.replaceState(null, "", `/?${new URLSearchParams({ room: conv.name })}`);
    }
    toast(t("#{room} is now called #{name}.", { room: oldName, name: conv.name }));
  });
  state.on("rename-error", (frame) => {
    ui.save.disabled = false;
    pending = null;
    if (dialog.open) ui.error.textContent = errorText(frame);
    else toast(errorText(frame));
  });
  // A name the room had before: say where it went, and open it under its name now.
  state.on("join-renamed", (frame, request) => {
    toast(t("#{room} is now called #{name}.", { room: frame.room || request.name, name: frame.renamed_to }));
    joinRoom(frame.renamed_to, { origin: request.origin });
  });
  state.on("limits", () => { if (dialog.open) updateCount(); });
}
