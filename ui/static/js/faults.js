// Server faults, said in the page (issue 19): the disk holding the chat's database is full,
// another program holds it locked, or it is damaged. The server names the fault in its
// `server_error` frames (`fault`, docs/protocol.md), on a send that could not be stored or
// just before it closes a new connection with 4503; this module shows it in a notice that
// says what happened and what to do, in the page's language, until the fault is over (a
// message stored again, or a connection opened).

import { h } from "./dom.js";
import { t } from "./i18n.js";
import { faultText } from "./notices.js";
import * as state from "./state.js";

let banner = null;
let shown = null; // the server_error frame on show, or null
let connectionState = "connecting";
let retryNow = () => {};

/** Listen for faults; ``options.retryNow`` is the connection's "try now". */
export function init(options) {
  banner = document.getElementById("fault-banner");
  retryNow = options.retryNow;
  state.on("fault", (frame) => {
    shown = frame;
    render();
  });
  state.on("fault-over", () => {
    shown = null;
    render();
  });
}

/** The connection's state (connection.js): "fault" means a connection refused with 4503. */
export function onConnectionState(value) {
  connectionState = value;
  if (value === "fault" && shown === null) shown = { code: "server_error" };
  render();
}

function render() {
  if (!banner) return;
  banner.hidden = shown === null;
  if (shown === null) {
    banner.replaceChildren();
    return;
  }
  const refused = connectionState === "fault";
  const action = refused
    ? h("button", { type: "button", class: "link-button", text: t("Retry now"), on: { click: () => retryNow() } })
    : h("button", { type: "button", class: "link-button", text: t("Dismiss"), on: { click: () => { shown = null; render(); } } });
  const parts = [h("strong", { text: faultText(shown) })];
  if (refused) parts.push(" ", h("span", { text: t("This page keeps trying to connect.") }));
  banner.replaceChildren(h("span", {}, ...parts), " ", action);
}
