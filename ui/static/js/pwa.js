// Installable for browser peers (chatserver/pwa.py): register the service worker, which keeps
// only the app shell. Over HTTPS only: the host's own window runs on loopback and needs none.
if ("serviceWorker" in navigator && window.isSecureContext && location.protocol === "https:") {
  navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" }).catch((error) => {
    console.warn("Deskchat: the service worker could not be registered", error);
  });
}
