// The open conversation's notification level: the select in its header sends `notify`, and
// the server's answer (to every tab of the person) is what the select then shows.

import * as state from "./state.js";

let select = null;

function render() {
  const conv = state.active();
  const shown = Boolean(conv && conv.member);
  select.hidden = !shown;
  if (shown) select.value = conv.notify;
}

export function init() {
  select = document.getElementById("conv-notify");
  select.addEventListener("change", () => {
    const conv = state.active();
    if (!conv) return;
    const wanted = select.value;
    // Shown as the server had it until its answer comes (if it never does, nothing changed).
    select.value = conv.notify;
    state.sendFrame({ type: "notify", ...state.target(conv, "with"), level: wanted });
  });
  state.on("active", render);
  state.on("conv", (conv) => { if (conv === state.active()) render(); });
}
