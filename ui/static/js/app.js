// Deskchat's one-page chat, wired together. The frames of docs/protocol.md arrive over one
// WebSocket (connection.js) and are applied to the store (state.js) by incoming.js, the only
// place they change state; the sidebar, the conversation pane, the members panel and the
// composer each listen for the changes they show and redraw just those.

import * as away from "./away.js";
import * as bell from "./bell.js";
import { Connection } from "./connection.js";
import * as composer from "./composer.js";
import * as conversation from "./conversation.js";
import * as files from "./files.js";
import { apply } from "./incoming.js";
import { colourClass, setIconSprite } from "./dom.js";
import * as faults from "./faults.js";
import { t } from "./i18n.js";
import * as levels from "./levels.js";
import * as mentions from "./mentions.js";
import * as exporting from "./exporting.js";
import * as members from "./members.js";
import * as navigation from "./navigation.js";
import * as rename from "./rename.js";
import { makeNoticesDismissable, onRetryNow, showConnectionState } from "./notices.js";
import * as notify from "./notify.js";
import * as search from "./search.js";
import * as sidebar from "./sidebar.js";
import * as state from "./state.js";
import * as switcher from "./switcher.js";

const root = document.getElementById("app");
const me = root.dataset.user;
setIconSprite(root.dataset.icons);

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.wsPath}`;
const connection = new Connection(wsUrl, {
  onFrame: apply,
  onState: (connectionState) => {
    showConnectionState(root, connectionState);
    faults.onConnectionState(connectionState);
  },
});

state.init({ me, send: (frame) => connection.send(frame) });
// The pane first: it shows a conversation before the others react to its opening.
conversation.init();
sidebar.init({ open: navigation.open, openDm: navigation.openDm });
members.init({ openDm: navigation.openDm });
composer.init({ openDm: navigation.openDm, ownMessage: navigation.ownMessage });
files.init({ ownMessage: navigation.ownMessage });
navigation.init();
switcher.init({ open: navigation.open });
rename.init();
mentions.init();
levels.init();
notify.init({ open: navigation.open, t, sound: root.dataset.sound });
away.init();
bell.init({ setStatus: away.choose });
search.init({ open: navigation.open, showMessage: conversation.showMessage });
exporting.init();
onRetryNow(() => connection.retryNow());
faults.init({ retryNow: () => connection.retryNow() });

makeNoticesDismissable();
const meAvatar = document.getElementById("me-avatar");
meAvatar.dataset.letter = (Array.from(me)[0] || "?").toUpperCase();
meAvatar.classList.add(colourClass(me));

connection.start();
