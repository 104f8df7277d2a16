// Keyboard ways around: Ctrl+K (Cmd+K on a Mac) opens the quick switcher, a dialog that
// filters the sidebar's conversations as you type (Enter opens the highlighted one);
// Alt+Shift+↓ and Alt+Shift+↑ open the next and the previous conversation with unread messages,
// in the sidebar's order.

import { h, icon } from "./dom.js";
import { t, tn } from "./i18n.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
const ui = { dialog: $("switcher"), input: $("switcher-input"), list: $("switcher-list"), status: $("switcher-status") };
let open = () => {};
let matches = [];
let selected = 0;

/** The sidebar's conversations in the order it shows them (rooms, then DMs). */
function listed() {
  return [...document.querySelectorAll("#sidebar .conv-link[data-key]")]
    .map((link) => state.getConv(link.dataset.key))
    .filter(Boolean);
}

function render() {
  const query = ui.input.value.trim().toLocaleLowerCase();
  matches = listed().filter((conv) => conv.name.toLocaleLowerCase().includes(query));
  selected = Math.min(selected, Math.max(0, matches.length - 1));
  ui.list.replaceChildren(...matches.map((conv, index) => h("li", {
    id: `switcher-option-${index}`, role: "option", class: "switcher-option",
    "aria-selected": String(index === selected),
    on: { click: () => choose(conv), mousemove: () => select(index) },
  }, conv.kind === "room" ? icon("hash", "conv-icon") : icon("users", "conv-icon"),
  h("span", { class: "conv-name", dir: "auto", text: conv.name }),
  conv.unread > 0 ? h("span", { class: "badge", text: conv.unread > 99 ? "99+" : String(conv.unread) }) : null)));
  if (matches.length) ui.input.setAttribute("aria-activedescendant", `switcher-option-${selected}`);
  else ui.input.removeAttribute("aria-activedescendant");
  ui.status.textContent = matches.length
    ? tn("{n} conversation", "{n} conversations", matches.length)
    : t("No conversation matches.");
}

function select(index) {
  selected = index;
  for (const [i, option] of [...ui.list.children].entries()) option.setAttribute("aria-selected", String(i === index));
  ui.input.setAttribute("aria-activedescendant", `switcher-option-${index}`);
  ui.list.children[index]?.scrollIntoView({ block: "nearest" });
}

function choose(conv) {
  ui.dialog.close();
  open(conv.key);
}

export function show() {
  if (ui.dialog.open) return;
  ui.input.value = "";
  selected = 0;
  render();
  ui.dialog.showModal();
  ui.input.focus();
}

/** Open the next (``step`` 1) or previous (-1) conversation with unread messages. */
export function jumpToUnread(step) {
  const all = listed();
  if (!all.length) return;
  const current = all.indexOf(state.active());
  for (let i = 1; i <= all.length; i += 1) {
    const conv = all[(((current + step * i) % all.length) + all.length) % all.length];
    if (conv.unread > 0 && conv !== state.active()) return open(conv.key);
  }
}

export function init(callbacks) {
  open = callbacks.open;
  ui.input.addEventListener("input", () => {
    selected = 0;
    render();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && matches.length) {
      event.preventDefault();
      select((selected + 1) % matches.length);
    } else if (event.key === "ArrowUp" && matches.length) {
      event.preventDefault();
      select((selected - 1 + matches.length) % matches.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (matches[selected]) choose(matches[selected]);
    }
  });
  ui.dialog.addEventListener("click", (event) => {
    if (event.target === ui.dialog) ui.dialog.close(); // a click on the backdrop
  });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.code === "KeyK" || event.key.toLowerCase() === "k")) {
      event.preventDefault();
      show();
    } else if (event.altKey && event.shiftKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      jumpToUnread(event.key === "ArrowDown" ? 1 : -1);
    }
  });
}
