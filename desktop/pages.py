"""The launcher's own screens, shown in the window before (or beside) the chat itself.

They are plain HTML strings loaded with pywebview's ``html=``: the first-run account form, the
"join a chat on this network" list, the sharing panel, and the start-up error page. Their
buttons call the Python objects in ``desktop/window.py`` through ``window.pywebview.api``.
Anything that came from outside (names, addresses, messages) is put in with ``textContent``
or escaped here, never as markup.
"""

from __future__ import annotations

import html

STYLE = """
:root { color-scheme: light; --blue:#2563eb; --ink:#111827; --muted:#6b7280; --line:#e5e7eb; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, "DejaVu Sans", sans-serif; color:var(--ink);
       background:#f3f4f6; }
main { max-width:440px; margin:min(48px, 5vh) auto; background:#fff; border:1px solid var(--line);
       border-radius:12px; padding:28px 32px; }
h1 { font-size:22px; margin:0 0 6px; display:flex; gap:10px; align-items:center; }
h1 svg { width:32px; height:32px; flex:none; }
h2 { font-size:16px; margin:22px 0 8px; }
p.hint, .muted { color:var(--muted); margin:0 0 16px; }
label { display:block; font-weight:600; margin:14px 0 4px; }
input[type=text], input[type=password] { width:100%; padding:9px 10px; font:inherit;
       border:1px solid #d1d5db; border-radius:8px; }
button { margin-top:18px; width:100%; padding:10px; font:inherit; font-weight:600; color:#fff;
       background:var(--blue); border:0; border-radius:8px; cursor:pointer; }
button.secondary { background:#fff; color:var(--blue); border:1px solid var(--blue); }
button:disabled { opacity:.6; }
.errors { color:#b91c1c; margin:6px 0 0; }
.alt { margin-top:18px; text-align:center; }
a { color:var(--blue); cursor:pointer; }
ul.servers { list-style:none; padding:0; margin:0; }
ul.servers li { border:1px solid var(--line); border-radius:8px; padding:10px 12px; margin:8px 0;
       cursor:pointer; }
ul.servers li:hover { border-color:var(--blue); }
.join { border:1px solid var(--line); border-radius:8px; padding:12px; margin:10px 0;
       text-align:center; }
.join code { display:block; font-size:17px; margin-bottom:8px; user-select:all; }
.switch { display:flex; justify-content:space-between; align-items:center; margin-top:8px; }
.switch input { width:20px; height:20px; }
.choice { display:block; font-weight:normal; margin:6px 0; }
pre { white-space:pre-wrap; overflow-wrap:anywhere; background:#f9fafb;
      border:1px solid var(--line); padding:10px; border-radius:8px; }
"""

ICON = (
    '<svg viewBox="0 0 64 64" aria-hidden="true"><rect width="64" height="64" rx="14" '
    'fill="#2563eb"/><path d="M14 18h36a4 4 0 0 1 4 4v18a4 4 0 0 1-4 4H30l-10 8v-8h-6a4 4 0 0 '
    '1-4-4V22a4 4 0 0 1 4-4z" fill="#fff"/></svg>'
)

# Calls window.pywebview.api once the bridge is there (it arrives after the page loads).
BRIDGE = """
function api() { return window.pywebview.api; }
function whenReady(fn) {
  if (window.pywebview && window.pywebview.api && window.pywebview.api.ping) { fn(); return; }
  window.addEventListener('pywebviewready', fn, { once: true });
}
function showErrors(box, errors) {
  box.textContent = '';
  for (const key of Object.keys(errors || {})) {
    for (const text of errors[key]) {
      const line = document.createElement('div'); line.textContent = text; box.appendChild(line);
    }
  }
}
"""


def _page(title: str, body: str, script: str = "") -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main><script>{BRIDGE}{script}</script></body></html>"
    )


def welcome(*, has_accounts: bool) -> str:
    """First screen: create this computer's account (or claim an existing one), or join."""
    if has_accounts:
        heading = "Sign in to this Deskchat"
        hint = (
            "This Deskchat already has accounts. Sign in once with yours; the window will "
            "open signed in from now on."
        )
        fields = (
            "<label for='username'>Username</label>"
            "<input id='username' type='text' autocomplete='username' autofocus>"
            "<label for='password1'>Password</label>"
            "<input id='password1' type='password' autocomplete='current-password'>"
        )
        call = "api().adopt_account(v('username'), v('password1'))"
        button = "Sign in"
    else:
        heading = "Create your account"
        hint = (
            "This computer hosts the chat. Your account is its administrator; the window "
            "signs you in by itself from now on."
        )
        fields = (
            "<label for='username'>Your name (username)</label>"
            "<input id='username' type='text' autocomplete='username' autofocus>"
            "<label for='password1'>Password</label>"
            "<input id='password1' type='password' autocomplete='new-password'>"
            "<label for='password2'>Password again</label>"
            "<input id='password2' type='password' autocomplete='new-password'>"
        )
        call = "api().create_account(v('username'), v('password1'), v('password2'))"
        button = "Create account"
    body = f"""
<h1>{ICON}<span id="heading">{heading}</span></h1>
<p class="hint">{hint}</p>
<form id="account" autocomplete="off">
  {fields}
  <div id="errors" class="errors" role="alert"></div>
  <button id="submit" type="submit">{button}</button>
</form>
<p class="alt"><a id="join-link">Join a chat on this network instead</a></p>
"""
    script = f"""
function v(id) {{ const el = document.getElementById(id); return el ? el.value : ''; }}
document.getElementById('account').addEventListener('submit', (event) => {{
  event.preventDefault();
  const button = document.getElementById('submit'); button.disabled = true;
  whenReady(() => {call}.then((errors) => {{
    showErrors(document.getElementById('errors'), errors); button.disabled = false;
  }}));
}});
document.getElementById('join-link').addEventListener('click',
  () => whenReady(() => api().show_join()));
"""
    return _page("Deskchat", body, script)


def join(*, can_host: bool) -> str:
    """The list of Deskchat servers found on the network; choosing one opens it."""
    back = "<p class='alt'><a id='back'>Back</a></p>" if can_host else ""
    body = f"""
<h1>{ICON}<span>Join a chat on this network</span></h1>
<p class="hint" id="status">Looking for Deskchat servers on this network…</p>
<ul class="servers" id="servers"></ul>
{back}
"""
    script = """
function render(servers) {
  const list = document.getElementById('servers'); list.textContent = '';
  document.getElementById('status').textContent = servers.length
    ? 'Choose a chat to join:' : 'Looking for Deskchat servers on this network…';
  for (const server of servers) {
    const item = document.createElement('li');
    const name = document.createElement('strong'); name.textContent = server.name;
    const where = document.createElement('div');
    where.className = 'muted'; where.textContent = server.url;
    item.append(name, where);
    item.addEventListener('click', () => api().open_server(server.url));
    list.appendChild(item);
  }
}
whenReady(() => {
  const poll = () => api().servers().then(render);
  poll(); setInterval(poll, 1000);
});
const back = document.getElementById('back');
if (back) back.addEventListener('click', () => whenReady(() => api().show_welcome()));
"""
    return _page("Deskchat", body, script)


def sharing() -> str:
    """The sharing panel: LAN on/off, join addresses with QR codes, who may sign up."""
    body = f"""
<h1>{ICON}<span>Share on the network</span></h1>
<p class="hint">When sharing is on, people on your office network can open the chat in a
browser at the address below, or find it with Deskchat's “Join a chat on this network”.</p>
<div class="switch"><label for="lan">Share this chat on the network</label>
<input id="lan" type="checkbox"></div>
<div id="error" class="errors" role="alert"></div>
<div id="joins"></div>
<h2>Who may create an account</h2>
<label class="choice"><input type="radio" name="signup" value="open"> Anyone on the network</label>
<label class="choice"><input type="radio" name="signup" value="invite"> Only people with the
invite code <code id="code"></code> <a id="new-code">(new code)</a></label>
<label class="choice"><input type="radio" name="signup" value="off"> Nobody (accounts are made
by the administrator)</label>
"""
    script = """
function render(state) {
  document.getElementById('lan').checked = state.sharing;
  document.getElementById('error').textContent = state.error || (state.no_network
    ? 'This computer has no network address others can reach.' : '');
  const joins = document.getElementById('joins'); joins.textContent = '';
  for (const entry of state.join) {
    const box = document.createElement('div'); box.className = 'join';
    const code = document.createElement('code');
    code.className = 'join-url'; code.textContent = entry.url;
    const qr = document.createElement('div');
    qr.innerHTML = entry.qr;  // SVG drawn by segno in this process from our own address
    box.append(code, qr); joins.appendChild(box);
  }
  for (const radio of document.querySelectorAll('input[name=signup]')) {
    radio.checked = radio.value === state.signup;
  }
  document.getElementById('code').textContent = state.invite_code;
  document.body.dataset.sharing = state.sharing ? 'on' : 'off';
}
whenReady(() => {
  api().status().then(render);
  document.getElementById('lan').addEventListener('change', (event) => {
    event.target.disabled = true;
    api().set_lan(event.target.checked).then((state) => {
      event.target.disabled = false; render(state);
    });
  });
  for (const radio of document.querySelectorAll('input[name=signup]')) {
    radio.addEventListener('change', () => api().set_signup(radio.value, false).then(render));
  }
  document.getElementById('new-code').addEventListener('click',
    () => api().set_signup('invite', true).then(render));
});
"""
    return _page("Deskchat — Sharing", body, script)


def error(message: str, *, log_file: str = "") -> str:
    """Start-up failed: say what happened in plain words, where the details are, and close."""
    log_line = (
        f"<p class='muted'>Details are in the log file:</p><pre>{html.escape(log_file)}</pre>"
        if log_file
        else ""
    )
    body = f"""
<h1>{ICON}<span>Deskchat could not start</span></h1>
<pre id="message">{html.escape(message)}</pre>
{log_line}
<button id="close" type="button">Close</button>
"""
    script = (
        "document.getElementById('close').addEventListener('click',"
        " () => whenReady(() => api().close()));"
    )
    return _page("Deskchat — could not start", body, script)
