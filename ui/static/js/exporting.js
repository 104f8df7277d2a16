// The conversation header's export menu: the open conversation as one HTML page (readable
// offline) or as JSON, downloaded from /export/ (docs/protocol.md, "Export").

import * as state from "./state.js";

const $ = (id) => document.getElementById(id);
const ui = { menu: $("export-menu"), button: $("export-button"), list: $("export-list"), html: $("export-html"), json: $("export-json") };

function href(conv, format) {
  const params = new URLSearchParams({ [conv.kind === "room" ? "room" : "with"]: conv.name, format });
  return `/export/?${params}`;
}

function setOpen(open) {
  ui.list.hidden = !open;
  ui.button.setAttribute("aria-expanded", String(open));
}

function render() {
  const conv = state.active();
  // A room the person left, or a DM not yet written in, has nothing they may export.
  ui.menu.hidden = !conv || !conv.member;
  setOpen(false);
  if (ui.menu.hidden) return;
  ui.html.href = href(conv, "html");
  ui.json.href = href(conv, "json");
}

export function init() {
  state.on("active", render);
  state.on("conv", (conv) => { if (conv === state.active()) render(); });
  ui.button.addEventListener("click", () => setOpen(ui.list.hidden));
  for (const link of [ui.html, ui.json]) link.addEventListener("click", () => setOpen(false));
  ui.menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.list.hidden) {
      setOpen(false);
      ui.button.focus();
    }
  });
  document.addEventListener("click", (event) => { if (!ui.menu.contains(event.target)) setOpen(false); });
}
