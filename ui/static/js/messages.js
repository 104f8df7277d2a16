// The conversation pane's message list: day dividers, grouping of consecutive messages by
// the same author, the "new messages" divider, pending/failed states, and scroll keeping.
// The list is an ARIA live region (role="log"), so new messages are appended, never re-drawn.

import { avatar, h } from "./dom.js";
import { dayKey, formatDay, formatFull, formatTime, t } from "./i18n.js";
import { filesNode } from "./files.js";
import { bodyNodes } from "./mentions.js";
import { errorText } from "./notices.js";

const GROUP_WITHIN_MS = 5 * 60 * 1000;
const BOTTOM_SLACK_PX = 48;

export class MessageView {
  /**
   * @param {HTMLElement} scroller  the scrolling box
   * @param {HTMLOListElement} list  the role="log" list inside it
   * @param {(msg: object) => void} onRetry  called when a failed message's Retry is pressed
   */
  constructor(scroller, list, onRetry) {
    this.scroller = scroller;
    this.list = list;
    this.onRetry = onRetry;
    this.conv = null;
    this.nodes = new Map(); // message object -> <li>
    this.last = null; // the last message drawn, for grouping the next one
    this.found = null; // the id of the search result shown, kept highlighted across redraws
  }

  atBottom() {
    const box = this.scroller;
    return box.scrollHeight - box.scrollTop - box.clientHeight < BOTTOM_SLACK_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Draw ``conv`` from scratch (opening it, or after older history arrived). */
  render(conv, { keep = "bottom" } = {}) {
    const box = this.scroller;
    const oldHeight = box.scrollHeight;
    const oldTop = box.scrollTop;
    if (conv !== this.conv) this.found = null;
    this.conv = conv;
    this.nodes.clear();
    this.last = null;
    this.list.setAttribute("aria-busy", "true");
    const items = [];
    for (const msg of [...conv.messages, ...conv.outbox]) items.push(...this.itemsFor(msg));
    this.list.replaceChildren(...items);
    this.list.setAttribute("aria-busy", "false");
    if (keep === "bottom") this.scrollToBottom();
    else if (keep === "divider") this.scrollToDivider();
    else if (keep === "anchor") box.scrollTop = oldTop + (box.scrollHeight - oldHeight);
    else if (keep === "top") box.scrollTop = oldTop; // newer messages added below
  }

  scrollToDivider() {
    const divider = this.list.querySelector(".new-divider");
    if (divider) this.scroller.scrollTop = Math.max(0, divider.offsetTop - this.scroller.clientHeight / 3);
    else this.scrollToBottom();
  }

  /** Scroll the message ``id`` into the middle of the pane, highlighted and focused (so a
   * screen reader reads it). */
  focus(id) {
    this.list.querySelector(".msg.found")?.classList.remove("found");
    const node = this.list.querySelector(`.msg[data-id="${Number(id)}"]`);
    if (!node) return false;
    this.found = Number(id);
    node.classList.add("found");
    node.tabIndex = -1;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
    return true;
  }

  /** Add one message at the end; returns true when the reader was at the bottom before. */
  append(msg) {
    const wasAtBottom = this.atBottom();
    this.list.append(...this.itemsFor(msg));
    if (wasAtBottom) this.scrollToBottom();
    return wasAtBottom;
  }

  /** Redraw one message's delivery state (pending → sent, failed) in place. */
  update(msg) {
    const node = this.nodes.get(msg);
    if (!node) return;
    node.classList.toggle("pending", msg.state === "pending");
    node.classList.toggle("failed", msg.state === "failed");
    node.classList.toggle("waiting", Boolean(msg.waiting));
    if (msg.id) node.dataset.id = msg.id;
    if ((msg.mentions || []).length && !node.querySelector(".mention")) {
      node.querySelector(".msg-body").replaceChildren(bodyNodes(msg, this.conv.me));
    }
    node.querySelector(".msg-status")?.remove();
    const status = this.statusFor(msg);
    if (status) node.querySelector(".msg-main").append(status);
  }

  itemsFor(msg) {
    const items = [];
    const prev = this.last;
    const conv = this.conv;
    const day = dayKey(msg.ts);
    if (!prev || dayKey(prev.ts) !== day) {
      items.push(h("li", { class: "day-divider" }, h("span", { text: formatDay(msg.ts) })));
    }
    const isNewStart = conv.dividerAfter !== null && msg.id && msg.id > conv.dividerAfter
      && (!prev || !prev.id || prev.id <= conv.dividerAfter) && msg.user !== conv.me;
    if (isNewStart) {
      items.push(h("li", { class: "new-divider" }, h("span", { text: t("New messages") })));
    }
    const continued = prev && !isNewStart && prev.user === msg.user && dayKey(prev.ts) === day
      && msg.ts - prev.ts < GROUP_WITHIN_MS && prev.state !== "failed";
    items.push(this.messageNode(msg, continued));
    this.last = msg;
    return items;
  }

  messageNode(msg, continued) {
    const time = h("time", { datetime: msg.ts.toISOString(), title: formatFull(msg.ts), text: formatTime(msg.ts) });
    const classes = ["msg"];
    if (continued) classes.push("continued");
    if (msg.user === this.conv.me) classes.push("own");
    else if ((msg.mentions || []).includes(this.conv.me)) classes.push("mentioned");
    if (msg.state === "pending") classes.push("pending");
    if (msg.state === "failed") classes.push("failed");
    if (msg.id && msg.id === this.found) classes.push("found");
    const meta = continued
      ? h("span", { class: "visually-hidden" }, `${msg.user}, `, time)
      : h("div", { class: "msg-meta" }, h("span", { class: "author", dir: "auto", text: msg.user }), time);
    const body = msg.body ? h("div", { class: "msg-body", dir: "auto" }, bodyNodes(msg, this.conv.me)) : null;
    const main = h("div", { class: "msg-main" }, meta, body, filesNode(msg.files));
    const status = this.statusFor(msg);
    if (status) main.append(status);
    const gutter = continued
      ? h("span", { class: "gutter-time", "aria-hidden": "true", text: formatTime(msg.ts) })
      : avatar(msg.user);
    const node = h("li", { class: classes.join(" "), dataset: msg.id ? { id: msg.id } : {} }, gutter, main);
    this.nodes.set(msg, node);
    return node;
  }

  statusFor(msg) {
    // Every message not yet stored says so in its place: sending, waiting its turn, or not sent.
    if (msg.state === "pending") {
      return h("div", { class: "msg-status", text: msg.waiting ? t("Waiting to send (too many messages at once)…") : t("Sending…") });
    }
    if (msg.state !== "failed") return null;
    const retry = h("button", { type: "button", class: "link-button", text: t("Retry"), on: { click: () => this.onRetry(msg) } });
    const reason = msg.error ? errorText(msg.error) : "";
    return h("div", { class: "msg-status", role: "alert" }, `${t("Not sent")}: ${reason} `, retry);
  }
}
