// The page's one store: every conversation, who is online, the server's limits and the
// requests in flight. `apply(frame)` is the only place server frames change it; the panels
// listen (`on`) for what changed and redraw just that. Room names are the server's canonical
// spelling, exactly as it sends them: the client never folds or compares names itself.

import { addSent, handleAck, handleSendError, resendPending } from "./outbox.js";
import { forgetJoins, joinAnswered, rejoinWanted } from "./requests.js";

const listeners = new Map();

/** Call ``fn`` on every ``type`` change: "conv" (a sidebar entry's data), "active", "messages",
 * "queued" and "outbox" (own messages), "online", "typing", "users", "synced", "opened",
 * "join-error", "left", "limits", "error". */
export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, []);
  listeners.get(type).push(fn);
}

export function emit(type, ...args) {
  for (const fn of listeners.get(type) || []) fn(...args);
}

const TYPING_SHOWN_MS = 5000;

const convs = new Map(); // "r:<room as the server spells it>" or "d:<username>" -> conversation
const userOnline = new Map(); // username -> bool
let me = "";
let send = () => false;
let activeKey = null;
let maxSeenId = 0; // the newest message id this page has seen: `resume` starts after it
let connectedOnce = false; // set by the first `conversations`: later ones mean "reconnected"
let limits = { max_body_chars: 4000 };

export function init(options) {
  me = options.me;
  send = options.send;
}

export const myName = () => me;
export const roomKey = (name) => `r:${name}`;
export const dmKey = (user) => `d:${user}`;
export const getConv = (key) => convs.get(key);
export const active = () => (activeKey ? convs.get(activeKey) : null);
export const isOnline = (user) => Boolean(userOnline.get(user));
export const getLimits = () => limits;
export const sendFrame = (frame) => send(frame);
export const noteSeen = (id) => { maxSeenId = Math.max(maxSeenId, id); };
export const target = (conv, dmField = "to") => (conv.kind === "room" ? { room: conv.name } : { [dmField]: conv.name });

export function conversation(kind, name) {
  const key = kind === "room" ? roomKey(name) : dmKey(name);
  let conv = convs.get(key);
  if (!conv) {
    conv = {
      key, kind, name, me,
      member: false, // shown in the sidebar
      unread: 0, lastId: 0, lastReadId: 0,
      messages: [], byId: new Map(), outbox: [],
      loaded: false, loading: false, hasMore: false, historyLoading: false,
      online: [], typing: new Map(), dividerAfter: null, unseen: 0,
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

const toMessage = (frame) => ({ id: frame.id, user: frame.user, body: frame.body, ts: new Date(frame.ts), client_id: frame.client_id, state: "sent" });

function frameConv(frame, dmField) {
  return frame.room !== undefined && frame.room !== null ? conversation("room", frame.room) : conversation("dm", frame[dmField]);
}

function updateSummary(conv, item) {
  conv.member = true;
  conv.unread = item.unread;
  conv.lastId = Math.max(conv.lastId, item.last_id);
  conv.lastReadId = Math.max(conv.lastReadId, item.last_read_id);
}

const handlers = {
  hello(frame) {
    forgetJoins(); // a new socket: whatever the old one was asked died with it
    limits = frame.limits || limits;
    emit("limits", limits);
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
      userOnline.set(item.with, item.online);
      changed.add(conv);
    }
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
      for (const conv of convs.values()) conv.loading = conv.historyLoading = false;
      rejoinWanted();
      send({ type: "resume", since: maxSeenId });
      resendPending(convs.values());
    }
    for (const conv of changed) emit("conv", conv);
    emit("synced", first);
  },
  joined(frame) {
    const wanted = joinAnswered() === "wanted";
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
    emit("conv", conv);
    emit("online", conv);
    // The user's own request opens the room under the name the server answered with.
    if (wanted) emit("opened", conv);
    else emit("messages", conv, { reset: true });
  },
  history(frame) {
    const conv = frameConv(frame, "with");
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
    emit("messages", conv, older ? { older: true } : { reset: true });
  },
  message(frame) {
    receive(frame);
  },
  resumed(frame) {
    for (const message of frame.messages) receive({ type: "message", ...message });
  },
  ack(frame) {
    handleAck(frame);
  },
  presence(frame) {
    const conv = conversation("room", frame.room);
    conv.online = frame.online;
    for (const user of frame.online) userOnline.set(user, true);
    emit("online", conv);
  },
  user_presence(frame) {
    // {users: {name: online}} names everyone whose state changed in one batch.
    for (const [user, online] of Object.entries(frame.users)) userOnline.set(user, online);
    for (const user of Object.keys(frame.users)) {
      const conv = convs.get(dmKey(user));
      if (conv) emit("conv", conv);
    }
    emit("users", frame.users);
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
    if (conv.lastReadId >= conv.lastId) conv.unread = 0;
    else if (conv.loaded) conv.unread = conv.messages.filter((m) => m.id > conv.lastReadId && m.user !== me).length;
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
    if (handleSendError(frame)) return;
    if (frame.ref === "join") {
      const answered = joinAnswered();
      if (answered === "wanted") return emit("join-error", frame);
      if (answered) answered.loading = false;
    }
    if (frame.ref === "typing") return; // a typing hint that could not be delivered is no news
    if (frame.ref === "history") for (const conv of convs.values()) conv.historyLoading = conv.loading = false;
    emit("error", frame);
  },
  pong() {},
};

/** Apply one server frame to the state; the listeners hear what changed. */
export function apply(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

/** A message frame, live or from `resume`. */
function receive(frame) {
  const conv = frame.room !== undefined && frame.room !== null
    ? conversation("room", frame.room)
    : conversation("dm", frame.from === me ? frame.to : frame.from);
  noteSeen(frame.id);
  const mine = frame.user === me;
  if (mine && frame.client_id) handleAck({ client_id: frame.client_id, id: frame.id });
  if (conv.byId.has(frame.id)) return;
  const isNew = frame.id > conv.lastId;
  conv.member = true;
  if (conv.typing.has(frame.user)) {
    clearTimeout(conv.typing.get(frame.user));
    conv.typing.delete(frame.user);
    emit("typing", conv);
  }
  conv.lastId = Math.max(conv.lastId, frame.id);
  if (!conv.loaded) {
    if (isNew && !mine) conv.unread += 1;
    emit("conv", conv);
    return;
  }
  const msg = toMessage(frame);
  const inOrder = addSent(conv, msg);
  if (mine) conv.lastReadId = Math.max(conv.lastReadId, msg.id);
  else if (isNew) conv.unread += 1;
  emit("messages", conv, { live: msg, inOrder, isNew, mine });
  emit("conv", conv);
}
