// Building DOM safely. User text (names, rooms, messages) only ever becomes a text node:
// nothing in this app turns a string into HTML. Links are made from parsed URLs, http(s) only.

const SVG_NS = "http://www.w3.org/2000/svg";
let iconSprite = "";

/** Where the icon sprite lives (the template passes the static URL in a data attribute). */
export function setIconSprite(url) {
  iconSprite = url;
}

/**
 * Create an element. ``props``: ``class``, ``text``, ``hidden``, ``dataset``, ``on`` (events)
 * and any other key as an attribute. Children may be nodes, strings (as text) or null.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (key === "hidden") node.hidden = true;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** An icon from the sprite, hidden from screen readers (its button carries the label). */
export function icon(name, extraClass = "") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", `icon ${extraClass}`.trim());
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `${iconSprite}#${name}`);
  svg.append(use);
  return svg;
}

/** Remove every child of ``node``. */
export function clear(node) {
  node.replaceChildren();
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}»”’]+$/;

/** A safe link for ``candidate`` or null: parsed by URL, http and https only. */
export function safeUrl(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : null;
}

/** ``text`` as text nodes, with http(s) URLs turned into links that open outside the app. */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let candidate = match[0];
    const trailing = candidate.match(TRAILING);
    // "(see https://x.org/a_(b))" keeps its closing bracket only when it has an opening one.
    if (trailing && !(trailing[0].startsWith(")") && candidate.includes("("))) {
      candidate = candidate.slice(0, -trailing[0].length);
    }
    const url = safeUrl(candidate);
    if (!url) continue;
    fragment.append(document.createTextNode(text.slice(last, match.index)));
    fragment.append(h("a", { href: url.href, rel: "noopener noreferrer", target: "_blank", text: candidate }));
    last = match.index + candidate.length;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

/** A stable colour (one of eight CSS classes) for a name, so each person keeps theirs. */
export function colourClass(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `tint-${hash % 8}`;
}

/** The round letter avatar used in the sidebar, the members panel and the message list. */
export function avatar(name, extraClass = "") {
  const letter = Array.from(name.trim())[0] || "?";
  // The letter is drawn by CSS from data-letter, so it never leaks into the text of a heading
  // or a link that contains the avatar.
  return h("span", { class: `avatar ${colourClass(name)} ${extraClass}`.trim(), "aria-hidden": "true", dataset: { letter: letter.toUpperCase() } });
}
