// The page's one store: every conversation, who is online and with which status, the server's
// limits, the open conversation, and the events that announce what changed (`on`/`emit`).
// Server frames change it in one place, incoming.js; the panels listen (`on`) for what changed
// and redraw just that. Room names are the server's canonical spelling, exactly as it sends
// them: the client never folds or compares names itself.

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
/** Every conversation the page knows, in the sidebar or not. */
export const allConversations = () => [...convs.values()];
export const sendFrame = (frame) => send(frame);
export const noteSeen = (id) => { maxSeenId = Math.max(maxSeenId, id); };
/** The newest message id this page has seen (`resume` asks for what came after it). */
export const seenUpTo = () => maxSeenId;
export const target = (conv, dmField = "to") => (conv.kind === "room" ? { room: conv.name } : { [dmField]: conv.name });

/** Take the server's limits (from `hello`) over the defaults; the limits now in force. */
export function setLimits(given) {
  limits = { ...limits, ...given };
  return limits;
}

/** Record who is online; tell every panel about the people whose state changed. */
export function setOnline(entries) {
  const changed = [];
  for (const [user, online] of entries) {
    if (Boolean(userOnline.get(user)) === Boolean(online) && userOnline.has(user)) continue;
    userOnline.set(user, Boolean(online));
    changed.push(user);
  }
  if (changed.length) emit("presence", changed);
}

/** Record statuses ({name: status}); tell every panel whose changed. */
export function setStatus(entries) {
  const changed = [];
  for (const [user, status] of Object.entries(entries || {})) {
    if (statusOf(user) === status && userStatus.has(user)) continue;
    userStatus.set(user, status);
    changed.push(user);
  }
  if (changed.length) emit("status", changed);
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

/** The room a message names: the conversation renamed away from that name when a message
 * built before the rename still says it, else the room of that name (made when new). */
export function messageRoom(name) {
  const key = roomKey(name);
  return convs.get(key) ?? renamedFrom.get(key) ?? conversation("room", name);
}

/** Give a room its new name: it keeps everything (messages, drafts, unread, the open view),
 * only its key and name change. The old key, which the panels that keep things by key move. */
export function renameRoom(conv, name) {
  const oldKey = conv.key;
  convs.delete(oldKey);
  conv.name = name;
  conv.key = roomKey(name);
  convs.set(conv.key, conv);
  if (activeKey === oldKey) activeKey = conv.key;
  renamedFrom.set(oldKey, conv);
  return oldKey;
}

/** Drop a conversation from the page (a DM with someone who does not exist). */
export function forgetConversation(conv) {
  convs.delete(conv.key);
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
