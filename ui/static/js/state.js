// The page's one store: every conversation, who is online, the server's limits and the
// requests in flight. `apply(frame)` is the only place server frames change it; the panels
// listen (`on`) for what changed and redraw just that. Room names are the server's canonical
// spelling, exactly as it sends them: the client never folds or compares names itself.

import { Outbox } from "./outbox.js";
import { forgetRequests, historyAnswered, joinAnswered, rejoinWanted } from "./requests.js";

const listeners = new Map();

/** Call ``fn`` on every ``type`` change: "conv" (a sidebar entry's data), "active", "messages",
 * "queued", "outbox" and "requeued" (own messages), "online" (a room's online list),
 * "presence" (people who came or went: the one truth for every dot and word), "typing",
 * "synced", "opened", "join-error", "dm-found", "unknown-user", "left", "limits", "error",
 * "fault" and "fault-over" (a server_error, and the end of it: an ack or a new connection),
 * "renamed" (a room's new name: conv, its old key, its old name), "rename-error" and
 * "join-renamed" (a join by a name the room had before),
 * "status" (people whose status changed, the user's own included), "members" (a room's member
 * list came), "incoming" (a live message from someone else, not yet read: notify.js decides),
 * "search-results", "search-error". */
export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, []);
  listeners.get(type).push(fn);
}

export function emit(type, ...args) {
  for (const fn of listeners.get(type) || []) fn(...args);
}

const TYPING_SHOWN_MS = 5000;

const convs = new Map(); // "r:<room as the server spells it>" or "d:<username>" -> conversation
// Old key -> the conversation renamed away from it: a message the server built just before a
// rename may still name the room as it was, and belongs to it, not to a new conversation.
const renamedFrom = new Map();
const userOnline = new Map(); // username -> bool
const userStatus = new Map(); // username -> "available" | "away" | "dnd"
let me = "";
let send = () => false;
let activeKey = null;
let maxSeenId = 0; // the newest message id this page has seen: `resume` starts after it
let connectedOnce = false; // set by the first `conversations`: later ones mean "reconnected"
let limits = { max_body_chars: 4000, max_room_name_chars: 64, away_after_seconds: 600 };

export function init(options) {
  me = options.me;
  send = options.send;
}

export const myName = () => me;
export const roomKey = (name) => `r:${name}`;
export const dmKey = (user) => `d:${user}`;
export const getConv = (key) => convs.get(key);
export const active = () => (activeKey ? convs.get(activeKey) : null);
/** Whether ``user`` is online: the one answer the header, the sidebar and the members panel
 * all show. */
export const isOnline = (user) => Boolean(userOnline.get(user));
/** Who of a room's online list is online by that same answer (a stale list never disagrees). */
export const onlineIn = (conv) => conv.online.filter((user) => user === me || isOnline(user));
export const getLimits = () => limits;
/** A user's status as the server last said ("available" until told otherwise). */
export const statusOf = (user) => userStatus.get(user) || "available";
/** Whether a message object (or stored message) mentions this page's user. */
export const mentionsMe = (msg) => Array.isArray(msg.mentions) && msg.mentions.includes(me);
/** The conversations in the sidebar. */
export const members = () => [...convs.values()].filter((conv) => conv.member);
export const sendFrame = (frame) => send(frame);
export const noteSeen = (id) => { maxSeenId = Math.max(maxSeenId, id); };
export const target = (conv, dmField = "to") => (conv.kind === "room" ? { room: conv.name } : { [dmField]: conv.name });

/** Record who is online; tell every panel about the people whose state changed. */
function setOnline(entries) {
  const changed = [];
  for (const [user, online] of entries) {
    if (Boolean(userOnline.get(user)) === Boolean(online) && userOnline.has(user)) continue;
    userOnline.set(user, Boolean(online));
    changed.push(user);
  }
  if (changed.length) emit("presence", changed);
}

/** Record statuses ({name: status}); tell every panel whose changed. */
function setStatus(entries) {
  const changed = [];
  for (const [user, status] of Object.entries(entries || {})) {
    if (statusOf(user) === status && userStatus.has(user)) continue;
    userStatus.set(user, status);
    changed.push(user);
  }
  if (changed.length) emit("status", changed);
}

/** The person's own messages, in one line for the whole page (outbox.js). */
export const outbox = new Outbox({
  transmit: (conv, msg) => send({
    type: "send", ...target(conv), body: msg.body, client_id: msg.client_id,
    ...(msg.files && msg.files.length ? { files: msg.files.map((file) => file.id) } : {}),
  }),
  changed: (what, conv, msg) => {
    if (what === "acked") return stored(conv, msg);
    if (what === "state" && msg.state === "failed" && msg.error && msg.error.code === "unknown_user"
      && conv.kind === "dm" && !conv.member) return forgetGhost(conv, msg.error);
    emit(what === "queued" ? "queued" : what === "requeued" || what === "removed" ? "requeued" : "outbox", conv, msg);
  },
});

function stored(conv, msg) {
  noteSeen(msg.id);
  // Reading older messages: the newer pages bring it in its place (appended now, it would
  // stand after a hole, and the next page would start after it).
  if (conv.newerGap) conv.lastId = Math.max(conv.lastId, msg.id);
  else if (!conv.byId.has(msg.id)) addSent(conv, msg);
  conv.lastReadId = Math.max(conv.lastReadId, msg.id);
  conv.member = true;
  emit("outbox", conv, msg);
  emit("conv", conv);
}

/** Put a stored message into ``conv`` in id order; true when it went at the end. */
function addSent(conv, msg) {
  conv.byId.set(msg.id, msg);
  const inOrder = conv.messages.length === 0 || conv.messages[conv.messages.length - 1].id < msg.id;
  conv.messages.push(msg);
  if (!inOrder) conv.messages.sort((a, b) => a.id - b.id);
  conv.lastId = Math.max(conv.lastId, msg.id);
  return inOrder;
}

/** A DM with someone the server does not know: nothing of it stays (no ghost in the sidebar). */
function forgetGhost(conv, frame) {
  const opening = conv.opening;
  conv.opening = null;
  for (const msg of [...conv.outbox]) outbox.discard(msg);
  convs.delete(conv.key);
  emit("unknown-user", conv, frame, opening);
  emit("conv", conv);
}

export function conversation(kind, name) {
  const key = kind === "room" ? roomKey(name) : dmKey(name);
  let conv = convs.get(key);
  if (!conv) {
    conv = {
      key, kind, name, me,
      member: false, // shown in the sidebar
      unread: 0, lastId: 0, lastReadId: 0,
      mentions: 0, // unread messages that mention this user
      notify: kind === "room" ? "mentions" : "all", // the server's default until it says
      roomMembers: null, // a room's members, asked for by the @ completion
      messages: [], byId: new Map(), outbox: [],
      loaded: false, loading: false, hasMore: false, historyLoading: false,
      online: [], typing: new Map(), dividerAfter: null, unseen: 0,
      opening: null, // a DM being checked before it opens: {origin, body}
      newerGap: false, // showing a page around a search result: newer messages not loaded
      newerLoading: false, // a page after the newest shown (`history` with `after`) asked for
    };
    convs.set(key, conv);
  }
  return conv;
}

export function totalUnread() {
  let total = 0;
  for (const conv of convs.values()) if (conv.member) total += conv.unread;
  return total;
}

/** Make ``key`` the open conversation (null: none). */
export function setActive(key) {
  const previous = active();
  if (previous) {
    previous.dividerAfter = null;
    previous.unseen = 0;
  }
  activeKey = key;
  emit("active", active(), previous);
}

// --- frames ----------------------------------------------------------------------------------

function merge(conv, frames) {
  let added = false;
  for (const frame of frames) {
    noteSeen(frame.id);
    conv.lastId = Math.max(conv.lastId, frame.id);
    if (conv.byId.has(frame.id)) continue;
    const msg = toMessage(frame);
    conv.byId.set(msg.id, msg);
    conv.messages.push(msg);
    added = true;
  }
  if (added) conv.messages.sort((a, b) => a.id - b.id);
}

const toMessage = (frame) => ({ id: frame.id, user: frame.user, body: frame.body, ts: new Date(frame.ts), client_id: frame.client_id, files: frame.files || [], mentions: frame.mentions || [], state: "sent" });

function frameConv(frame, dmField) {
  return frame.room !== undefined && frame.room !== null ? conversation("room", frame.room) : conversation("dm", frame[dmField]);
}

function updateSummary(conv, item) {
  conv.member = true;
  conv.unread = item.unread;
  conv.mentions = item.mentions || 0;
  if (item.notify) conv.notify = item.notify;
  conv.lastId = Math.max(conv.lastId, item.last_id);
  conv.lastReadId = Math.max(conv.lastReadId, item.last_read_id);
}

const handlers = {
  hello(frame) {
    emit("fault-over"); // the server could open a connection: it can store again
    forgetRequests(); // a new socket: whatever the old one was asked died with it
    limits = { ...limits, ...frame.limits };
    emit("limits", limits);
    if (frame.status) setStatus({ [me]: frame.status });
  },
  conversations(frame) {
    const changed = new Set();
    const seenRooms = new Set();
    for (const item of frame.rooms) {
      const conv = conversation("room", item.room);
      updateSummary(conv, item);
      seenRooms.add(conv.key);
      changed.add(conv);
    }
    for (const item of frame.dms) {
      const conv = conversation("dm", item.with);
      updateSummary(conv, item);
      changed.add(conv);
    }
    setOnline(frame.dms.map((item) => [item.with, item.online]));
    setStatus(Object.fromEntries(frame.dms.filter((item) => item.status).map((item) => [item.with, item.status])));
    for (const conv of convs.values()) {
      if (conv.kind === "room" && conv.member && !seenRooms.has(conv.key)) {
        conv.member = false;
        changed.add(conv);
      }
    }
    const first = !connectedOnce;
    if (first) {
      // The high-water mark is the newest message in any conversation.
      for (const conv of convs.values()) maxSeenId = Math.max(maxSeenId, conv.lastId);
      connectedOnce = true;
    } else {
      // Back after a drop: requests in flight died with the old socket. Fetch everything
      // sent meanwhile, then resend what was queued.
      for (const conv of convs.values()) conv.loading = conv.historyLoading = conv.newerLoading = false;
      rejoinWanted();
      send({ type: "resume", since: maxSeenId });
    }
    // Typed while offline, or on the wire when the old socket died: the line goes out now.
    outbox.connected();
    for (const conv of changed) emit("conv", conv);
    emit("synced", first);
  },
  joined(frame) {
    const wanted = joinAnswered()?.wanted;
    const conv = conversation("room", frame.room);
    conv.member = true;
    conv.loading = false;
    conv.online = frame.online;
    setOnline(frame.online.map((user) => [user, true]));
    setStatus(frame.status);
    if (frame.notify) conv.notify = frame.notify;
    if (conv.newerGap) {
      // Reading around a search result: the newest page would leave a hole in between.
      emit("conv", conv);
      emit("online", conv);
      return;
    }
    if (!conv.loaded) {
      conv.hasMore = frame.has_more;
      conv.lastReadId = Math.max(conv.lastReadId, frame.last_read_id);
      conv.unread = frame.unread;
      conv.mentions = frame.mentions || 0;
      // A first visit has read nothing: everything would be "new", so no divider then.
      conv.dividerAfter = frame.unread > 0 && frame.last_read_id > 0 ? frame.last_read_id : null;
    }
    merge(conv, frame.messages);
    conv.loaded = true;
    emit("conv", conv);
    emit("online", conv);
    // The user's own request opens the room under the name the server answered with.
    if (wanted) emit("opened", conv);
    else emit("messages", conv, { reset: true });
  },
  history(frame) {
    historyAnswered();
    const conv = frameConv(frame, "with");
    if (frame.around !== undefined && frame.around !== null) return around(conv, frame);
    if (frame.after !== undefined && frame.after !== null) return newer(conv, frame);
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
    if (conv.opening) {
      // The person exists: open the DM they asked for (and send what they typed).
      const opening = conv.opening;
      conv.opening = null;
      emit("dm-found", conv, opening);
    }
    emit("messages", conv, older ? { older: true } : { reset: true });
  },
  message(frame) {
    receive(frame);
  },
  resumed(frame) {
    // Caught up after a drop: counted, but not announced one by one as news.
    for (const message of frame.messages) receive({ type: "message", ...message }, false);
  },
  ack(frame) {
    emit("fault-over"); // stored: whatever fault there was is over
    outbox.ack(frame.client_id, frame.id);
  },
  presence(frame) {
    const conv = conversation("room", frame.room);
    conv.online = frame.online;
    // Someone in a room's list is online; someone gone from it may only have left the room,
    // so going offline is learnt from `user_presence` alone.
    setOnline(frame.online.map((user) => [user, true]));
    setStatus(frame.status);
    emit("online", conv);
  },
  user_presence(frame) {
    // {users: {name: online}} names everyone whose state changed in one batch.
    setOnline(Object.entries(frame.users));
    setStatus(frame.status);
  },
  notify(frame) {
    const conv = frameConv(frame, "with");
    conv.notify = frame.level;
    emit("conv", conv);
  },
  members(frame) {
    const conv = conversation("room", frame.room);
    conv.roomMembers = frame.members;
    emit("members", conv);
  },
  typing(frame) {
    if (frame.user === me) return;
    const conv = convs.get(frame.room !== undefined ? roomKey(frame.room) : dmKey(frame.from));
    if (!conv) return;
    clearTimeout(conv.typing.get(frame.user));
    conv.typing.set(frame.user, setTimeout(() => {
      conv.typing.delete(frame.user);
      emit("typing", conv);
    }, TYPING_SHOWN_MS));
    emit("typing", conv);
  },
  read(frame) {
    const conv = convs.get(frame.room !== undefined ? roomKey(frame.room) : dmKey(frame.with));
    if (!conv) return;
    conv.lastReadId = Math.max(conv.lastReadId, frame.id);
    if (conv.lastReadId >= conv.lastId) conv.unread = conv.mentions = 0;
    else if (conv.loaded) {
      const unread = conv.messages.filter((m) => m.id > conv.lastReadId && m.user !== me);
      conv.unread = unread.length;
      conv.mentions = unread.filter(mentionsMe).length;
    }
    emit("conv", conv);
  },
  renamed(frame) {
    // The room keeps everything (messages, drafts, unread, the open view); only its key and
    // name change. The panels that keep things by key move them ("renamed").
    const conv = convs.get(roomKey(frame.room));
    if (!conv || frame.room === frame.name) return;
    const oldKey = conv.key;
    convs.delete(oldKey);
    conv.name = frame.name;
    conv.key = roomKey(frame.name);
    convs.set(conv.key, conv);
    if (activeKey === oldKey) activeKey = conv.key;
    renamedFrom.set(oldKey, conv);
    emit("renamed", conv, oldKey, frame.room);
    emit("conv", conv);
  },
  membership(frame) {
    const conv = conversation("room", frame.room);
    conv.member = frame.action === "join";
    if (!conv.member) {
      conv.loaded = false;
      emit("left", conv);
    }
    emit("conv", conv);
  },
  error(frame) {
    if (frame.code === "server_error") emit("fault", frame); // said in its own notice too
    if (outbox.refuse(frame)) return;
    if (frame.ref === "rename") return emit("rename-error", frame);
    if (frame.ref === "join") {
      const answered = joinAnswered();
      // A name the room had before a rename: rename.js opens it under its name now.
      if (answered?.wanted && frame.renamed_to) return emit("join-renamed", frame, answered.request);
      if (answered?.wanted) return emit("join-error", frame, answered.request);
      if (answered?.conv) answered.conv.loading = false;
    }
    if (frame.ref === "typing") return; // a typing hint that could not be delivered is no news
    if (frame.ref === "search") return emit("search-error", frame);
    if (frame.ref === "history") {
      const conv = historyAnswered()?.conv;
      if (conv) conv.historyLoading = conv.loading = conv.newerLoading = false;
      if (conv && conv.kind === "dm" && !conv.member && frame.code === "unknown_user") return forgetGhost(conv, frame);
    }
    if (frame.code === "server_error") return; // its notice says it (faults.js), not a toast
    emit("error", frame);
  },
  pong() {},
  search_results(frame) {
    emit("search-results", frame);
  },
};

/** A page around one message (a search result opened): joined to what is shown when the
 * two meet, else shown alone, with the newer messages marked as not loaded (``newerGap``). */
function around(conv, frame) {
  conv.historyLoading = false;
  conv.loading = false;
  const page = frame.messages;
  const meets = conv.loaded && !conv.newerGap && conv.messages.length > 0 && page.length > 0
    && page[page.length - 1].id >= conv.messages[0].id;
  if (meets) {
    if (page[0].id < conv.messages[0].id) conv.hasMore = frame.has_more;
  } else {
    conv.messages = [];
    conv.byId = new Map();
    conv.hasMore = frame.has_more;
    conv.newerGap = frame.has_newer;
    conv.dividerAfter = null;
  }
  merge(conv, page);
  conv.loaded = true;
  emit("messages", conv, { reset: true, focus: frame.around });
}

/** A page after the newest message shown (`history` with `after`), while reading older
 * messages: appended when it starts where the shown ones end (an answer to a request made
 * before another search result replaced them is dropped). The gap is closed once nothing
 * newer exists and every message that arrived live meanwhile (counted in ``lastId``) is in. */
function newer(conv, frame) {
  conv.newerLoading = false;
  const shown = conv.messages;
  if (!conv.loaded || !conv.newerGap || shown.length === 0 || shown[shown.length - 1].id !== frame.after) return;
  merge(conv, frame.messages);
  conv.newerGap = frame.has_more || conv.lastId > conv.messages[conv.messages.length - 1].id;
  emit("messages", conv, { newer: true });
}

/** Leave a page around a search result for the newest messages (loaded again from the
 * server by the caller). */
export function forgetLoaded(conv) {
  conv.messages = [];
  conv.byId = new Map();
  conv.loaded = false;
  conv.newerGap = false;
  conv.hasMore = false;
}

/** Apply one server frame to the state; the listeners hear what changed. */
export function apply(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

/** A message frame, live or from `resume` (``live`` false). */
function receive(frame, live = true) {
  const isRoom = frame.room !== undefined && frame.room !== null;
  const conv = isRoom
    ? convs.get(roomKey(frame.room)) ?? renamedFrom.get(roomKey(frame.room)) ?? conversation("room", frame.room)
    : conversation("dm", frame.from === me ? frame.to : frame.from);
  noteSeen(frame.id);
  const mine = frame.user === me;
  if (mine && frame.client_id) outbox.ack(frame.client_id, frame.id);
  const known = conv.byId.get(frame.id);
  if (known) {
    // The person's own message, acked before its frame came: the server's mentions now.
    if (frame.mentions && frame.mentions.length && !(known.mentions || []).length) {
      known.mentions = frame.mentions;
      emit("outbox", conv, known);
    }
    return;
  }
  const isNew = frame.id > conv.lastId;
  conv.member = true;
  if (conv.typing.has(frame.user)) {
    clearTimeout(conv.typing.get(frame.user));
    conv.typing.delete(frame.user);
    emit("typing", conv);
  }
  conv.lastId = Math.max(conv.lastId, frame.id);
  const counts = isNew && !mine && frame.id > conv.lastReadId;
  if (counts && mentionsMe(frame)) conv.mentions += 1;
  if (!conv.loaded || conv.newerGap) {
    if (counts) conv.unread += 1;
    emit("conv", conv);
    if (counts && live) emit("incoming", conv, frame);
    return;
  }
  const msg = toMessage(frame);
  const inOrder = addSent(conv, msg);
  if (mine) conv.lastReadId = Math.max(conv.lastReadId, msg.id);
  else if (isNew) conv.unread += 1;
  emit("messages", conv, { live: msg, inOrder, isNew, mine });
  emit("conv", conv);
  if (counts && live) emit("incoming", conv, frame);
}
