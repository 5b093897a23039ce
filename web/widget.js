// The Switchboard website chat widget. One tag on any page:
//
//   <script src="https://desk.example/widget.js" data-channel="CHANNEL_KEY" async></script>
//
// opens a chat bubble. The visitor's messages go to the team's inbox; the
// team's replies appear here as they are sent. The visitor is whoever holds
// the random id kept in this site's localStorage, so the conversation
// survives reloads. Everything lives in a shadow root, so the page's styles
// and ours do not touch.
(() => {
  'use strict';

  const script = document.currentScript;
  if (!script || !script.dataset.channel) {
    console.error('Switchboard widget: the script tag needs data-channel="<channel key>"');
    return;
  }
  const server = new URL(script.src).origin;
  const channel = script.dataset.channel;
  const base = `${server}/widget/${encodeURIComponent(channel)}`;
  const MAX_TEXT = 4000;

  /** A URL-safe random id of `bytes` random bytes. */
  function randomId(bytes) {
    const raw = crypto.getRandomValues(new Uint8Array(bytes));
    return btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function visitorId() {
    const key = `switchboard.widget.${channel}.visitor`;
    let id = null;
    try { id = localStorage.getItem(key); } catch { /* storage blocked: this visit only */ }
    if (!id || !/^[A-Za-z0-9_-]{22,64}$/.test(id)) {
      id = randomId(16);
      try { localStorage.setItem(key, id); } catch { /* see above */ }
    }
    return id;
  }
  const visitor = visitorId();

  const css = `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    .bubble { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%;
      border: none; background: #1d4ed8; color: #fff; cursor: pointer; z-index: 2147483000;
      display: flex; align-items: center; justify-content: center;
      box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .bubble:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
    .panel { position: fixed; right: 20px; bottom: 88px; width: 340px; max-width: calc(100vw - 24px);
      height: 460px; max-height: calc(100vh - 110px); background: #fff; color: #111827; border-radius: 12px;
      box-shadow: 0 10px 30px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden;
      z-index: 2147483000; }
    .panel[hidden] { display: none; }
    @media (max-width: 480px) { .panel { right: 12px; left: 12px; width: auto; bottom: 84px; } }
    header { background: #1d4ed8; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }
    header h2 { font-size: 16px; margin: 0; flex: 1; }
    header button { background: transparent; border: none; color: #fff; font-size: 20px; cursor: pointer; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; background: #f3f4f6; }
    .greeting { color: #374151; font-size: 14px; }
    .msg { max-width: 80%; padding: 8px 10px; border-radius: 10px; font-size: 14px; line-height: 1.35;
      white-space: pre-wrap; overflow-wrap: anywhere; }
    .msg.in { align-self: flex-end; background: #1d4ed8; color: #fff; }
    .msg.out { align-self: flex-start; background: #fff; border: 1px solid #e5e7eb; }
    .msg.sending { opacity: .6; }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; }
    label.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    textarea { flex: 1; resize: none; height: 40px; border: 1px solid #9ca3af; border-radius: 8px; padding: 8px;
      font-size: 14px; color: #111827; }
    form button { border: none; border-radius: 8px; background: #1d4ed8; color: #fff; padding: 0 14px;
      font-size: 14px; cursor: pointer; }
    form button:disabled { opacity: .6; cursor: default; }
    .error { color: #b91c1c; font-size: 13px; padding: 0 12px 8px; }
    .error:empty { display: none; }
  `;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value == null) continue;
      node.setAttribute(name, value === true ? '' : value);
    }
    node.append(...children);
    return node;
  }

  const host = el('div', { id: 'switchboard-widget' });
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  root.adoptedStyleSheets = [sheet];

  // A speech-bubble icon drawn as SVG: no emoji font needed.
  const icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('width', '26');
  icon.setAttribute('height', '26');
  icon.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
  path.setAttribute('fill', 'currentColor');
  icon.append(path);
  const bubble = el('button', { class: 'bubble', type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'sb-panel' }, icon);
  const title = el('h2', { id: 'sb-title' }, 'Chat');
  const close = el('button', { type: 'button', 'aria-label': 'Close chat' }, '×');
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'sb-title' });
  const greeting = el('p', { class: 'greeting' });
  const error = el('div', { class: 'error', role: 'alert' });
  const text = el('textarea', { id: 'sb-text', maxlength: String(MAX_TEXT), rows: '1', placeholder: 'Type a message…' });
  const send = el('button', { type: 'submit' }, 'Send');
  const form = el('form', {}, el('label', { class: 'sr', for: 'sb-text' }, 'Your message'), text, send);
  const panel = el('section', { class: 'panel', id: 'sb-panel', hidden: true, role: 'dialog', 'aria-labelledby': 'sb-title' },
    el('header', {}, title, close), log, error, form);
  root.append(bubble, panel);

  let events = null;
  let shown = [];

  function render(messages) {
    shown = messages;
    log.replaceChildren(greeting, ...messages.map((m) =>
      el('div', { class: `msg ${m.direction}${m.sending ? ' sending' : ''}`, 'data-direction': m.direction }, m.text || '')));
    log.scrollTop = log.scrollHeight;
  }

  async function readError(res) {
    try {
      const body = await res.json();
      if (body && body.error) return body.error;
    } catch { /* not JSON */ }
    return `The chat answered ${res.status}.`;
  }

  async function load() {
    try {
      const res = await fetch(`${base}/messages?visitor=${encodeURIComponent(visitor)}`);
      if (!res.ok) { error.textContent = await readError(res); return; }
      const body = await res.json();
      const pending = shown.filter((m) => m.sending && !body.messages.some((s) => s.direction === 'in' && s.text === m.text));
      render([...body.messages, ...pending]);
    } catch {
      error.textContent = 'Cannot reach the chat right now.';
    }
  }

  async function start() {
    try {
      const res = await fetch(`${base}/config`);
      if (res.ok) {
        const config = await res.json();
        title.textContent = config.title || 'Chat';
        greeting.textContent = config.greeting || '';
      }
    } catch { /* the greeting is optional */ }
    await load();
    if (!events) {
      events = new EventSource(`${base}/events?visitor=${encodeURIComponent(visitor)}`);
      events.addEventListener('changes', load);
    }
  }

  function open() {
    panel.hidden = false;
    bubble.setAttribute('aria-expanded', 'true');
    text.focus();
    start();
  }

  function hide() {
    panel.hidden = true;
    // Replies are fetched again when the panel opens; no stream while closed.
    if (events) { events.close(); events = null; }
    bubble.setAttribute('aria-expanded', 'false');
    bubble.focus();
  }

  bubble.addEventListener('click', () => (panel.hidden ? open() : hide()));
  close.addEventListener('click', hide);
  panel.addEventListener('keydown', (event) => { if (event.key === 'Escape') hide(); });
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = text.value.trim();
    if (!message) return;
    if (message.length > MAX_TEXT) { error.textContent = `Messages are at most ${MAX_TEXT} characters.`; return; }
    error.textContent = '';
    send.disabled = true;
    // A fresh id per message: a delivery the network repeats is stored once.
    // The page is sent without its query and fragment, which may hold tokens.
    const page = (location.origin + location.pathname).slice(0, 500);
    const body = JSON.stringify({ visitor_id: visitor, message_id: randomId(12), text: message, page, sent_at_ms: Date.now() });
    render([...shown, { direction: 'in', text: message, sending: true }]);
    try {
      // text/plain keeps this a simple cross-origin request (no preflight).
      const res = await fetch(`${base}/messages`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
      if (!res.ok) {
        error.textContent = await readError(res);
        render(shown.filter((m) => !(m.sending && m.text === message)));
        return;
      }
      text.value = '';
    } catch {
      error.textContent = 'Cannot reach the chat right now; your message was not sent.';
      render(shown.filter((m) => !(m.sending && m.text === message)));
    } finally {
      send.disabled = false;
      text.focus();
    }
  });

  const mount = () => document.body.append(host);
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
