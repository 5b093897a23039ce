// Switchboard's web UI: one ES module, no framework, no build step.
// The server answers index.html for every page path; this script draws the
// page for location.pathname and follows links with history.pushState.
// The session lives in an HttpOnly cookie: the script never sees the token.
// Chat and Contacts live in chat.js and contacts.js, Settings -> Members and
// the invitation page in members.js; they import the shared helpers exported
// at the end of this file.

import { renderChat, leaveChat } from './chat.js';
import { renderContacts, renderContact } from './contacts.js';
import { renderMembers, renderAccept } from './members.js';

const API = '/api/v1';
const HOME = '/settings/channels';
const MEMBERS = '/settings/members';
const START = '/chat';
const WORKSPACE_KEY = 'switchboard.workspace';

const app = {
  me: null,          // GET /api/v1/me
  workspaceId: null, // the current workspace's id
  seq: 0,            // bumps on every render; stale async work checks it
  focusHeading: false,
  rendered: null,    // pathname + search of the page drawn last
  roleLabel: null,   // the header's role pill, updated on workspace change
  membersLink: null, // the header's Members item, shown to admins and owners
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message, redirected = false) {
    super(message);
    this.status = status;
    this.redirected = redirected; // true: the user was sent to /login
  }
}

/** Calls the API; answers the parsed JSON (null for 204). `body` goes as
 *  JSON, or as multipart/form-data when it is a FormData (the browser writes
 *  that Content-Type with its boundary). Every failure is an ApiError whose
 *  message is the server's `{"error"}` text. A 401 sends the user to /login
 *  (unless `on401: 'throw'`). */
async function api(method, path, body, { on401 = 'login' } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, 'Could not reach the server. Check the connection and try again.');
  }
  const data = await readJson(res);
  if (res.status === 401 && on401 === 'login') {
    goToLogin();
    throw new ApiError(401, 'Your session has ended. Please sign in again.', true);
  }
  if (!res.ok) throw new ApiError(res.status, errorText(res, data));
  return data;
}

async function readJson(res) {
  const text = await res.text().catch(() => '');
  if (!text) return null;
  try { return JSON.parse(text); } catch { return null; }
}

function errorText(res, data) {
  if (data && typeof data.error === 'string' && data.error) return data.error;
  return `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
}

const enc = encodeURIComponent;
const wsPath = (rest) => `/workspaces/${enc(app.workspaceId)}${rest}`;

// ---------------------------------------------------------------- DOM helpers

/** h('a', {href: '/x', class: 'y', onclick: fn}, 'text', child...) */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces an element's children, skipping null/false ones. */
function fill(el, ...nodes) {
  el.replaceChildren(...nodes.flat(Infinity).filter((node) => node != null && node !== false));
  return el;
}

const alertBox = () => h('p', { class: 'alert', role: 'alert' });
const statusBox = () => h('p', { class: 'notice', role: 'status' });
const loading = (text) => h('p', { class: 'loading', role: 'status' }, text);

function showError(box, error) {
  if (error && error.redirected) return;
  box.textContent = (error && error.message) || String(error);
}

/** Runs `work` with the button marked busy; a second press meanwhile is ignored.
 *  aria-disabled (not disabled) keeps keyboard focus on the button. */
async function busy(button, label, work) {
  if (button.getAttribute('aria-disabled') === 'true') return;
  const text = button.textContent;
  button.setAttribute('aria-disabled', 'true');
  button.textContent = label;
  try {
    await work();
  } finally {
    button.removeAttribute('aria-disabled');
    button.textContent = text;
  }
}

/** Wraps an async event handler so no rejection goes unhandled. */
const safe = (fn) => (event) => {
  Promise.resolve()
    .then(() => fn(event))
    .catch((error) => {
      if (!error || !error.redirected) console.error(error);
    });
};

function setTitle(text) {
  document.title = text ? `${text} · Switchboard` : 'Switchboard';
}

/** Replaces the page's content; after a navigation, focus goes to its h1. */
function setMain(...nodes) {
  const main = document.getElementById('main');
  fill(main, nodes);
  const heading = app.focusHeading && main.querySelector('h1');
  if (heading) {
    app.focusHeading = false;
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

function formatDate(value) {
  if (!value) return null;
  const date = new Date(typeof value === 'number' ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** A short "how long ago": just now, 5 min, 3 h, yesterday, Mon, 12 Mar. */
function relativeTime(value, now = new Date()) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  const secs = (now - date) / 1000;
  if (secs < 60) return 'just now';
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (sameDay(date, now)) return `${Math.floor(secs / 3600)} h ago`;
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(date, yesterday)) return 'yesterday';
  if (secs < 6 * 86400) return date.toLocaleDateString(undefined, { weekday: 'short' });
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString(undefined, sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
}

/** A <time> with a relative text and the full date as a tooltip. */
function timeAgo(value, attrs = {}) {
  return h('time', { datetime: value, title: formatDate(value), ...attrs }, relativeTime(value));
}

/** Text only screen readers read. */
const srOnly = (...text) => h('span', { class: 'visually-hidden' }, ...text);

/** A description list of [term, value] pairs, skipping empty values. */
function facts(pairs) {
  const rows = pairs.filter(([, value]) => value != null && value !== '');
  if (!rows.length) return null;
  return h('dl', { class: 'facts' },
    rows.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))));
}

function storedWorkspace() {
  try { return localStorage.getItem(WORKSPACE_KEY); } catch { return null; }
}
function storeWorkspace(id) {
  try { localStorage.setItem(WORKSPACE_KEY, id); } catch { /* private mode: not remembered */ }
}

const workspace = () => (app.me?.workspaces || []).find((w) => w.id === app.workspaceId) || null;
const canAdmin = () => ['owner', 'admin'].includes(workspace()?.role);

// ---------------------------------------------------------------- routing

function navigate(path, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', path);
  app.focusHeading = true;
  render().catch((error) => console.error(error));
}

function goToLogin() {
  app.me = null;
  if (location.pathname === '/login') return;
  navigate(`/login?next=${enc(location.pathname + location.search)}`, { replace: true });
}

/** Where to go after signing in: only a path on this site. */
function safeNext(raw) {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return START;
  try {
    const url = new URL(raw, location.origin);
    if (url.origin !== location.origin || url.pathname === '/login') return START;
    return url.pathname + url.search + url.hash;
  } catch {
    return START;
  }
}

// Links inside the app change the page without reloading it.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;
  const href = link.getAttribute('href');
  if (href.startsWith('#')) {
    // In-page links (the skip link): move focus without touching the history.
    const target = document.getElementById(decodeURIComponent(href.slice(1)));
    if (target) {
      event.preventDefault();
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus();
    }
    return;
  }
  const url = new URL(link.href);
  if (url.origin !== location.origin) return;
  if (/^\/(api|oauth|webhooks|assets)\//.test(url.pathname)) return;
  event.preventDefault();
  if (url.pathname + url.search === location.pathname + location.search) return;
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => {
  if (location.pathname + location.search === app.rendered) return; // only the #fragment changed
  app.focusHeading = true;
  render().catch((error) => console.error(error));
});

window.addEventListener('unhandledrejection', (event) => {
  if (event.reason && event.reason.redirected) event.preventDefault();
});

async function render() {
  const seq = ++app.seq;
  app.rendered = location.pathname + location.search;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  // The Chat page sets "chat" itself once it draws (a full-height layout).
  const section = path.split('/')[1] || 'home';
  document.body.dataset.page = section === 'chat' ? 'chat-pending' : section;
  // Chat keeps a live connection and its drawn page between its own paths.
  if (!/^\/chat(\/|$)/.test(path)) leaveChat();
  if (path === '/login') {
    hideShell();
    renderLogin();
    return;
  }
  // Accepting an invitation works signed out: no /me, no shell. Whoever is
  // signed in here is looked up again on the next page.
  const invite = path.match(/^\/invite\/([^/]+)$/);
  if (invite) {
    app.me = null;
    hideShell();
    renderAccept(decodeURIComponent(invite[1]));
    return;
  }
  if (!app.me) {
    setMain(loading('Loading…'));
    try {
      app.me = await api('GET', '/me');
    } catch (error) {
      if (seq === app.seq && !error.redirected) renderFailure(error);
      return;
    }
    if (seq !== app.seq) return;
    pickWorkspace();
    drawShell();
  }
  markNav(path);
  if (path === '/') {
    navigate(START, { replace: true });
    return;
  }
  if (path === '/settings') {
    navigate(HOME, { replace: true });
    return;
  }
  if (!workspace()) {
    setTitle('No workspace');
    setMain(h('h1', {}, 'No workspace yet'),
      h('p', {}, 'Your account is not a member of any workspace. Ask a workspace owner to add you.'));
    return;
  }
  if (path === '/chat') return renderChat(seq, null);
  let match = path.match(/^\/chat\/([^/]+)$/);
  if (match) return renderChat(seq, decodeURIComponent(match[1]));
  if (path === '/contacts') return renderContacts(seq);
  match = path.match(/^\/contacts\/([^/]+)$/);
  if (match) return renderContact(seq, decodeURIComponent(match[1]));
  if (path === HOME) return renderProviders(seq);
  if (path === MEMBERS) return renderMembers(seq);
  match = path.match(/^\/settings\/channels\/([^/]+)$/);
  if (match) return renderProvider(seq, decodeURIComponent(match[1]));
  renderNotFound();
}

function renderFailure(error) {
  setTitle('Error');
  const retry = h('button', { type: 'button', class: 'button', onclick: safe(render) }, 'Try again');
  setMain(h('h1', {}, 'Switchboard could not load'), h('p', { class: 'alert', role: 'alert' }, error.message), retry);
}

function renderNotFound() {
  setTitle('Not found');
  setMain(h('h1', {}, 'Page not found'),
    h('p', {}, 'There is no page at this address (yet).'),
    h('p', {}, h('a', { href: START }, 'Go to Chat')));
}

// ---------------------------------------------------------------- shell

function pickWorkspace() {
  const list = app.me.workspaces || [];
  const stored = storedWorkspace();
  app.workspaceId = (list.find((w) => w.id === stored) || list[0] || {}).id || null;
}

const ROLE_NAMES = { owner: 'Owner', admin: 'Admin', agent: 'Agent' };

function drawShell() {
  const top = document.getElementById('topbar');
  const list = app.me.workspaces || [];
  let control = null;
  if (list.length > 1) {
    const select = h('select', { id: 'workspace-select' },
      list.map((w) => h('option', { value: w.id, selected: w.id === app.workspaceId }, w.name)));
    select.addEventListener('change', () => {
      app.workspaceId = select.value;
      storeWorkspace(select.value);
      app.roleLabel.textContent = ROLE_NAMES[workspace()?.role] || workspace()?.role || '';
      app.membersLink.hidden = !canAdmin();
      render().catch((error) => console.error(error));
    });
    control = h('div', { class: 'workspace' }, h('label', { for: 'workspace-select' }, 'Workspace'), select);
  } else if (list.length === 1) {
    control = h('div', { class: 'workspace' }, h('span', { class: 'muted' }, 'Workspace'), h('strong', {}, list[0].name));
  }
  // Members is for admins and owners; the role can differ per workspace.
  app.membersLink = h('li', { hidden: !canAdmin() }, h('a', { href: MEMBERS, 'data-section': MEMBERS }, 'Members'));
  app.roleLabel = h('span', { class: 'pill pill-role', title: 'Your role in this workspace' },
    ROLE_NAMES[workspace()?.role] || workspace()?.role || '');
  const alert = h('p', { class: 'alert shell-alert', role: 'alert' });
  const signOut = h('button', { type: 'button', class: 'button button-quiet' }, 'Sign out');
  signOut.addEventListener('click', safe(() => busy(signOut, 'Signing out…', async () => {
    alert.textContent = '';
    try {
      await api('POST', '/auth/logout', undefined, { on401: 'throw' });
    } catch (error) {
      if (error.status !== 401) return showError(alert, error);
    }
    app.me = null;
    navigate('/login');
  })));
  fill(top, h('div', { class: 'topbar-inner' },
    h('a', { class: 'brand', href: START }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'), 'Switchboard'),
    h('nav', { class: 'nav', 'aria-label': 'Main' },
      h('ul', {},
        h('li', {}, h('a', { href: START, 'data-section': START }, 'Chat')),
        h('li', {}, h('a', { href: '/contacts', 'data-section': '/contacts' }, 'Contacts')),
        h('li', {}, h('a', { href: HOME, 'data-section': HOME }, 'Channels')),
        app.membersLink)),
    h('div', { class: 'account' },
      control,
      list.length ? app.roleLabel : null,
      h('span', { class: 'email', title: 'Signed in as' }, app.me.email),
      signOut)),
  alert);
  top.hidden = false;
}

function hideShell() {
  const top = document.getElementById('topbar');
  top.hidden = true;
  top.replaceChildren();
}

function markNav(path) {
  for (const link of document.querySelectorAll('#topbar [data-section]')) {
    const section = link.dataset.section;
    if (path === section) link.setAttribute('aria-current', 'page');
    else if (path.startsWith(`${section}/`)) link.setAttribute('aria-current', 'true');
    else link.removeAttribute('aria-current');
  }
}

// ---------------------------------------------------------------- login

function renderLogin() {
  setTitle('Sign in');
  const params = new URLSearchParams(location.search);
  const next = safeNext(params.get('next'));
  const email = h('input', { id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in');
  const alert = alertBox();
  const form = h('form', { class: 'stack' },
    h('div', { class: 'field' }, h('label', { for: 'login-email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    alert,
    submit);
  form.addEventListener('submit', safe(async (event) => {
    event.preventDefault();
    await busy(submit, 'Signing in…', async () => {
      alert.textContent = '';
      try {
        await api('POST', '/auth/login', { email: email.value.trim(), password: password.value }, { on401: 'throw' });
      } catch (error) {
        alert.textContent = error.status === 401 ? 'Wrong email or password. Please try again.' : error.message;
        password.select();
        password.focus();
        return;
      }
      app.me = null;
      navigate(next, { replace: true });
    });
  }));
  const ended = params.has('next') ? h('p', { class: 'muted' }, 'Sign in to continue.') : null;
  setMain(h('div', { class: 'auth' },
    h('p', { class: 'brand brand-large' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'), 'Switchboard'),
    h('section', { class: 'card auth-card', 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, 'Sign in'), ended, form)));
  email.focus();
}

// ---------------------------------------------------------------- providers list

const providerName = (plugin) => plugin.display_name || plugin.name || plugin.id;
const providerHref = (id) => `${HOME}/${enc(id)}`;
const BADGES = { telegram: 'TG', whatsapp: 'WA', instagram: 'IG', vk: 'VK' };
const PROVIDER_NAMES = { telegram: 'Telegram', whatsapp: 'WhatsApp', instagram: 'Instagram', vk: 'VK', website: 'Website chat' };

/** A provider's name from its id alone (conversations and contacts carry only the id). */
const providerLabel = (id) => PROVIDER_NAMES[id] || (id ? id.charAt(0).toUpperCase() + id.slice(1) : 'Unknown');

function badge(plugin, large = false) {
  const known = BADGES[plugin.id] ? plugin.id : 'other';
  const letters = BADGES[plugin.id] || providerName(plugin).replace(/[^\p{L}\p{N}]/gu, '').slice(0, 2).toUpperCase() || '?';
  return h('span', { class: `badge badge-${known}${large ? ' badge-large' : ''}`, 'aria-hidden': 'true' }, letters);
}

async function renderProviders(seq) {
  setTitle('Channels');
  const alert = alertBox();
  const list = h('div', { 'aria-busy': 'true' }, loading('Loading providers…'));
  setMain(
    h('div', { class: 'page-head' }, h('h1', {}, 'Channels'),
      h('p', { class: 'lead' }, 'Connect the messaging accounts whose conversations arrive in this inbox. Each provider is a plugin installed on this server.')),
    canAdmin() ? null : h('p', { class: 'note' }, 'Only admins and owners can turn providers on or off and connect channels.'),
    alert, list);
  const loaded = await loadSection(seq, list, alert, () => Promise.all([
    api('GET', '/plugins'), api('GET', wsPath('/plugins')), api('GET', wsPath('/channels'))]));
  if (!loaded) return;
  const [plugins, settings, channels] = loaded;
  if (!plugins.length) {
    list.replaceChildren(h('p', {}, 'No provider plugins are installed on this server.'));
    return;
  }
  list.replaceChildren(h('ul', { class: 'grid', 'aria-label': 'Providers' }, plugins.map((plugin) => {
    const setting = settings.find((s) => s.plugin_id === plugin.id) || { enabled: true };
    const count = channels.filter((c) => c.provider === plugin.id).length;
    return h('li', { class: 'card provider-card' },
      h('div', { class: 'provider-head' }, badge(plugin),
        h('div', {},
          h('h2', {}, h('a', { href: providerHref(plugin.id) }, providerName(plugin))),
          h('p', { class: 'muted small' }, `Version ${setting.serving_version || plugin.version}`))),
      h('p', {}, count ? `${count} channel${count === 1 ? '' : 's'} connected` : 'No channels connected'),
      availability(plugin, setting));
  })));
}

/** The per-workspace on/off switch (admins) or state (agents), with the note
 *  shown while the provider is off. `onChange` runs after a successful change. */
function availability(plugin, setting, onChange) {
  const id = `enabled-${plugin.id}`;
  const name = providerName(plugin);
  const wrap = h('div', { class: 'availability' });
  const note = h('p', { class: 'note note-off', id: `${id}-note` });
  const alert = alertBox();
  const state = h('span', { class: 'pill' });
  const update = () => {
    const on = setting.enabled !== false;
    note.hidden = on;
    note.textContent = on ? '' : `${name} is off in this workspace: its webhooks are refused and no channel can be connected until it is turned on.`;
    state.textContent = on ? 'On' : 'Off';
    state.className = `pill ${on ? 'pill-on' : 'pill-off'}`;
  };
  if (canAdmin()) {
    const input = h('input', { type: 'checkbox', role: 'switch', class: 'switch', id, checked: setting.enabled !== false, 'aria-describedby': `${id}-note` });
    let pending = false;
    input.addEventListener('click', (event) => { if (pending) event.preventDefault(); });
    input.addEventListener('change', safe(async () => {
      pending = true;
      input.setAttribute('aria-busy', 'true');
      alert.textContent = '';
      try {
        const answer = await api('PUT', wsPath(`/plugins/${enc(plugin.id)}`), { enabled: input.checked });
        Object.assign(setting, answer);
      } catch (error) {
        showError(alert, error);
      } finally {
        pending = false;
        input.removeAttribute('aria-busy');
        input.checked = setting.enabled !== false;
        update();
      }
      if (onChange) onChange();
    }));
    wrap.append(h('div', { class: 'switch-row' }, input, h('label', { for: id }, 'Enabled in this workspace')));
  } else {
    wrap.append(h('p', { class: 'switch-row' }, state, h('span', {}, ' in this workspace')));
  }
  wrap.append(note, alert);
  update();
  return wrap;
}

// ---------------------------------------------------------------- one provider

const ROUTING_HINTS = {
  'per-account': 'Each channel has its own webhook URL; Switchboard registers it with the provider when it can.',
  global: 'All channels of this provider share one webhook URL on this server: set it once in the provider app.',
  'per-workspace': 'All channels of this provider in this workspace share one webhook URL.',
};

async function renderProvider(seq, id) {
  setTitle(id);
  const heading = h('h1', {}, id);
  const alert = alertBox();
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading…'));
  setMain(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('ol', {}, h('li', {}, h('a', { href: HOME }, 'Channels')), h('li', { 'aria-current': 'page' }, id))),
    h('div', { class: 'page-head' }, heading), alert, body);
  const loaded = await loadSection(seq, body, alert, () => Promise.all([
    api('GET', '/plugins'), api('GET', wsPath('/plugins')), api('GET', wsPath('/channels'))]));
  if (!loaded) return;
  const [plugins, settings] = loaded;
  let channels = loaded[2];
  const plugin = plugins.find((p) => p.id === id);
  if (!plugin) {
    heading.textContent = 'Provider not found';
    setTitle('Provider not found');
    body.replaceChildren(h('p', {}, `No provider called “${id}” is installed on this server. `,
      h('a', { href: HOME }, 'See the installed providers')));
    return;
  }
  const name = providerName(plugin);
  setTitle(`${name} · Channels`);
  document.querySelector('.breadcrumb [aria-current]').textContent = name;
  heading.replaceChildren(badge(plugin, true), name);
  const setting = settings.find((s) => s.plugin_id === id) || { enabled: true };
  const version = setting.serving_version || plugin.version;
  const mine = () => channels.filter((c) => c.provider === id);

  const connect = h('div');
  const list = h('div');
  const drawConnect = () => fill(connect, connectSection(plugin, setting, reload));
  async function reload(focusTarget) {
    list.setAttribute('aria-busy', 'true');
    try {
      channels = await api('GET', wsPath('/channels'));
    } catch (error) {
      if (!error.redirected) listAlert.textContent = error.message;
      return;
    } finally {
      list.removeAttribute('aria-busy');
    }
    drawList(focusTarget);
  }
  const listAlert = alertBox();
  const listStatus = statusBox();
  const listHeading = h('h2', { id: 'channels-title', tabindex: '-1' }, 'Connected channels');
  function drawList(focusId) {
    const items = mine();
    fill(list, items.length
      ? h('ul', { class: 'channels', 'aria-labelledby': 'channels-title' }, items.map((c) => channelCard(plugin, c, {
        onRemoved: () => {
          channels = channels.filter((other) => other.id !== c.id);
          listStatus.textContent = `Disconnected “${c.name}”.`;
          drawList();
          listHeading.focus();
        },
      })))
      : h('p', { class: 'muted' }, `No ${name} channels are connected in this workspace yet.`));
    if (focusId) list.querySelector(`[data-channel="${CSS.escape(focusId)}"] h3`)?.focus();
  }

  fill(body,
    outcomeBanner(name, channels),
    h('p', { class: 'muted small' }, `Version ${version} · plugin contract ${plugin.contract_version || '?'}`),
    h('section', { class: 'card', 'aria-labelledby': 'availability-title' },
      h('h2', { id: 'availability-title' }, 'Availability'),
      availability(plugin, setting, drawConnect)),
    h('section', { class: 'section', 'aria-labelledby': 'channels-title' },
      listHeading, h('p', { class: 'muted small' }, ROUTING_HINTS[plugin.routing] || ''), listAlert, listStatus, list),
    connect,
    pluginDetails(plugin));
  drawConnect();
  drawList();
}

/** The success or error banner after an OAuth round trip. */
function outcomeBanner(name, channels) {
  const params = new URLSearchParams(location.search);
  const connected = params.get('connected');
  const failed = params.get('error');
  if (!connected && !failed) return null;
  const channel = connected && channels.find((c) => c.id === connected);
  const dismiss = h('button', { type: 'button', class: 'button button-quiet small' }, 'Dismiss');
  const banner = failed
    ? h('div', { class: 'banner banner-error', role: 'alert' },
      h('p', {}, h('strong', {}, `Connecting ${name} failed: `), failed), dismiss)
    : h('div', { class: 'banner banner-success', role: 'status' },
      h('p', {}, h('strong', {}, 'Connected. '),
        channel ? `“${channel.name}”${channel.display_name ? ` (${channel.display_name})` : ''} is listed below.` : 'The new channel is listed below.'),
      dismiss);
  dismiss.addEventListener('click', () => {
    banner.remove();
    history.replaceState(null, '', location.pathname);
    document.querySelector('#main h1')?.focus();
  });
  return banner;
}

function pluginDetails(plugin) {
  const caps = plugin.capabilities || {};
  const supported = Object.entries(caps).filter(([, v]) => v === true).map(([k]) => k.replace(/_/g, ' '));
  return h('details', { class: 'details' }, h('summary', {}, 'Plugin details'),
    facts([
      ['Plugin id', plugin.id],
      ['Version', plugin.version],
      ['Contract', plugin.contract_version],
      ['Webhook routing', plugin.routing],
      ['Supports', supported.join(', ')],
      ['Reply window', caps.reply_window_secs ? `${Math.round(caps.reply_window_secs / 3600)} hours after the customer's last message` : null],
      ['File', plugin.file],
      ['SHA-256', plugin.sha256 ? h('code', {}, plugin.sha256) : null],
      ['Signed by', plugin.signed_by],
    ]));
}

// ---------------------------------------------------------------- connecting

/** A form field from a manifest config field. */
function configInput(prefix, field) {
  const id = `${prefix}-${field.name}`;
  const input = h('input', {
    id, name: field.name,
    type: field.secret ? 'password' : 'text',
    // Chrome ignores "off" on password inputs and would offer the saved
    // Switchboard login for a bot token; "new-password" stops that.
    autocomplete: field.secret ? 'new-password' : 'off', spellcheck: 'false',
    required: !!field.required,
    'aria-describedby': field.help ? `${id}-help` : null,
  });
  return h('div', { class: 'field' },
    h('label', { for: id }, field.label || field.name, field.required ? h('span', { class: 'required' }, ' (required)') : null),
    input,
    field.help ? h('p', { class: 'help', id: `${id}-help` }, field.help) : null);
}

/** Config fields, with `api_base` (a test or self-hosted API server) tucked away. */
function configFields(prefix, fields) {
  const main = fields.filter((f) => f.name !== 'api_base' || f.required);
  const advanced = fields.filter((f) => f.name === 'api_base' && !f.required);
  return [main.map((f) => configInput(prefix, f)),
    advanced.length ? h('details', { class: 'advanced' }, h('summary', {}, 'Advanced'), advanced.map((f) => configInput(prefix, f))) : null];
}

function nameField(prefix, required, placeholder) {
  const id = `${prefix}-name`;
  return h('div', { class: 'field' },
    h('label', { for: id }, 'Channel name', required ? h('span', { class: 'required' }, ' (required)') : null),
    h('input', { id, name: 'name', type: 'text', required, maxlength: 200, autocomplete: 'off', placeholder, 'aria-describedby': `${id}-help` }),
    h('p', { class: 'help', id: `${id}-help` }, 'How this channel is called in the inbox, like “Support bot”.'));
}

function connectSection(plugin, setting, reload) {
  if (setting.enabled === false) return null;
  const name = providerName(plugin);
  if (!canAdmin()) {
    return h('p', { class: 'note' }, `Only admins and owners can connect ${name} channels or check their connection.`);
  }
  const parts = [];
  if (plugin.oauth) parts.push(oauthForm(plugin));
  parts.push(tokenForm(plugin, reload, !!plugin.oauth));
  return h('section', { class: 'card', 'aria-labelledby': 'connect-title' },
    h('h2', { id: 'connect-title' }, `Connect a ${name} channel`), parts);
}

function oauthForm(plugin) {
  const name = providerName(plugin);
  const prefix = `oauth-${plugin.id}`;
  const fields = (plugin.oauth.start_fields || []);
  const advanced = (plugin.config_fields || []).filter((f) => f.name === 'api_base');
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, `Connect with ${name}`);
  const alert = alertBox();
  const form = h('form', { class: 'stack' },
    h('p', {}, `Sign in at ${name} and approve access; you come back here when it is done.`),
    nameField(prefix, false, name),
    configFields(prefix, [...fields, ...advanced]),
    alert, h('div', {}, submit));
  form.addEventListener('submit', safe(async (event) => {
    event.preventDefault();
    await busy(submit, 'Opening…', async () => {
      alert.textContent = '';
      const query = new URLSearchParams({ workspace_id: app.workspaceId });
      for (const input of form.querySelectorAll('input[name]')) {
        const value = input.value.trim();
        if (value) query.set(input.name, value);
      }
      const url = `/oauth/${enc(plugin.id)}/start?${query}`;
      // Ask first without following the redirect: a refusal (not configured,
      // a missing field) comes back as JSON to show here, not as a raw page.
      let res;
      try {
        res = await fetch(url, { credentials: 'same-origin', redirect: 'manual', headers: { Accept: 'application/json' } });
      } catch {
        alert.textContent = 'Could not reach the server. Check the connection and try again.';
        return;
      }
      if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
        location.assign(url);
        return;
      }
      if (res.status === 401) return goToLogin();
      alert.textContent = errorText(res, await readJson(res));
    });
  }));
  return h('div', { class: 'connect-block' }, h('h3', {}, `With your ${name} account`), form);
}

function tokenForm(plugin, reload, secondary) {
  const prefix = `connect-${plugin.id}`;
  const submit = h('button', { type: 'submit', class: `button ${secondary ? '' : 'button-primary'}` }, 'Connect');
  const alert = alertBox();
  const status = statusBox();
  const form = h('form', { class: 'stack' },
    nameField(prefix, true),
    configFields(prefix, plugin.config_fields || []),
    alert, status, h('div', {}, submit));
  form.addEventListener('submit', safe(async (event) => {
    event.preventDefault();
    await busy(submit, 'Connecting…', async () => {
      alert.textContent = '';
      status.textContent = '';
      const config = {};
      for (const field of plugin.config_fields || []) {
        const value = form.elements[field.name]?.value.trim();
        if (value) config[field.name] = value;
      }
      let channel;
      try {
        channel = await api('POST', wsPath('/channels'), { provider: plugin.id, name: form.elements.name.value.trim(), config });
      } catch (error) {
        showError(alert, error);
        return;
      }
      form.reset();
      status.textContent = `Connected “${channel.name}”${channel.display_name ? ` (${channel.display_name})` : ''}.`;
      await reload(channel.id);
    });
  }));
  if (!secondary) return form;
  return h('details', { class: 'connect-block connect-more' },
    h('summary', {}, h('h3', {}, 'Or connect with an access token')), form);
}

// ---------------------------------------------------------------- channels

const STATUS_NAMES = { connected: 'Connected', auth_expired: 'Sign-in expired', disconnected: 'Disconnected' };
const HEALTH_NAMES = { healthy: 'Healthy', failing: 'Failing', unknown: 'Unknown' };

function channelCard(plugin, channel, { onRemoved }) {
  const id = `channel-${channel.id}`;
  const alert = alertBox();
  const health = h('div', { class: 'health', 'aria-live': 'polite' });
  const labels = Object.fromEntries((plugin.config_fields || []).map((f) => [f.name, f.label || f.name]));
  const config = Object.entries(channel.config || {}).filter(([, v]) => v !== '' && v != null)
    .map(([k, v]) => [labels[k] || k, String(v)]);

  // The website widget's channel is embedded with a script tag; every other
  // channel is reached at its webhook URL.
  const copyValue = channel.embed || channel.webhook_url || '';
  const copyLabel = channel.embed ? 'Paste this tag into your site' : 'Webhook URL';
  const urlInput = h('input', { id: `${id}-webhook`, type: 'text', readonly: true, value: copyValue, class: 'mono', spellcheck: 'false' });
  const copied = h('span', { class: 'copied', role: 'status' });
  const copy = h('button', { type: 'button', class: 'button small' }, 'Copy');
  copy.addEventListener('click', safe(async () => {
    copied.textContent = '';
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(urlInput.value);
      copied.textContent = 'Copied.';
    } catch {
      urlInput.focus();
      urlInput.select();
      copied.textContent = 'Selected: press Ctrl+C (⌘C on a Mac) to copy.';
    }
  }));

  const actions = [];
  if (canAdmin()) {
    const check = h('button', { type: 'button', class: 'button' }, 'Check connection');
    check.addEventListener('click', safe(() => busy(check, 'Checking…', async () => {
      alert.textContent = '';
      health.replaceChildren(loading('Asking the provider…'));
      try {
        const answer = await api('GET', wsPath(`/channels/${enc(channel.id)}/health`));
        health.replaceChildren(healthView(answer, channel));
      } catch (error) {
        health.replaceChildren();
        showError(alert, error);
      }
    })));
    const remove = h('button', { type: 'button', class: 'button button-danger' }, 'Disconnect');
    remove.addEventListener('click', safe(async () => {
      if (!window.confirm(`Disconnect “${channel.name}”? Its messages stop arriving in the inbox.`)) return;
      await busy(remove, 'Disconnecting…', async () => {
        alert.textContent = '';
        try {
          await api('DELETE', wsPath(`/channels/${enc(channel.id)}`));
        } catch (error) {
          showError(alert, error);
          return;
        }
        onRemoved();
      });
    }));
    actions.push(check, remove);
  }

  const status = channel.status || 'unknown';
  return h('li', { class: 'card channel', 'data-channel': channel.id },
    h('div', { class: 'channel-head' },
      h('h3', { tabindex: '-1' }, channel.name),
      h('span', { class: `pill pill-status-${status}` }, STATUS_NAMES[status] || status)),
    facts([
      ['Account', [channel.display_name, channel.provider_account_id].filter(Boolean).join(' · ') || null],
      ['Connected', formatDate(channel.created_at)],
      ...config,
    ]),
    channel.last_error ? h('p', { class: 'last-error' }, h('strong', {}, 'Last error: '), channel.last_error) : null,
    copyValue ? h('div', { class: 'field webhook' },
      h('label', { for: `${id}-webhook` }, copyLabel),
      h('div', { class: 'copy-row' }, urlInput, copy),
      copied) : null,
    actions.length ? h('div', { class: 'actions' }, actions) : null,
    alert, health);
}

function healthView(answer, channel) {
  if (answer.supported === false) {
    return h('div', { class: 'health-result' },
      h('p', {}, h('strong', {}, 'This plugin version cannot report health.')),
      answer.detail ? h('p', { class: 'muted small' }, answer.detail) : null);
  }
  const state = answer.state || 'unknown';
  const elsewhere = answer.registered_url && channel.webhook_url && answer.registered_url !== channel.webhook_url;
  return h('div', { class: `health-result health-${state}` },
    h('p', {}, 'Connection: ', h('span', { class: `pill pill-health-${state}` }, HEALTH_NAMES[state] || state)),
    facts([
      ['Detail', answer.detail],
      ['Last error', answer.last_error],
      ['Last error at', formatDate(answer.last_error_at)],
      ['Pending updates', answer.pending_updates],
      ['Registered URL', answer.registered_url],
      ['Checked', formatDate(answer.checked_at)],
    ]),
    elsewhere ? h('p', { class: 'note note-off' }, 'The provider delivers to a different URL than this channel’s webhook URL.') : null);
}

/**
 * Loads a page section's data: on failure the section stops showing as busy
 * and `alert` says why. Null when it failed or the user has moved on to
 * another page (`seq` is no longer the current render).
 */
async function loadSection(seq, body, alert, request) {
  let data;
  try {
    data = await request();
  } catch (error) {
    if (seq !== app.seq) return null;
    fill(body);
    body.removeAttribute('aria-busy');
    showError(alert, error);
    return null;
  }
  if (seq !== app.seq) return null;
  body.removeAttribute('aria-busy');
  return data;
}

// ---------------------------------------------------------------- start

export {
  loadSection,
  app, api, ApiError, enc, wsPath, h, fill, alertBox, statusBox, loading, showError, busy, safe,
  setTitle, setMain, formatDate, relativeTime, timeAgo, srOnly, facts, badge, providerLabel, navigate,
  workspace, canAdmin, storeWorkspace, ROLE_NAMES,
};

render().catch((error) => console.error(error));
