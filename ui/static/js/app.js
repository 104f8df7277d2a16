// Deskchat's one-page chat: state for every conversation, the sidebar, the conversation pane
// and the members panel, all driven by the frames of docs/protocol.md over one WebSocket.

import { Connection } from "./connection.js";
import { avatar, colourClass, h, icon, setIconSprite } from "./dom.js";
import { MessageView } from "./messages.js";
import { t, tn } from "./i18n.js";

const root = document.getElementById("app");
const ME = root.dataset.user;
setIconSprite(root.dataset.icons);

const $ = (id) => document.getElementById(id);
const ui = {
  roomList: $("room-list"), dmList: $("dm-list"), roomsEmpty: $("rooms-empty"), dmsEmpty: $("dms-empty"),
  joinForm: $("join-form"), joinInput: $("join-input"), joinError: $("join-error"),
  connText: $("conn-text"), banner: $("conn-banner"),
  title: $("conv-title"), sub: $("conv-sub"), back: $("back-button"),
  membersButton: $("members-button"), membersCount: $("members-count"), leave: $("leave-button"),
  welcome: $("welcome"), scroller: $("scroller"), list: $("message-list"), historyStatus: $("history-status"),
  jump: $("jump-button"), jumpText: $("jump-text"), composerArea: $("composer-area"), typing: $("typing"),
  composer: $("composer"), input: $("composer-input"),
  members: $("members"), membersTitle: $("members-title"), memberList: $("member-list"), membersClose: $("members-close"),
  toast: $("toast"),
};

const HISTORY_PAGE = 50;
const NEAR_TOP_PX = 200;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const narrow = window.matchMedia("(max-width: 720px)");
const wideEnoughForMembers = window.matchMedia("(min-width: 1100px)");

// --- state ----------------------------------------------------------------------------------

/** Every conversation the page knows, keyed "r:<room lower case>" or "d:<username>". */
const convs = new Map();
const pendingByClientId = new Map(); // client_id -> conversation key
const userOnline = new Map(); // username -> bool
let activeKey = null;
let maxSeenId = 0; // the newest message id this page has seen: `resume` starts after it
let connectedOnce = false; // set by the first `conversations`: later ones mean "reconnected"
let limits = { max_body_chars: 4000 };
let pendingJoin = null; // a room the user asked to join and wants to open
let lastTypingSent = 0;

const normalName = (name) => name.trim().split(/\s+/).join(" ").toLowerCase();
const roomKey = (name) => `r:${normalName(name)}`;
const dmKey = (user) => `d:${user}`;

function conversation(kind, name) {
  const key = kind === "room" ? roomKey(name) : dmKey(name);
  let conv = convs.get(key);
  if (!conv) {
    conv = {
      key, kind, name, me: ME,
      member: false, // rooms: shown in the sidebar
      unread: 0, lastId: 0, lastReadId: 0,
      messages: [], byId: new Map(), outbox: [],
      loaded: false, loading: false, hasMore: false, historyLoading: false,
      online: [], typing: new Map(), dividerAfter: null, unseen: 0,
    };
    convs.set(key, conv);
  } else if (kind === "room") {
    conv.name = name; // the server's spelling wins
  }
  return conv;
}

const active = () => (activeKey ? convs.get(activeKey) : null);
const target = (conv, dmField = "to") => (conv.kind === "room" ? { room: conv.name } : { [dmField]: conv.name });

function toMessage(frame) {
  return { id: frame.id, user: frame.user, body: frame.body, ts: new Date(frame.ts), client_id: frame.client_id, state: "sent" };
}

/** Put server messages into a conversation, in id order, skipping ones it already has. */
function merge(conv, frames) {
  let added = false;
  for (const frame of frames) {
    maxSeenId = Math.max(maxSeenId, frame.id);
    conv.lastId = Math.max(conv.lastId, frame.id);
    if (conv.byId.has(frame.id)) continue;
    const msg = toMessage(frame);
    conv.byId.set(msg.id, msg);
    conv.messages.push(msg);
    added = true;
  }
  if (added) conv.messages.sort((a, b) => a.id - b.id);
}

function randomId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- connection -----------------------------------------------------------------------------

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.wsPath}`;
const connection = new Connection(wsUrl, { onFrame, onState: showConnectionState });

function showConnectionState(state) {
  root.dataset.state = state;
  const labels = {
    connecting: t("Connecting…"), connected: t("Connected"), reconnecting: t("Reconnecting…"),
    refused: t("Too many tabs"), "signed-out": t("Reconnecting…"),
  };
  ui.connText.textContent = labels[state] || state;
  ui.banner.hidden = !(state === "reconnecting" || state === "refused");
  // The status beside the name stays short; the banner says what to do.
  if (state === "refused") ui.banner.textContent = t("Too many open tabs: close some and reload.");
  else ui.banner.textContent = t("Connection lost. Reconnecting…");
  if (state === "signed-out") {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`${root.dataset.loginUrl}?next=${next}`);
  }
}

const handlers = {
  hello(frame) {
    limits = frame.limits || limits;
    ui.input.maxLength = limits.max_body_chars;
  },
  conversations(frame) {
    const seenRooms = new Set();
    for (const item of frame.rooms) {
      const conv = conversation("room", item.room);
      conv.member = true;
      conv.unread = item.unread;
      conv.lastId = Math.max(conv.lastId, item.last_id);
      conv.lastReadId = Math.max(conv.lastReadId, item.last_read_id);
      seenRooms.add(conv.key);
    }
    for (const item of frame.dms) {
      const conv = conversation("dm", item.with);
      conv.member = true;
      conv.unread = item.unread;
      conv.lastId = Math.max(conv.lastId, item.last_id);
      conv.lastReadId = Math.max(conv.lastReadId, item.last_read_id);
      userOnline.set(item.with, item.online);
    }
    for (const conv of convs.values()) {
      if (conv.kind === "room" && conv.member && !seenRooms.has(conv.key)) conv.member = false;
    }
    if (connectedOnce) {
      // Back after a drop: requests in flight died with the old socket. Fetch everything
      // sent meanwhile, then resend what was queued.
      for (const conv of convs.values()) conv.loading = conv.historyLoading = false;
      if (pendingJoin !== null) connection.send({ type: "join", room: pendingJoin });
      connection.send({ type: "resume", since: maxSeenId });
      for (const conv of convs.values()) for (const msg of conv.outbox) if (msg.state === "pending") transmit(conv, msg);
    } else {
      // First connection: the high-water mark is the newest message in any conversation.
      for (const conv of convs.values()) maxSeenId = Math.max(maxSeenId, conv.lastId);
      connectedOnce = true;
      openInitialConversation();
    }
    const current = active();
    if (current && !current.loaded && !current.loading) load(current);
    if (current) markReadIfSeen(current);
    renderSidebar();
    renderHeader();
  },
  joined(frame) {
    const conv = conversation("room", frame.room);
    conv.member = true;
    conv.loading = false;
    conv.online = frame.online;
    for (const user of frame.online) userOnline.set(user, true);
    if (!conv.loaded) {
      conv.hasMore = frame.has_more;
      conv.lastReadId = Math.max(conv.lastReadId, frame.last_read_id);
      conv.unread = frame.unread;
      // A first visit has read nothing: everything would be "new", so no divider then.
      conv.dividerAfter = frame.unread > 0 && frame.last_read_id > 0 ? frame.last_read_id : null;
    }
    merge(conv, frame.messages);
    conv.loaded = true;
    const wanted = pendingJoin !== null && normalName(pendingJoin) === normalName(frame.room);
    if (wanted) {
      pendingJoin = null;
      ui.joinInput.value = "";
      ui.joinError.textContent = "";
      openConversation(conv.key);
    } else if (conv.key === activeKey) {
      showConversation(conv);
    }
    renderSidebar();
  },
  history(frame) {
    const conv = frame.room !== undefined ? conversation("room", frame.room) : conversation("dm", frame.with);
    const older = frame.before !== null && frame.before !== undefined;
    conv.historyLoading = false;
    conv.loading = false;
    if (!older && !conv.loaded) {
      conv.hasMore = frame.has_more;
      conv.dividerAfter = conv.unread > 0 && conv.lastReadId > 0 ? conv.lastReadId : null;
    }
    if (older) conv.hasMore = frame.has_more;
    merge(conv, frame.messages);
    conv.loaded = true;
    if (conv.key !== activeKey) return;
    if (older) {
      view.render(conv, { keep: "anchor" });
      updateHistoryStatus(conv);
      fillViewport(conv);
    } else {
      showConversation(conv);
    }
  },
  message(frame) {
    receive(frame);
  },
  resumed(frame) {
    for (const message of frame.messages) receive({ type: "message", ...message });
  },
  ack(frame) {
    const key = pendingByClientId.get(frame.client_id);
    const conv = key && convs.get(key);
    if (!conv) return;
    pendingByClientId.delete(frame.client_id);
    const index = conv.outbox.findIndex((m) => m.client_id === frame.client_id);
    if (index < 0) return;
    const [msg] = conv.outbox.splice(index, 1);
    msg.state = "sent";
    msg.id = frame.id;
    maxSeenId = Math.max(maxSeenId, frame.id);
    if (!conv.byId.has(msg.id)) {
      conv.byId.set(msg.id, msg);
      conv.messages.push(msg);
      conv.messages.sort((a, b) => a.id - b.id);
    }
    conv.lastId = Math.max(conv.lastId, msg.id);
    conv.lastReadId = Math.max(conv.lastReadId, msg.id);
    conv.member = true;
    if (conv.key === activeKey) view.update(msg);
    renderSidebar();
  },
  presence(frame) {
    const conv = conversation("room", frame.room);
    conv.online = frame.online;
    for (const user of frame.online) userOnline.set(user, true);
    if (conv.key === activeKey) {
      renderHeader();
      renderMembers();
    }
  },
  user_presence(frame) {
    // {users: {name: online}} names everyone whose state changed in one batch.
    for (const [user, online] of Object.entries(frame.users)) userOnline.set(user, online);
    renderSidebar();
    const conv = active();
    if (conv && conv.kind === "dm" && conv.name in frame.users) renderHeader();
  },
  typing(frame) {
    if (frame.user === ME) return;
    const conv = frame.room !== undefined ? convs.get(roomKey(frame.room)) : convs.get(dmKey(frame.from));
    if (!conv) return;
    clearTimeout(conv.typing.get(frame.user));
    conv.typing.set(frame.user, setTimeout(() => {
      conv.typing.delete(frame.user);
      if (conv.key === activeKey) renderTyping();
    }, TYPING_SHOWN_MS));
    if (conv.key === activeKey) renderTyping();
  },
  read(frame) {
    const conv = frame.room !== undefined ? convs.get(roomKey(frame.room)) : convs.get(dmKey(frame.with));
    if (!conv) return;
    conv.lastReadId = Math.max(conv.lastReadId, frame.id);
    if (conv.lastReadId >= conv.lastId) conv.unread = 0;
    else if (conv.loaded) conv.unread = conv.messages.filter((m) => m.id > conv.lastReadId && m.user !== ME).length;
    renderSidebar();
  },
  membership(frame) {
    const conv = conversation("room", frame.room);
    conv.member = frame.action === "join";
    if (!conv.member) {
      conv.loaded = false;
      if (conv.key === activeKey) openConversation(null);
    }
    renderSidebar();
  },
  error(frame) {
    const text = errorText(frame);
    const key = frame.ref && pendingByClientId.get(frame.ref);
    if (key) {
      const conv = convs.get(key);
      const msg = conv.outbox.find((m) => m.client_id === frame.ref);
      if (msg) {
        msg.state = "failed";
        msg.error = text;
        if (conv.key === activeKey) view.update(msg);
        // Over the rate limit the server says when to come back: do it for the user.
        if (frame.code === "rate_limited" && frame.retry_after) setTimeout(() => retry(msg), frame.retry_after * 1000);
        return;
      }
    }
    if (frame.ref === "join" && pendingJoin !== null) {
      pendingJoin = null;
      ui.joinError.textContent = text;
      ui.joinInput.focus();
      return;
    }
    if (frame.ref === "typing") return; // a typing hint that could not be delivered is no news
    if (frame.ref === "history") {
      for (const conv of convs.values()) conv.historyLoading = conv.loading = false;
      const conv = active();
      if (conv && !conv.loaded) {
        ui.historyStatus.textContent = text;
        return;
      }
    }
    toast(text);
  },
  pong() {},
};

function onFrame(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

const ERROR_TEXT = {
  bad_room_name: "Room names are 1 to 64 letters, digits, spaces or punctuation.",
  dm_to_self: "You cannot send a direct message to yourself.",
  rate_limited: "Too many messages; wait a moment.",
  body_too_long: "The message is too long.",
  empty_body: "The message is empty.",
  too_many_rooms: "You are in too many rooms.",
  not_joined: "Join the room first.",
  unknown_room: "That room does not exist.",
  server_error: "The server could not handle that.",
};

function errorText(frame) {
  if (frame.code === "unknown_user") {
    const match = /'(.*)'/.exec(frame.detail || "");
    return t("There is no user called {user}.", { user: match ? match[1] : "" });
  }
  return ERROR_TEXT[frame.code] ? t(ERROR_TEXT[frame.code]) : frame.detail || frame.code;
}

/** A message frame, live or from `resume`. */
function receive(frame) {
  const isRoom = frame.room !== undefined && frame.room !== null;
  const peer = isRoom ? null : frame.from === ME ? frame.to : frame.from;
  const conv = isRoom ? conversation("room", frame.room) : conversation("dm", peer);
  maxSeenId = Math.max(maxSeenId, frame.id);
  if (frame.user === ME && frame.client_id && pendingByClientId.has(frame.client_id)) {
    handlers.ack({ client_id: frame.client_id, id: frame.id });
  }
  if (conv.byId.has(frame.id)) return;
  const isNew = frame.id > conv.lastId;
  conv.member = true;
  if (conv.typing.has(frame.user)) {
    clearTimeout(conv.typing.get(frame.user));
    conv.typing.delete(frame.user);
  }
  const mine = frame.user === ME;
  if (!conv.loaded) {
    conv.lastId = Math.max(conv.lastId, frame.id);
    if (isNew && !mine) conv.unread += 1;
    renderSidebar();
    return;
  }
  const msg = toMessage(frame);
  if (!mine && isNew && conv.key === activeKey && conv.dividerAfter === null && !isSeen(conv)) {
    // The reader is away (scrolled up, another tab): mark where the news starts.
    conv.dividerAfter = conv.lastReadId;
  }
  conv.byId.set(msg.id, msg);
  const inOrder = conv.messages.length === 0 || conv.messages[conv.messages.length - 1].id < msg.id;
  conv.messages.push(msg);
  if (!inOrder) conv.messages.sort((a, b) => a.id - b.id);
  conv.lastId = Math.max(conv.lastId, msg.id);
  if (mine) conv.lastReadId = Math.max(conv.lastReadId, msg.id);
  else if (isNew) conv.unread += 1;
  if (conv.key === activeKey) {
    let atBottom;
    if (inOrder && conv.outbox.length === 0) atBottom = view.append(msg);
    else {
      atBottom = view.atBottom();
      view.render(conv, { keep: atBottom ? "bottom" : "anchor" });
    }
    updateHistoryStatus(conv); // the first message replaces "No messages yet"
    if (!atBottom && !mine) {
      conv.unseen += 1;
      showJump(conv);
    }
    renderTyping();
    markReadIfSeen(conv);
  }
  renderSidebar();
}

// --- opening conversations -----------------------------------------------------------------

function load(conv) {
  conv.loading = true;
  const sent = conv.kind === "room"
    ? connection.send({ type: "join", room: conv.name })
    : connection.send({ type: "history", with: conv.name, limit: HISTORY_PAGE });
  if (!sent) conv.loading = false; // asked again when the connection comes back
}

function joinRoom(name) {
  pendingJoin = name;
  ui.joinError.textContent = "";
  if (!connection.send({ type: "join", room: name })) pendingJoin = null;
}

/** Make ``key`` the open conversation (null: none) and show it. */
function openConversation(key) {
  const previous = active();
  if (previous) {
    previous.dividerAfter = null;
    previous.unseen = 0;
  }
  activeKey = key;
  const conv = active();
  const params = new URLSearchParams();
  if (conv) params.set(conv.kind === "room" ? "room" : "dm", conv.name);
  const query = params.toString();
  history.replaceState(null, "", query ? `/?${query}` : "/");
  if (conv) remember({ kind: conv.kind, name: conv.name });
  root.dataset.view = conv ? "conversation" : "list";
  ui.welcome.hidden = Boolean(conv);
  ui.scroller.hidden = !conv;
  ui.composerArea.hidden = !conv;
  ui.jump.hidden = true;
  root.dataset.members = conv && conv.kind === "room" && wideEnoughForMembers.matches ? "open" : "closed";
  renderHeader();
  renderSidebar();
  renderMembers();
  if (!conv) {
    ui.list.replaceChildren();
    return;
  }
  ui.input.placeholder = conv.kind === "room" ? t("Message #{room}", { room: conv.name }) : t("Message {user}", { user: conv.name });
  if (conv.loaded) showConversation(conv);
  else {
    ui.list.replaceChildren();
    ui.historyStatus.textContent = t("Loading older messages…");
    if (!conv.loading) load(conv);
  }
  renderTyping();
  if (!narrow.matches) ui.input.focus();
}

/** The last open conversation, for the next visit (storage may be off: then just forget). */
function remember(value) {
  try {
    localStorage.setItem("deskchat.last", JSON.stringify(value));
  } catch {
    // private mode or storage disabled
  }
}

function showConversation(conv) {
  view.render(conv, { keep: conv.dividerAfter !== null ? "divider" : "bottom" });
  updateHistoryStatus(conv);
  renderHeader();
  fillViewport(conv);
  markReadIfSeen(conv);
}

function openInitialConversation() {
  const params = new URLSearchParams(location.search);
  const room = root.dataset.openRoom || params.get("room");
  const dm = params.get("dm");
  if (room) return joinRoom(room);
  if (dm && dm !== ME) return openConversation(conversation("dm", dm).key);
  if (narrow.matches) return openConversation(null);
  let last = null;
  try {
    last = JSON.parse(localStorage.getItem("deskchat.last") || "null");
  } catch {
    last = null;
  }
  const remembered = last && convs.get(last.kind === "room" ? roomKey(last.name) : dmKey(last.name));
  if (remembered && remembered.member) return openConversation(remembered.key);
  const first = sortedRooms()[0];
  openConversation(first ? first.key : null);
}

function openDm(user) {
  if (user === ME) return;
  openConversation(conversation("dm", user).key);
}

// --- reading and history -------------------------------------------------------------------

function isSeen(conv) {
  return conv.key === activeKey && document.visibilityState === "visible"
    && !(narrow.matches && root.dataset.view !== "conversation") && view.atBottom();
}

function markReadIfSeen(conv) {
  if (!conv.loaded || !isSeen(conv)) return;
  conv.unseen = 0;
  ui.jump.hidden = true;
  const newest = conv.messages.length ? conv.messages[conv.messages.length - 1].id : 0;
  if (newest > conv.lastReadId || conv.unread > 0) {
    connection.send({ type: "read", ...target(conv, "with"), id: Math.max(newest, conv.lastReadId) });
    conv.lastReadId = Math.max(newest, conv.lastReadId);
    conv.unread = 0;
    renderSidebar();
  }
}

function loadOlder(conv) {
  if (!conv.hasMore || conv.historyLoading || conv.messages.length === 0) return;
  const frame = { type: "history", ...target(conv, "with"), before: conv.messages[0].id, limit: HISTORY_PAGE };
  if (!connection.send(frame)) return;
  conv.historyLoading = true;
  updateHistoryStatus(conv);
}

/** Load an older page when the top is in sight: scrolled near it, or the pane not full. */
function fillViewport(conv) {
  if (conv.hasMore && ui.scroller.scrollTop < NEAR_TOP_PX) loadOlder(conv);
}

function updateHistoryStatus(conv) {
  if (conv.historyLoading || (!conv.loaded && conv.loading)) ui.historyStatus.textContent = t("Loading older messages…");
  else if (conv.hasMore) ui.historyStatus.textContent = "";
  else if (conv.messages.length === 0 && conv.outbox.length === 0) ui.historyStatus.textContent = t("No messages yet. Say hello!");
  else ui.historyStatus.textContent = conv.kind === "room"
    ? t("This is the beginning of #{room}.", { room: conv.name })
    : t("This is the beginning of your conversation with {user}.", { user: conv.name });
}

function showJump(conv) {
  ui.jumpText.textContent = tn("{n} new message", "{n} new messages", conv.unseen);
  ui.jump.hidden = false;
}

// --- sending -------------------------------------------------------------------------------

function parsePm(text) {
  if (!(text.startsWith("/pm ") || text === "/pm")) return null;
  const rest = text.slice(3).trim();
  const space = rest.search(/\s/);
  if (space < 0) return { user: rest, body: "" };
  return { user: rest.slice(0, space), body: rest.slice(space).trim() };
}

function sendFromComposer() {
  const text = ui.input.value.trim();
  let conv = active();
  if (!text || !conv) return;
  let body = text;
  const pm = parsePm(text);
  if (pm) {
    if (!pm.user || !pm.body) return toast(t("Usage: /pm USER TEXT"));
    if (pm.user === ME) return toast(t("You cannot send a direct message to yourself."));
    conv = conversation("dm", pm.user);
    body = pm.body;
    if (conv.key !== activeKey) openConversation(conv.key);
  }
  if (body.length > limits.max_body_chars) return toast(t("The message is too long."));
  const msg = { id: null, client_id: randomId(), user: ME, body, ts: new Date(), state: "pending" };
  conv.outbox.push(msg);
  pendingByClientId.set(msg.client_id, conv.key);
  ui.input.value = "";
  lastTypingSent = 0; // the next keystroke starts a new "is typing" notice
  resizeComposer();
  if (conv.key === activeKey && (conv.loaded || conv.loading)) {
    view.append(msg);
    view.scrollToBottom();
    updateHistoryStatus(conv);
  }
  transmit(conv, msg);
}

function transmit(conv, msg) {
  connection.send({ type: "send", ...target(conv), body: msg.body, client_id: msg.client_id });
}

function retry(msg) {
  for (const conv of convs.values()) {
    if (!conv.outbox.includes(msg) || msg.state !== "failed") continue;
    msg.state = "pending";
    msg.error = "";
    pendingByClientId.set(msg.client_id, conv.key);
    view.update(msg);
    transmit(conv, msg);
  }
}

function sendTyping() {
  const conv = active();
  const text = ui.input.value;
  if (!conv || !text.trim() || text.startsWith("/")) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_SEND_EVERY_MS) return;
  if (conv.kind === "dm" && !conv.member) return; // no such user, perhaps: stay quiet
  lastTypingSent = now;
  connection.send({ type: "typing", ...target(conv) });
}

function resizeComposer() {
  // CSSOM writes are allowed by the page's CSP (only style attributes in markup are not).
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
}

// --- rendering -----------------------------------------------------------------------------

const view = new MessageView(ui.scroller, ui.list, retry);

function sortedRooms() {
  return [...convs.values()].filter((c) => c.kind === "room" && c.member)
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
}

function sortedDms() {
  return [...convs.values()].filter((c) => c.kind === "dm" && (c.member || c.key === activeKey))
    .sort((a, b) => (b.lastId || Infinity) - (a.lastId || Infinity));
}

function convLink(conv) {
  const params = new URLSearchParams({ [conv.kind === "room" ? "room" : "dm"]: conv.name });
  const isActive = conv.key === activeKey;
  let label = conv.unread > 0
    ? (conv.kind === "room"
      ? tn("{room}, {n} unread", "{room}, {n} unread", conv.unread, { room: conv.name })
      : tn("{user}, {n} unread", "{user}, {n} unread", conv.unread, { user: conv.name }))
    : null;
  if (conv.kind === "dm") label = `${label || conv.name}, ${userOnline.get(conv.name) ? t("online") : t("offline")}`;
  const lead = conv.kind === "room"
    ? icon("hash", "conv-icon")
    : h("span", { class: "avatar-wrap" }, avatar(conv.name, "avatar-sm"),
      h("span", { class: `presence ${userOnline.get(conv.name) ? "on" : "off"}`, title: userOnline.get(conv.name) ? t("online") : t("offline") }));
  const link = h("a", {
    href: `/?${params}`, class: `conv-link${isActive ? " active" : ""}${conv.unread > 0 ? " has-unread" : ""}`,
    "aria-current": isActive ? "page" : null, "aria-label": label, dataset: { key: conv.key },
    on: { click: (event) => { event.preventDefault(); openConversation(conv.key); } },
  }, lead, h("span", { class: "conv-name", text: conv.name }),
  conv.unread > 0 ? h("span", { class: "badge", "aria-hidden": "true", text: conv.unread > 99 ? "99+" : String(conv.unread) }) : null);
  return h("li", {}, link);
}

function renderSidebar() {
  const focusedKey = document.activeElement?.dataset?.key;
  const rooms = sortedRooms();
  const dms = sortedDms();
  ui.roomList.replaceChildren(...rooms.map(convLink));
  ui.dmList.replaceChildren(...dms.map(convLink));
  ui.roomsEmpty.hidden = rooms.length > 0;
  ui.dmsEmpty.hidden = dms.length > 0;
  if (focusedKey) document.querySelector(`.conv-link[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
  updateTitle();
}

function updateTitle() {
  let total = 0;
  for (const conv of convs.values()) if (conv.member) total += conv.unread;
  const conv = active();
  const place = conv ? (conv.kind === "room" ? `#${conv.name}` : conv.name) : "";
  document.title = `${total > 0 ? `(${total}) ` : ""}${place ? `${place} · ` : ""}Deskchat`;
}

function renderHeader() {
  const conv = active();
  ui.membersButton.hidden = !conv || conv.kind !== "room";
  ui.leave.hidden = !conv || conv.kind !== "room" || !conv.member;
  if (!conv) {
    ui.title.replaceChildren("Deskchat");
    ui.sub.textContent = "";
    return;
  }
  if (conv.kind === "room") {
    ui.title.replaceChildren(icon("hash", "title-icon"), h("span", { text: conv.name }));
    ui.sub.textContent = conv.loaded ? tn("{n} online", "{n} online", conv.online.length) : "";
    ui.membersCount.textContent = conv.loaded ? String(conv.online.length) : "";
  } else {
    const online = userOnline.get(conv.name);
    ui.title.replaceChildren(h("span", { class: "avatar-wrap" }, avatar(conv.name, "avatar-sm"),
      h("span", { class: `presence ${online ? "on" : "off"}` })), h("span", { text: conv.name }));
    ui.sub.textContent = `${t("Direct message")} · ${online ? t("online") : t("offline")}`;
  }
  ui.membersButton.setAttribute("aria-expanded", String(root.dataset.members === "open"));
}

function renderMembers() {
  const conv = active();
  if (!conv || conv.kind !== "room") {
    ui.memberList.replaceChildren();
    return;
  }
  ui.membersTitle.textContent = tn("Online — {n}", "Online — {n}", conv.online.length);
  const items = conv.online.map((user) => {
    const who = [avatar(user, "avatar-sm"), h("span", { class: "member-name", text: user === ME ? t("{user} (you)", { user }) : user })];
    if (user === ME) return h("li", { class: "member self" }, h("span", { class: "member-row" }, ...who));
    return h("li", { class: "member" }, h("button", {
      type: "button", class: "member-row", title: t("Open a direct message with {user}", { user }),
      "aria-label": t("Open a direct message with {user}", { user }), dataset: { user },
      on: { click: () => { if (!wideEnoughForMembers.matches) setMembers(false); openDm(user); } },
    }, ...who, h("span", { class: "presence on", "aria-hidden": "true" })));
  });
  if (conv.online.length <= 1) items.push(h("li", { class: "empty-hint", text: t("Nobody else is here right now.") }));
  ui.memberList.replaceChildren(...items);
}

function renderTyping() {
  const conv = active();
  const names = conv ? [...conv.typing.keys()] : [];
  let text = "";
  if (names.length === 1) text = t("{user} is typing…", { user: names[0] });
  else if (names.length === 2) text = t("{a} and {b} are typing…", { a: names[0], b: names[1] });
  else if (names.length > 2) text = t("Several people are typing…");
  ui.typing.textContent = text;
}

let toastTimer = null;
function toast(text) {
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 6000);
}

function setMembers(openPanel) {
  root.dataset.members = openPanel ? "open" : "closed";
  ui.membersButton.setAttribute("aria-expanded", String(openPanel));
  if (openPanel) renderMembers();
}

// --- events --------------------------------------------------------------------------------

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.joinInput.value.trim();
  if (!name) return;
  if (name.startsWith("@")) {
    ui.joinInput.value = "";
    return openDm(name.slice(1));
  }
  joinRoom(name);
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  sendFromComposer();
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendFromComposer();
  }
});

ui.input.addEventListener("input", () => {
  resizeComposer();
  sendTyping();
});

ui.scroller.addEventListener("scroll", () => {
  const conv = active();
  if (!conv || !conv.loaded) return;
  if (ui.scroller.scrollTop < NEAR_TOP_PX) loadOlder(conv);
  if (view.atBottom()) markReadIfSeen(conv);
}, { passive: true });

ui.jump.addEventListener("click", () => {
  view.scrollToBottom();
  const conv = active();
  if (conv) markReadIfSeen(conv);
  ui.input.focus();
});

ui.back.addEventListener("click", () => {
  root.dataset.view = "list";
});

ui.membersButton.addEventListener("click", () => setMembers(root.dataset.members !== "open"));
ui.membersClose.addEventListener("click", () => {
  setMembers(false);
  ui.membersButton.focus();
});

$("backdrop").addEventListener("click", () => setMembers(false));

ui.leave.addEventListener("click", () => {
  const conv = active();
  if (conv && conv.kind === "room") connection.send({ type: "leave", room: conv.name });
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && root.dataset.members === "open" && !wideEnoughForMembers.matches) {
    setMembers(false);
    ui.membersButton.focus();
  }
});

document.addEventListener("visibilitychange", () => {
  const conv = active();
  if (conv) markReadIfSeen(conv);
});

for (const notice of document.querySelectorAll(".notice")) {
  const close = h("button", { type: "button", class: "icon-button", "aria-label": t("Dismiss"), title: t("Dismiss") }, icon("close"));
  close.addEventListener("click", () => notice.remove());
  notice.append(close);
}

const meAvatar = $("me-avatar");
meAvatar.dataset.letter = (Array.from(ME)[0] || "?").toUpperCase();
meAvatar.classList.add(colourClass(ME));

connection.start();
