// Mentions in the page: `@` completion in the composer (from the conversation's members,
// as the server lists them) and mentions drawn in messages, the person's own highlighted.
// Who a message mentions is the server's answer (`mentions` in each message object); this
// module only draws it. The pure parts (`mentionQuery`, `completions`, `mentionParts`) are
// unit-tested under node.

import { h, linkify } from "./dom.js";
import * as state from "./state.js";

const ROOM_WORD = "room";
const MAX_SHOWN = 8;

/** The `@` word being typed just before the caret: {start, query} or null. */
export function mentionQuery(text, caret) {
  const before = text.slice(0, caret);
  const match = before.match(/(?:^|[^\w@.+-])@([\w.@+-]*)$/u);
  if (!match) return null;
  return { start: caret - match[1].length - 1, query: match[1] };
}

/** Names offered for ``query``: those starting with it first, then containing it, without
 * the person themselves; "room" first among them in a room. */
export function completions(query, names, { me, inRoom }) {
  const wanted = query.toLocaleLowerCase();
  const pool = names.filter((name) => name !== me);
  if (inRoom) pool.unshift(ROOM_WORD);
  const starts = pool.filter((name) => name.toLocaleLowerCase().startsWith(wanted));
  const contains = pool.filter((name) => !starts.includes(name) && name.toLocaleLowerCase().includes(wanted));
  return [...new Set([...starts, ...contains])].slice(0, MAX_SHOWN);
}

/**
 * ``text`` cut into plain strings and mentions: [{text, mention: name|null}]. A mention is an
 * `@name` (or `@room`) the server listed for this message; nothing else is treated as one.
 */
export function mentionParts(text, mentioned) {
  if (!mentioned.length || !text.includes("@")) return [{ text, mention: null }];
  const names = new Set([...mentioned, ROOM_WORD]);
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/(?<![\w@.+-])@([\w.@+-]+)/gu)) {
    let name = match[1];
    while (name && !names.has(name) && /[.@+-]$/.test(name)) name = name.slice(0, -1);
    if (!names.has(name)) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index), mention: null });
    parts.push({ text: `@${name}`, mention: name });
    last = match.index + name.length + 1;
  }
  if (last < text.length) parts.push({ text: text.slice(last), mention: null });
  return parts;
}

/** A message body as nodes: links (dom.js) and mentions, the person's own marked. */
export function bodyNodes(msg, me) {
  const mentioned = msg.mentions || [];
  const fragment = document.createDocumentFragment();
  for (const part of mentionParts(msg.body, mentioned)) {
    if (part.mention === null) {
      fragment.append(linkify(part.text));
      continue;
    }
    const mine = part.mention === me || (part.mention === ROOM_WORD && mentioned.includes(me));
    fragment.append(h("span", { class: mine ? "mention mention-me" : "mention", text: part.text }));
  }
  return fragment;
}

// --- the composer's completion list ---------------------------------------------------------

let ui = null;
let items = [];
let selected = 0;
let current = null; // {start, query} while the list is open

function candidates(conv) {
  if (conv.kind === "dm") return [conv.name];
  if (conv.roomMembers === null) {
    conv.roomMembers = []; // asked once; the answer ("members") redraws the list
    state.sendFrame({ type: "members", room: conv.name });
  }
  // Members, and anyone seen online meanwhile (a newcomer since the list came).
  return [...new Set([...conv.roomMembers, ...conv.online])];
}

function close() {
  if (!ui || ui.list.hidden) return;
  ui.list.hidden = true;
  ui.list.replaceChildren();
  current = null;
  items = [];
  ui.input.removeAttribute("aria-activedescendant");
}

function draw() {
  ui.list.replaceChildren(...items.map((name, index) => {
    const li = document.createElement("li");
    li.id = `mention-option-${index}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(index === selected));
    li.className = `mention-option${index === selected ? " selected" : ""}`;
    li.textContent = `@${name}`;
    li.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the caret in the composer
      accept(index);
    });
    return li;
  }));
  ui.input.setAttribute("aria-activedescendant", `mention-option-${selected}`);
}

function refresh() {
  const conv = state.active();
  const found = conv ? mentionQuery(ui.input.value, ui.input.selectionStart) : null;
  if (!found || ui.input.selectionStart !== ui.input.selectionEnd) return close();
  const offered = completions(found.query, candidates(conv), { me: state.myName(), inRoom: conv.kind === "room" });
  if (!offered.length) return close();
  current = found;
  if (items.join("\n") !== offered.join("\n")) selected = 0;
  items = offered;
  ui.list.hidden = false;
  draw();
}

function accept(index) {
  if (!current) return;
  const name = items[index];
  const value = ui.input.value;
  const end = current.start + 1 + current.query.length;
  const rest = value.slice(end);
  const insert = `@${name}${rest.startsWith(" ") ? "" : " "}`;
  ui.input.value = value.slice(0, current.start) + insert + rest;
  const caret = current.start + insert.length;
  ui.input.setSelectionRange(caret, caret);
  close();
  ui.input.dispatchEvent(new Event("input", { bubbles: true })); // draft, counter, size
}

export function init() {
  const input = document.getElementById("composer-input");
  const list = document.getElementById("mention-list");
  ui = { input, list };
  // A textarea cannot be a combobox (no aria-expanded on a textbox): it names the list it
  // controls and the option in focus (aria-activedescendant), which screen readers follow.
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", "mention-list");
  input.addEventListener("input", refresh);
  input.addEventListener("click", refresh);
  input.addEventListener("blur", close);
  // Before the composer's own Enter: in the capture phase on its form.
  document.getElementById("composer").addEventListener("keydown", (event) => {
    if (list.hidden || event.target !== input || event.isComposing) return;
    const keys = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in keys) {
      selected = (selected + keys[event.key] + items.length) % items.length;
      draw();
    } else if (event.key === "Enter" && current && items[selected] === current.query) {
      close(); // the name is typed out already: Enter sends, as it does without the list
      return;
    } else if (event.key === "Enter" || event.key === "Tab") {
      accept(selected);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);
  state.on("members", (conv) => { if (conv === state.active() && current) refresh(); });
  state.on("active", (conv) => {
    close();
    if (conv && conv.kind === "room") conv.roomMembers = null; // fresh each time it opens
  });
}
