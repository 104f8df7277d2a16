// Every server frame (docs/protocol.md) applied to the store: `apply(frame)` is the only place
// server frames change state. One handler per frame type; each changes the store (state.js)
// and announces what changed, so the panels redraw just that.

import { addSent, historyPage, merge, toMessage } from "./history.js";
import { forgetGhost, outbox } from "./outgoing.js";
import { forgetRequests, historyAnswered, joinAnswered, rejoinWanted } from "./requests.js";
import {
  allConversations, conversation, dmKey, emit, getConv, mentionsMe, messageRoom, myName,
  noteSeen, renameRoom, roomKey, seenUpTo, sendFrame, setLimits, setOnline, setStatus,
} from "./state.js";

const TYPING_SHOWN_MS = 5000;

let connectedOnce = false; // set by the first `conversations`: later ones mean "reconnected"

/** Apply one server frame to the state; the listeners hear what changed. */
export function apply(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

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
    emit("limits", setLimits(frame.limits));
    if (frame.status) setStatus({ [myName()]: frame.status });
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
    for (const conv of allConversations()) {
      if (conv.kind === "room" && conv.member && !seenRooms.has(conv.key)) {
        conv.member = false;
        changed.add(conv);
      }
    }
    const first = !connectedOnce;
    if (first) {
      // The high-water mark is the newest message in any conversation.
      for (const conv of allConversations()) noteSeen(conv.lastId);
      connectedOnce = true;
    } else {
      // Back after a drop: requests in flight died with the old socket. Fetch everything
      // sent meanwhile, then resend what was queued.
      for (const conv of allConversations()) conv.loading = conv.historyLoading = conv.newerLoading = false;
      rejoinWanted();
      sendFrame({ type: "resume", since: seenUpTo() });
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
    historyPage(frameConv(frame, "with"), frame);
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
    if (frame.user === myName()) return;
    const conv = getConv(frame.room !== undefined ? roomKey(frame.room) : dmKey(frame.from));
    if (!conv) return;
    clearTimeout(conv.typing.get(frame.user));
    conv.typing.set(frame.user, setTimeout(() => {
      conv.typing.delete(frame.user);
      emit("typing", conv);
    }, TYPING_SHOWN_MS));
    emit("typing", conv);
  },
  read(frame) {
    const conv = getConv(frame.room !== undefined ? roomKey(frame.room) : dmKey(frame.with));
    if (!conv) return;
    conv.lastReadId = Math.max(conv.lastReadId, frame.id);
    if (conv.lastReadId >= conv.lastId) conv.unread = conv.mentions = 0;
    else if (conv.loaded) {
      const unread = conv.messages.filter((m) => m.id > conv.lastReadId && m.user !== myName());
      conv.unread = unread.length;
      conv.mentions = unread.filter(mentionsMe).length;
    }
    emit("conv", conv);
  },
  renamed(frame) {
    // The room keeps everything; the panels that keep things by key move them ("renamed").
    const conv = getConv(roomKey(frame.room));
    if (!conv || frame.room === frame.name) return;
    const oldKey = renameRoom(conv, frame.name);
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

/** A message frame, live or from `resume` (``live`` false). */
function receive(frame, live = true) {
  const me = myName();
  const isRoom = frame.room !== undefined && frame.room !== null;
  const conv = isRoom ? messageRoom(frame.room) : conversation("dm", frame.from === me ? frame.to : frame.from);
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
