// Files in a conversation. Picking (the paper-clip button), dropping on the pane or pasting
// into the composer uploads each file to `POST /files/` with a progress bar and a Cancel
// button; once stored, it is sent as a message of its own through the outbox (so it keeps
// its place in line and survives a reconnect). Messages show their files: images as
// thumbnails that open full size in the page, anything else as a download link.
// File names are only ever text.

import { h, icon } from "./dom.js";
import { t } from "./i18n.js";
import { outbox } from "./outgoing.js";
import * as state from "./state.js";

const $ = (id) => document.getElementById(id);

// Upload refusals by the server's code, in words (the server's own text is the fallback).
const UPLOAD_ERRORS = {
  too_large: "The file is larger than this server accepts ({max}).",
  empty_file: "The file is empty.",
  image_too_large: "The image is too large to process.",
  not_joined: "Join the room first.",
  unknown_room: "That room does not exist.",
  unknown_user: "That person's account no longer exists.",
  not_logged_in: "You are logged out: log in again to send files.",
  missing_field: "Choose a file to upload.",
};

let ownMessage = () => null;
let csrfToken = "";

/** ``1.5 MB``: sizes as people read them (powers of 1024, as the server's limit). */
export function formatSize(bytes) {
  const units = [t("B"), t("KB"), t("MB"), t("GB")];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${units[unit]}`;
}

/** The ``files`` of a message, drawn under its text; null when it has none. */
export function filesNode(files) {
  if (!files || files.length === 0) return null;
  return h("ul", { class: "msg-files" }, files.map(fileItem));
}

function fileItem(file) {
  if (file.thumb) {
    const { width, height } = thumbSize(file);
    const image = h("img", { src: file.thumb, alt: file.name, width, height, loading: "lazy" });
    const title = t("{name}, {size}: open full size", { name: file.name, size: formatSize(file.size) });
    const open = (event) => openViewer(event, file);
    const link = h("a", { class: "msg-image", href: file.url, title, on: { click: open } }, image);
    return h("li", { class: "msg-file image" }, link);
  }
  return h("li", { class: "msg-file" },
    h("a", { href: file.url, download: file.name, class: "file-link" },
      icon("file"),
      h("span", { class: "file-name", dir: "auto", text: file.name }),
      h("span", { class: "file-size", text: formatSize(file.size) })));
}

/** The thumbnail's size on screen: the server's 320 px box, kept for layout before it loads. */
function thumbSize(file) {
  const scale = Math.min(1, 320 / file.width, 320 / file.height);
  return { width: Math.max(1, Math.round(file.width * scale)), height: Math.max(1, Math.round(file.height * scale)) };
}

/** An image at full size, over the page (Escape or a click closes it). */
function openViewer(event, file) {
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return; // a new tab
  event.preventDefault();
  const viewer = $("image-viewer");
  const image = $("image-viewer-img");
  image.alt = file.name;
  image.src = file.url;
  $("image-viewer-name").textContent = file.name;
  $("image-viewer-download").href = file.url;
  viewer.showModal();
}

// --- uploading -------------------------------------------------------------------------

/** Upload ``files`` to the open conversation, each with its own progress row. */
export function uploadFiles(files) {
  const conv = state.active();
  if (!conv) return;
  for (const file of files) upload(conv, file);
}

function errorFor(status, answer) {
  const max = formatSize(state.getLimits().max_upload_bytes || 0);
  if (answer && UPLOAD_ERRORS[answer.code]) return t(UPLOAD_ERRORS[answer.code], { max });
  if (status === 413) return t(UPLOAD_ERRORS.too_large, { max });
  if (answer && answer.error) return answer.error;
  return t("The upload failed. Check the connection and try again.");
}

function upload(conv, file) {
  const name = file.name || t("pasted image");
  const bar = h("progress", { max: 100, value: 0, "aria-label": t("Uploading {name}", { name }) });
  const status = h("span", { class: "upload-status", text: t("Uploading…") });
  const request = new XMLHttpRequest();
  const cancel = h("button", {
    type: "button", class: "link-button", text: t("Cancel"),
    on: { click: () => request.abort() },
  });
  const row = h("li", { class: "upload" },
    h("span", { class: "upload-name", dir: "auto", text: name }),
    h("span", { class: "file-size", text: formatSize(file.size) }),
    bar, status, cancel);
  $("upload-list").append(row);
  const failed = (text) => {
    row.classList.add("failed");
    bar.remove();
    status.textContent = text;
    status.setAttribute("role", "alert");
    cancel.textContent = t("Dismiss");
    cancel.onclick = () => row.remove();
  };
  const max = state.getLimits().max_upload_bytes;
  if (max && file.size > max) return failed(t(UPLOAD_ERRORS.too_large, { max: formatSize(max) }));
  if (file.size === 0) return failed(t(UPLOAD_ERRORS.empty_file));

  const form = new FormData();
  form.append(conv.kind === "room" ? "room" : "to", conv.name);
  form.append("file", file, name);
  request.open("POST", "/files/");
  request.setRequestHeader("X-CSRFToken", csrfToken);
  request.responseType = "json";
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.floor((event.loaded / event.total) * 100);
    bar.value = percent;
    status.textContent = t("{percent}%", { percent });
  });
  request.addEventListener("load", () => {
    if (request.status !== 201) return failed(errorFor(request.status, request.response));
    row.remove();
    const msg = ownMessage("");
    msg.files = [request.response];
    outbox.add(conv, msg);
  });
  request.addEventListener("error", () => failed(errorFor(0, null)));
  request.addEventListener("abort", () => row.remove());
  request.send(form);
}

export function init(callbacks) {
  ownMessage = callbacks.ownMessage;
  csrfToken = $("app").dataset.csrf || "";
  const picker = $("file-picker");
  $("attach-button").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    uploadFiles([...picker.files]);
    picker.value = ""; // the same file may be picked again
  });
  // Paste: files (a screenshot) are uploaded; text pastes as usual.
  $("composer-input").addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (files.length === 0) return;
    event.preventDefault();
    uploadFiles(files);
  });
  // Drop anywhere on the conversation pane.
  const pane = $("conversation");
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  pane.addEventListener("dragover", (event) => {
    if (!carriesFiles(event) || !state.active()) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    pane.classList.add("dropping");
  });
  pane.addEventListener("dragleave", (event) => {
    if (!pane.contains(event.relatedTarget)) pane.classList.remove("dropping");
  });
  pane.addEventListener("drop", (event) => {
    pane.classList.remove("dropping");
    if (!carriesFiles(event)) return;
    event.preventDefault();
    uploadFiles([...event.dataTransfer.files]);
  });
  const viewer = $("image-viewer");
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer || event.target.closest("[data-close]")) viewer.close();
  });
  viewer.addEventListener("close", () => $("image-viewer-img").removeAttribute("src"));
}
