// The conversation pane: its header, the message list (messages.js draws it), loading older
// history as the reader scrolls up (and newer pages as they scroll down from a search result),
// the "n new messages" button, the typing line, and telling the server what the reader has seen.

import { avatar, h, icon } from "./dom.js";
import { forgetLoaded } from "./history.js";
import { t, tn } from "./i18n.js";
import { MessageView } from "./messages.js";
import { errorText, toast } from "./notices.js";
import { outbox } from "./outgoing.js";
import { joinRoom, leave, load, loadAround, loadNewer, loadOlder as requestOlder, markRead } from "./requests.js";
import * as state from "./state.js";

const NEAR_TOP_PX = 200;
const NEAR_BOTTOM_PX = 200;
// "Go to the latest" from a search result pages forward this many messages at a time, at
// most this many pages; further behind than that, it opens the newest page on its own.
const LATEST_PAGE = 100;
const LATEST_PAGES = 5;
const narrow = window.matchMedia("(max-width: 720px)");

const $ = (id) => document.getElementById(id);
const ui = {
  root: $("app"), title: $("conv-title"), sub: $("conv-sub"),
  membersButton: $("members-button"), membersCount: $("members-count"), leave: $("leave-button"),
  welcome: $("welcome"), scroller: $("scroller"), list: $("message-list"), historyStatus: $("history-status"),
  jump: $("jump-button"), jumpText: $("jump-text"), composerArea: $("composer-area"), typing: $("typing"),
  welcomeNote: $("welcome-note"), olderBanner: $("older-banner"), olderLatest: $("older-latest"),
};

const view = new MessageView(ui.scroller, ui.list, (msg) => outbox.retry(msg));
const isActive = (conv) => conv === state.active();
const jumping = new Map(); // conv -> newer pages asked for on the way to the latest
const nearBottom = () => ui.scroller.scrollHeight - ui.scroller.scrollTop - ui.scroller.clientHeight < NEAR_BOTTOM_PX;

function renderHeader() {
  const conv = state.active();
  ui.membersButton.hidden = !conv || conv.kind !== "room";
  ui.leave.hidden = !conv || conv.kind !== "room" || !conv.member;
  if (!conv) {
    ui.title.replaceChildren("Deskchat");
    ui.sub.textContent = "";
  } else if (conv.kind === "room") {
    ui.title.replaceChildren(icon("hash", "title-icon"), h("span", { text: conv.name }));
    const online = state.onlineIn(conv).length;
    ui.sub.textContent = conv.loaded ? tn("{n} online", "{n} online", online) : "";
    ui.membersCount.textContent = conv.loaded ? String(online) : "";
  } else {
    const online = state.isOnline(conv.name);
    ui.title.replaceChildren(h("span", { class: "avatar-wrap" }, avatar(conv.name, "avatar-sm"),
      h("span", { class: `presence ${online ? "on" : "off"}` })), h("span", { text: conv.name }));
    ui.sub.textContent = `${t("Direct message")} · ${online ? t("online") : t("offline")}`;
  }
}

function renderTyping() {
  const conv = state.active();
  const names = conv ? [...conv.typing.keys()] : [];
  let text = "";
  if (names.length === 1) text = t("{user} is typing…", { user: names[0] });
  else if (names.length === 2) text = t("{a} and {b} are typing…", { a: names[0], b: names[1] });
  else if (names.length > 2) text = t("Several people are typing…");
  ui.typing.textContent = text;
}

function updateHistoryStatus(conv) {
  if (conv.historyLoading || (!conv.loaded && conv.loading)) ui.historyStatus.textContent = t("Loading older messages…");
  else if (conv.hasMore) ui.historyStatus.textContent = "";
  else if (conv.messages.length === 0 && conv.outbox.length === 0) ui.historyStatus.textContent = t("No messages yet. Say hello!");
  else ui.historyStatus.textContent = conv.kind === "room"
    ? t("This is the beginning of #{room}.", { room: conv.name })
    : t("This is the beginning of your conversation with {user}.", { user: conv.name });
}

/** True when the reader can see the newest messages of ``conv`` right now. */
function isSeen(conv) {
  return isActive(conv) && document.visibilityState === "visible"
    && !(narrow.matches && ui.root.dataset.view !== "conversation") && view.atBottom();
}

function markReadIfSeen(conv) {
  if (!conv.loaded || conv.newerGap || !isSeen(conv)) return;
  ui.jump.hidden = true;
  markRead(conv);
}

function loadOlder(conv) {
  if (requestOlder(conv)) updateHistoryStatus(conv);
}

/** Load an older page when the top is in sight: scrolled near it, or the pane not full;
 * the same for a newer one at the bottom while reading older messages. */
function fillViewport(conv) {
  if (conv.hasMore && ui.scroller.scrollTop < NEAR_TOP_PX) loadOlder(conv);
  if (conv.newerGap && nearBottom()) loadNewer(conv);
}

function showConversation(conv, focus = null) {
  ui.olderBanner.hidden = !conv.newerGap;
  view.render(conv, { keep: conv.dividerAfter !== null ? "divider" : "bottom" });
  if (focus !== null) view.focus(focus);
  updateHistoryStatus(conv);
  renderHeader();
  fillViewport(conv);
  markReadIfSeen(conv);
}

/** Say on the welcome pane why a link opened nothing; ``create``: offer to make the room. */
function showWelcomeNote(text, create = null) {
  const parts = [h("span", { text })];
  if (create !== null) {
    parts.push(" ", h("button", {
      type: "button", class: "link-button", text: t("Create #{room}", { room: create }),
      on: { click: () => { ui.welcomeNote.hidden = true; joinRoom(create, { create: true, origin: "link" }); } },
    }));
  }
  ui.welcomeNote.replaceChildren(...parts);
  ui.welcomeNote.hidden = false;
}

function show(conv) {
  if (conv) ui.welcomeNote.hidden = true;
  ui.welcome.hidden = Boolean(conv);
  ui.scroller.hidden = !conv;
  ui.composerArea.hidden = !conv;
  ui.jump.hidden = true;
  ui.olderBanner.hidden = !conv || !conv.newerGap;
  renderHeader();
  renderTyping();
  if (!conv) {
    ui.list.replaceChildren();
  } else if (conv.loaded) {
    showConversation(conv);
  } else {
    ui.list.replaceChildren();
    ui.historyStatus.textContent = t("Loading older messages…");
  }
}

function onMessages(conv, change) {
  if (change.reset) jumping.delete(conv);
  if (!isActive(conv)) return;
  if (change.reset) return showConversation(conv, change.focus ?? null);
  if (change.newer) return onNewer(conv);
  if (change.older) {
    view.render(conv, { keep: "anchor" });
    updateHistoryStatus(conv);
    fillViewport(conv);
    return;
  }
  const { live: msg, inOrder, isNew, mine } = change;
  if (!mine && isNew && conv.dividerAfter === null && !isSeen(conv)) {
    // The reader is away (scrolled up, another tab): mark where the news starts.
    conv.dividerAfter = conv.lastReadId;
  }
  let atBottom;
  if (inOrder && conv.outbox.length === 0) atBottom = view.append(msg);
  else {
    atBottom = view.atBottom();
    view.render(conv, { keep: atBottom ? "bottom" : "anchor" });
  }
  updateHistoryStatus(conv); // the first message replaces "No messages yet"
  if (!atBottom && !mine) {
    conv.unseen += 1;
    ui.jumpText.textContent = tn("{n} new message", "{n} new messages", conv.unseen);
    ui.jump.hidden = false;
  }
  markReadIfSeen(conv);
}

/** Show the message ``id`` of ``conv`` (opened already), highlighted: at once when it is
 * on the page, else once the page around it arrives. */
export function showMessage(conv, id) {
  if (isActive(conv) && conv.loaded && conv.byId.has(id)) {
    ui.olderBanner.hidden = !conv.newerGap;
    view.focus(id);
    return;
  }
  loadAround(conv, id);
}

/** A newer page arrived below the shown messages (scrolling down, or on the way to the
 * latest): drawn under them, and the next one asked for while still on the way. */
function onNewer(conv) {
  const toLatest = jumping.has(conv);
  view.render(conv, { keep: toLatest ? "bottom" : "top" });
  ui.olderBanner.hidden = !conv.newerGap;
  updateHistoryStatus(conv);
  if (!conv.newerGap) {
    jumping.delete(conv);
    markReadIfSeen(conv);
  } else if (toLatest) {
    continueToLatest(conv);
  } else {
    fillViewport(conv);
  }
}

/** From a page around a search result down to the newest messages: the pages in between,
 * fetched after the last one shown (`history` with `after`), so nothing is missed or shown
 * twice. */
function goToLatest(conv) {
  if (!conv.newerGap) return view.scrollToBottom();
  jumping.set(conv, 0);
  continueToLatest(conv);
}

function continueToLatest(conv) {
  const pages = jumping.get(conv);
  if (pages >= LATEST_PAGES) {
    // Far behind: the newest page alone, as when the conversation opens.
    jumping.delete(conv);
    forgetLoaded(conv);
    ui.olderBanner.hidden = true;
    show(conv);
    load(conv);
    return;
  }
  jumping.set(conv, pages + 1);
  if (!loadNewer(conv, LATEST_PAGE) && !conv.newerLoading) jumping.delete(conv);
}

export function init() {
  state.on("active", show);
  state.on("synced", () => {
    const conv = state.active();
    if (conv) markReadIfSeen(conv);
    renderHeader();
  });
  state.on("messages", onMessages);
  state.on("queued", (conv, msg) => {
    if (conv.newerGap) return goToLatest(conv); // what is sent goes under the newest
    if (!isActive(conv) || !(conv.loaded || conv.loading)) return;
    view.append(msg);
    view.scrollToBottom();
    updateHistoryStatus(conv);
  });
  state.on("outbox", (conv, msg) => { if (isActive(conv)) view.update(msg); });
  state.on("requeued", (conv) => {
    if (!isActive(conv) || !conv.loaded) return;
    view.render(conv, { keep: view.atBottom() ? "bottom" : "anchor" });
    updateHistoryStatus(conv);
  });
  state.on("conv", (conv) => { if (isActive(conv)) renderHeader(); });
  state.on("renamed", (conv) => { if (isActive(conv)) updateHistoryStatus(conv); });
  state.on("online", (conv) => { if (isActive(conv)) renderHeader(); });
  state.on("presence", () => renderHeader());
  state.on("join-error", (frame, request) => {
    if (request.origin === "join") return; // the join box says it
    if (frame.code === "unknown_room") {
      showWelcomeNote(t("There is no room called #{room}.", { room: frame.room || request.name }), frame.room || request.name);
    } else {
      showWelcomeNote(errorText(frame));
    }
  });
  state.on("unknown-user", (conv, frame, opening) => {
    if (opening && opening.origin === "link") showWelcomeNote(errorText(frame));
  });
  state.on("typing", (conv) => { if (isActive(conv)) renderTyping(); });
  state.on("error", (frame) => {
    const conv = state.active();
    if (frame.ref === "history" && conv && !conv.loaded) ui.historyStatus.textContent = errorText(frame);
    else toast(errorText(frame));
  });

  ui.scroller.addEventListener("scroll", () => {
    const conv = state.active();
    if (!conv || !conv.loaded) return;
    if (ui.scroller.scrollTop < NEAR_TOP_PX) loadOlder(conv);
    if (conv.newerGap && nearBottom()) loadNewer(conv);
    if (view.atBottom()) markReadIfSeen(conv);
  }, { passive: true });
  ui.olderLatest.addEventListener("click", () => {
    const conv = state.active();
    if (conv) goToLatest(conv);
    $("composer-input").focus();
  });
  ui.jump.addEventListener("click", () => {
    const conv = state.active();
    if (conv && conv.newerGap) goToLatest(conv);
    else view.scrollToBottom();
    if (conv) markReadIfSeen(conv);
    $("composer-input").focus();
  });
  ui.leave.addEventListener("click", () => {
    const conv = state.active();
    if (!conv || conv.kind !== "room") return;
    // Leaving acts at once and can be taken back: the toast offers to join again.
    const name = conv.name;
    leave(conv);
    toast(t("You left #{room}.", { room: name }), {
      label: t("Undo"),
      run: () => joinRoom(name, { origin: "undo" }),
    });
  });
  document.addEventListener("visibilitychange", () => {
    const conv = state.active();
    if (conv) markReadIfSeen(conv);
  });
}
