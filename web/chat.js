// Chat: the conversation list (left) and the open thread (right), kept live
// by the workspace's server-sent events. One Chat page stays drawn while the
// user moves between /chat and /chat/{id}; leaving the page (or switching
// workspace) closes its event stream.

import {
  app, api, enc, wsPath, h, fill, alertBox, statusBox, loading, showError, safe,
  setTitle, setMain, formatDate, relativeTime, timeAgo, srOnly, badge, providerLabel,
} from './app.js';

/** `url` when it resolves to this server (a path such as `/\\evil.com` does not), else null. */
function sameOriginPath(url) {
  if (!url) return null;
  try {
    const resolved = new URL(url, location.origin);
    return resolved.origin === location.origin ? resolved.pathname + resolved.search : null;
  } catch {
    return null;
  }
}

const FILTERS = [['open', 'Open'], ['resolved', 'Resolved'], ['all', 'All']];
const DEFAULT_FILTER = 'open';
const PAGE_SIZE = 200;
/** Events within this many milliseconds share one reload. */
const RELOAD_DELAY = 300;
const SEARCH_DELAY = 300;
/** How close to the bottom (px) still counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** The largest file a reply can carry: the server refuses bigger ones (413). */
const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** What the reply box says for too large a file (as the server's 413 does). */
const tooLarge = (name) => `The file ${name ? `“${name}” ` : ''}is larger than 10 MB, the most a reply can carry.`;

const STATUS_LABELS = {
  pending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

const KIND_NAMES = {
  image: 'Image', photo: 'Image', video: 'Video', audio: 'Audio', voice: 'Voice message',
  document: 'File', file: 'File', sticker: 'Sticker', animation: 'Animation', location: 'Location', contact: 'Contact',
};

let view = null; // the drawn Chat page

/** Closes the Chat page's live connection and timers (leaving Chat). */
export function leaveChat() {
  if (!view) return;
  view.destroy();
  view = null;
}

/** Draws /chat (no conversation) or /chat/{id}; reuses the drawn page. */
export function renderChat(seq, conversationId) {
  // After a navigation, focus goes to the thread's heading (or the list), not the h1.
  const focus = app.focusHeading;
  app.focusHeading = false;
  if (view && view.workspaceId !== app.workspaceId && conversationId) {
    // Switched workspace: the open conversation belongs to the other one.
    history.replaceState(null, '', `/chat${location.search}`);
    app.rendered = location.pathname + location.search;
    conversationId = null;
  }
  if (view && (view.workspaceId !== app.workspaceId || !view.root.isConnected)) leaveChat();
  document.body.dataset.page = 'chat';
  if (!view) view = createChatView();
  view.route(conversationId, focus);
}

// ---------------------------------------------------------------- helpers

function readQuery() {
  const params = new URLSearchParams(location.search);
  const status = params.get('status');
  return {
    status: FILTERS.some(([value]) => value === status) ? status : DEFAULT_FILTER,
    q: (params.get('q') || '').trim(),
  };
}

/** The query string for a list state, leaving out the defaults. */
function queryString({ status, q }) {
  const params = new URLSearchParams();
  if (status !== DEFAULT_FILTER) params.set('status', status);
  if (q) params.set('q', q);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const conversationName = (conv) => (conv.kind === 'group'
  ? conv.title || conv.contact?.name
  : conv.contact?.name || conv.title) || 'Unnamed conversation';

function excerpt(text, max = 90) {
  const flat = String(text || '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function attachmentSummary(message) {
  const list = message.attachments || [];
  if (!list.length) return null;
  const first = list[0];
  const name = KIND_NAMES[first.kind] || 'Attachment';
  return list.length > 1 ? `${name} and ${list.length - 1} more` : (first.file_name ? `${name}: ${first.file_name}` : name);
}

/** What a message says, in one line, for quotes and announcements. */
function messageSummary(message) {
  if (message.deleted_at && !message.text) return 'Deleted message';
  return excerpt(message.text) || attachmentSummary(message) || 'Message';
}

function formatSize(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return null;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const clockTime = (value) => {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
};

function dayLabel(date, now = new Date()) {
  const start = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((start(now) - start(date)) / 86400000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return date.toLocaleDateString(undefined, {
    weekday: 'long', day: 'numeric', month: 'long',
    year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric',
  });
}

const dayKey = (value) => {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? 'unknown' : `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
};

const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  pending: ['M8 1.75a6.25 6.25 0 1 1 0 12.5a6.25 6.25 0 1 1 0-12.5z', 'M8 4.5V8l2.4 1.6'],
  sent: ['M3 8.5l3 3L13 4.5'],
  delivered: ['M1 8.5l3 3L11 4.5', 'M7.5 11.5L14.5 4.5'],
  read: ['M1 8.5l3 3L11 4.5', 'M7.5 11.5L14.5 4.5'],
  failed: ['M8 1.75a6.25 6.25 0 1 1 0 12.5a6.25 6.25 0 1 1 0-12.5z', 'M8 4.75v4', 'M8 11.25v.01'],
  attach: ['M13.25 7.5l-5.6 5.6a3.2 3.2 0 0 1-4.5-4.5l5.9-5.9a2.1 2.1 0 0 1 3 3l-5.9 5.9a1 1 0 0 1-1.45-1.45l5.4-5.4'],
};

function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', `icon icon-${name}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

const atBottom = (box) => box.scrollHeight - box.scrollTop - box.clientHeight <= BOTTOM_SLACK;

/** Makes `container`'s children the nodes for `entries` ({key, sig, build}),
 *  keeping the node of an entry whose signature did not change and moving as
 *  few nodes as possible, so a reload does not steal the keyboard focus. */
function reconcile(container, entries) {
  const old = new Map();
  for (const child of [...container.children]) {
    if (child.dataset.key) old.set(child.dataset.key, child);
    else child.remove();
  }
  const focused = document.activeElement;
  let refocus = null;
  const nodes = entries.map(({ key, sig, build }) => {
    const previous = old.get(key);
    if (previous && previous._sig === sig) {
      old.delete(key);
      return previous;
    }
    const node = build();
    node.dataset.key = key;
    node._sig = sig;
    if (previous && focused && previous.contains(focused)) {
      // The same control in the redrawn entry, else the entry itself.
      const action = focused.dataset.action;
      refocus = (action && node.querySelector(`[data-action="${action}"]`)) || node.querySelector('a[href]') || node;
    }
    return node;
  });
  for (const stale of old.values()) stale.remove();
  let cursor = container.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextElementSibling;
      continue;
    }
    container.insertBefore(node, cursor);
  }
  if (refocus) {
    if (!refocus.matches('a[href], button, textarea, input, select, [tabindex]')) refocus.setAttribute('tabindex', '-1');
    refocus.focus({ preventScroll: true });
  } else if (focused && focused !== document.body && focused.isConnected && document.activeElement !== focused) {
    focused.focus({ preventScroll: true }); // moved within the list
  }
}

// ---------------------------------------------------------------- the page

function createChatView() {
  const workspaceId = app.workspaceId;
  let alive = true;
  let query = readQuery();
  let conversations = null; // the list as last loaded
  let listError = null;
  let listToken = 0;
  let selectedId = null;
  let thread = null; // the open conversation
  const drafts = new Map(); // conversation id -> unsent text
  const fileDrafts = new Map(); // conversation id -> the File chosen but not sent
  const extra = new Map(); // conversations opened but outside the current filter

  // ----- list column
  const search = h('input', {
    id: 'conversation-search', type: 'search', value: query.q, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search',
  });
  const filter = h('select', { id: 'conversation-filter' },
    FILTERS.map(([value, label]) => h('option', { value, selected: value === query.status }, label)));
  const live = h('p', { class: 'live-state small', role: 'status' });
  const listAlert = alertBox();
  const listBody = h('div', { class: 'conversation-scroll' });
  const listEl = h('ul', { id: 'conversation-list', class: 'conversation-list', 'aria-labelledby': 'chat-title' });
  const listSection = h('section', { class: 'chat-list', 'aria-labelledby': 'chat-title' },
    h('div', { class: 'chat-list-head' },
      h('h1', { id: 'chat-title' }, 'Chat'),
      h('div', { class: 'chat-tools' },
        h('div', { class: 'search-field' },
          h('label', { for: 'conversation-search', class: 'visually-hidden' }, 'Search conversations'),
          search),
        h('div', { class: 'filter-field' },
          h('label', { for: 'conversation-filter' }, 'Show'),
          filter)),
      live, listAlert),
    listBody);

  // ----- thread column
  const threadSection = h('section', { class: 'chat-thread', 'aria-label': 'Conversation' });
  const announcer = h('div', { class: 'visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'false' });
  const root = h('div', { class: 'chat' }, listSection, threadSection, announcer);

  function announce(text) {
    announcer.append(h('p', {}, text));
    while (announcer.childElementCount > 5) announcer.firstElementChild.remove();
  }

  // ----- which providers can send files (each manifest's capabilities.attachments)
  let attachable = null; // plugin id -> bool once loaded; 'unknown' when that failed
  api('GET', '/plugins').then((plugins) => {
    attachable = new Map((plugins || []).map((plugin) =>
      [plugin.id, (plugin.capabilities || plugin.manifest?.capabilities || {}).attachments === true]));
  }).catch((error) => {
    if (error?.redirected) return;
    console.warn('loading the provider manifests failed', error);
    attachable = 'unknown'; // offer the control; the server refuses (422) when it cannot
  }).finally(() => {
    if (alive && thread) thread.drawAttach();
  });

  /** Whether replies in a `provider` conversation can carry a file. */
  function canAttach(provider) {
    if (attachable === 'unknown') return true;
    return !!provider && !!attachable?.get(provider);
  }

  // ----- reloads driven by events (debounced, one at a time)
  const pending = { list: false, thread: false };
  let timer = null;
  let running = false;
  function schedule(list, threadToo) {
    pending.list ||= list;
    pending.thread ||= threadToo;
    if (!timer && !running && alive) timer = setTimeout(flush, RELOAD_DELAY);
  }
  async function flush() {
    timer = null;
    if (!alive) return;
    running = true;
    const work = { ...pending };
    pending.list = false;
    pending.thread = false;
    try {
      if (work.thread && thread) await thread.load();
      if (work.list) await loadList();
    } catch (error) {
      if (!error?.redirected) console.error(error);
    } finally {
      running = false;
      if (alive && (pending.list || pending.thread)) timer = setTimeout(flush, RELOAD_DELAY);
    }
  }

  // ----- the event stream
  let source = null;
  let reconnectTimer = null;
  function connect() {
    if (!alive) return;
    source = new EventSource(`/api/v1/workspaces/${enc(workspaceId)}/events`);
    source.addEventListener('ready', () => {
      live.textContent = '';
      schedule(true, true);
    });
    source.addEventListener('changes', (event) => {
      let ids = null;
      try {
        ids = (JSON.parse(event.data).conversations || []).map((change) => change.id);
      } catch {
        ids = null; // unreadable: reload everything
      }
      schedule(true, !!thread && (!ids || ids.includes(thread.id)));
    });
    source.addEventListener('error', () => {
      if (!alive) return;
      live.textContent = 'Live updates interrupted; reconnecting…';
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      // The server refused the stream (session ended, membership revoked...):
      // find out why, then try again a little later.
      source.close();
      source = null;
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(() => {
        api('GET', '/me').then(() => connect()).catch((error) => {
          if (error.redirected || !alive) return;
          reconnectTimer = setTimeout(connect, 10000);
        });
      }, 3000);
    });
  }

  // ----- the list
  async function loadList() {
    const token = ++listToken;
    const params = new URLSearchParams({ status: query.status, limit: String(PAGE_SIZE) });
    if (query.q) params.set('q', query.q);
    listBody.setAttribute('aria-busy', 'true');
    try {
      const answer = await api('GET', wsPath(`/conversations?${params}`));
      if (!alive || token !== listToken) return;
      conversations = answer;
      listError = null;
    } catch (error) {
      if (!alive || token !== listToken) return;
      listError = error;
    } finally {
      if (alive && token === listToken) listBody.removeAttribute('aria-busy');
    }
    listAlert.textContent = '';
    if (listError) showError(listAlert, listError);
    drawList();
    if (thread) thread.syncConversation();
  }

  function drawList() {
    if (!conversations) {
      if (!listError) fill(listBody, loading('Loading conversations…'));
      else fill(listBody);
      return;
    }
    if (!conversations.length) {
      const what = { open: 'open ', resolved: 'resolved ', all: '' }[query.status];
      fill(listBody, h('p', { class: 'empty muted' }, query.q
        ? `No ${what}conversations match “${query.q}”.`
        : `No ${what}conversations yet.`));
      return;
    }
    if (listEl.parentNode !== listBody) fill(listBody, listEl);
    const qs = queryString(query);
    reconcile(listEl, conversations.map((conv) => ({
      key: conv.id,
      sig: `${JSON.stringify(conv)}|${conv.id === selectedId}|${qs}`,
      build: () => h('li', {}, conversationItem(conv, conv.id === selectedId, qs)),
    })));
    if (conversations.length >= PAGE_SIZE && !listBody.querySelector('.list-note')) {
      listBody.append(h('p', { class: 'list-note muted small' }, `Showing the latest ${PAGE_SIZE}. Search to find older conversations.`));
    } else if (conversations.length < PAGE_SIZE) {
      listBody.querySelector('.list-note')?.remove();
    }
  }

  function conversationItem(conv, selected, qs) {
    const last = conv.last_message;
    let preview;
    if (!last) preview = h('span', { class: 'muted' }, 'No messages yet');
    else {
      const text = excerpt(last.text, 120);
      preview = [
        last.direction === 'out' ? h('span', { class: 'you' }, 'You: ') : null,
        text || h('em', {}, attachmentSummary(last) || 'Attachment'),
      ];
    }
    const resolved = conv.status === 'resolved';
    return h('a', {
      class: `conversation${resolved ? ' is-resolved' : ''}${conv.unread ? ' is-unread' : ''}`,
      'data-id': conv.id,
      href: `/chat/${enc(conv.id)}${qs}`,
      'aria-current': selected ? 'page' : null,
    },
    badge({ id: conv.provider }),
    h('span', { class: 'conversation-body' },
      h('span', { class: 'conversation-top' },
        h('span', { class: 'conversation-name' }, conversationName(conv)),
        srOnly(`, ${providerLabel(conv.provider)}${conv.kind === 'group' ? ' group' : ''}. `),
        timeAgo(last?.created_at || conv.updated_at, { class: 'conversation-time', 'data-relative': '' })),
      h('span', { class: 'conversation-bottom' },
        h('span', { class: 'conversation-preview' }, preview),
        resolved ? h('span', { class: 'pill pill-resolved' }, srOnly('. '), 'Resolved') : null,
        conv.unread ? h('span', { class: 'unread-count' }, srOnly('. '), String(conv.unread), srOnly(' unread')) : null)));
  }

  /** The conversation's latest details, from the list or fetched once. */
  function knownConversation(id) {
    return (conversations || []).find((conv) => conv.id === id) || extra.get(id) || null;
  }

  async function fetchConversation(id) {
    // There is no GET /conversations/{id}: look in the unfiltered list.
    const all = await api('GET', wsPath(`/conversations?status=all&limit=1000`));
    const found = all.find((conv) => conv.id === id) || null;
    if (found) extra.set(id, found);
    return found;
  }

  function setUnread(id, count) {
    const conv = knownConversation(id);
    if (!conv || conv.unread === count) return;
    conv.unread = count;
    drawList();
  }

  // ----- query (search and filter)
  let searchTimer = null;
  function applyQuery() {
    clearTimeout(searchTimer);
    const next = { status: filter.value, q: search.value.trim() };
    if (next.status === query.status && next.q === query.q) return;
    query = next;
    history.replaceState(null, '', location.pathname + queryString(query));
    app.rendered = location.pathname + location.search;
    if (thread) thread.setBackHref(`/chat${queryString(query)}`);
    loadList().catch(() => {});
  }
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(applyQuery, SEARCH_DELAY);
  });
  search.addEventListener('search', applyQuery); // the clear button, Enter
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') applyQuery();
  });
  filter.addEventListener('change', applyQuery);

  // ----- times and visibility
  const clock = setInterval(() => {
    for (const time of root.querySelectorAll('time[data-relative]')) {
      time.textContent = relativeTime(time.getAttribute('datetime'));
    }
  }, 30000);
  const onVisible = () => {
    if (document.visibilityState === 'visible' && thread) thread.markReadIfNeeded();
  };
  document.addEventListener('visibilitychange', onVisible);

  // ----- routing inside Chat
  function route(conversationId, focus) {
    const next = readQuery();
    if (next.status !== query.status || next.q !== query.q) {
      query = next;
      search.value = query.q;
      filter.value = query.status;
      loadList().catch(() => {});
    }
    const previous = selectedId;
    selectedId = conversationId;
    root.classList.toggle('has-thread', !!conversationId);
    if (!thread || thread.id !== conversationId) {
      if (thread) thread.close();
      thread = conversationId ? openThread(conversationId) : null;
      if (!thread) drawEmptyThread();
    }
    if (conversations) drawList();
    if (thread) {
      setTitle(`${thread.title()} · Chat`);
      if (focus) thread.focusHeading();
    } else {
      setTitle('Chat');
      if (focus) {
        const item = previous && listEl.querySelector(`a[data-id="${CSS.escape(previous)}"]`);
        const target = (item && item.isConnected && item) || document.getElementById('chat-title');
        if (target === document.getElementById('chat-title')) target.setAttribute('tabindex', '-1');
        target?.focus();
      }
    }
  }

  function drawEmptyThread() {
    fill(threadSection, h('div', { class: 'thread-empty' },
      h('p', { class: 'muted' }, 'Pick a conversation on the left to read and reply.')));
    threadSection.setAttribute('aria-label', 'Conversation');
  }

  // ---------------------------------------------------------------- one thread

  function openThread(id) {
    let open = true;
    let conv = knownConversation(id);
    let messages = null;
    let loadToken = 0;
    let seen = null; // ids of messages already shown (null before the first load)
    let replyTo = null;
    let chosen = fileDrafts.get(id) || null; // the File to send with the reply
    let sending = false;
    let stick = true; // keep the view at the newest message
    let unreadPending = true; // the server may count unread messages here

    const heading = h('h2', { id: 'thread-title', tabindex: '-1' }, conv ? conversationName(conv) : 'Conversation');
    const meta = h('p', { class: 'thread-meta muted small' });
    const headBadge = h('span', { class: 'thread-badge' });
    const back = h('a', { class: 'button button-quiet small back-link', href: `/chat${queryString(query)}` },
      h('span', { 'aria-hidden': 'true' }, '‹ '), 'Back', srOnly(' to conversations'));
    const toggle = h('button', { type: 'button', class: 'button small', id: 'conversation-status-toggle', hidden: true });
    const threadAlert = alertBox();
    const threadStatus = statusBox();
    const list = h('ol', { class: 'message-list' });
    const box = h('div', {
      id: 'thread', class: 'thread-messages', tabindex: '0', role: 'region', 'aria-labelledby': 'thread-title',
    }, loading('Loading messages…'));
    const jump = h('button', { type: 'button', class: 'button small jump-latest', hidden: true }, 'New messages ↓');

    // ----- reply box
    const textarea = h('textarea', {
      id: 'reply-text', name: 'text', rows: '1', placeholder: 'Write a reply…',
      'aria-describedby': 'reply-hint', value: drafts.get(id) || '',
    });
    const send = h('button', { type: 'submit', class: 'button button-primary', id: 'reply-send' }, 'Send');
    // A real file input, visually hidden behind its label (which looks like a
    // button): the keyboard reaches the input, whose focus ring the label shows.
    const fileInput = h('input', {
      type: 'file', id: 'reply-file', name: 'file', class: 'attach-input visually-hidden', 'aria-describedby': 'reply-hint',
    });
    const attach = h('div', { class: 'attach', hidden: true },
      fileInput,
      h('label', { for: 'reply-file', class: 'button attach-button', title: 'Attach an image or a file (up to 10 MB)' },
        icon('attach'), h('span', { class: 'attach-text' }, 'Attach'), srOnly(' a file')));
    const fileChip = h('div', { class: 'composer-file', id: 'reply-file-chip', hidden: true });
    const replyPreview = h('div', { class: 'reply-preview', hidden: true });
    const composerAlert = alertBox();
    const composerLabel = h('label', { for: 'reply-text', class: 'visually-hidden' }, 'Reply');
    const hint = h('p', { class: 'help small', id: 'reply-hint' }, 'Enter sends, Shift+Enter starts a new line.');
    const composer = h('form', { class: 'composer', 'aria-label': 'Reply' },
      replyPreview,
      fileChip,
      composerLabel,
      h('div', { class: 'composer-row' }, attach, textarea, send),
      hint,
      composerAlert);

    fill(threadSection,
      h('div', { class: 'thread-head' },
        back,
        headBadge,
        h('div', { class: 'thread-title' }, heading, meta),
        toggle),
      threadAlert, threadStatus,
      h('div', { class: 'thread-body' }, box, jump),
      composer);

    function drawHeader() {
      const name = conv ? conversationName(conv) : 'Conversation';
      heading.textContent = name;
      threadSection.setAttribute('aria-label', `Conversation with ${name}`);
      composerLabel.textContent = `Reply to ${name}`;
      drawAttach();
      if (!conv) {
        fill(headBadge);
        fill(meta);
        toggle.hidden = true;
        return;
      }
      fill(headBadge, badge({ id: conv.provider }));
      const resolved = conv.status === 'resolved';
      fill(meta,
        providerLabel(conv.provider),
        conv.kind === 'group' ? ' · Group' : null,
        ' · ',
        resolved ? h('span', { class: 'pill pill-resolved' }, 'Resolved') : h('span', { class: 'pill pill-open' }, 'Open'));
      if (toggle.getAttribute('aria-disabled') !== 'true') toggle.textContent = resolved ? 'Reopen' : 'Resolve';
      toggle.hidden = false;
      if (view && thread && thread.id === id) setTitle(`${name} · Chat`);
    }

    toggle.addEventListener('click', safe(async () => {
      if (!conv || toggle.getAttribute('aria-disabled') === 'true') return;
      const next = conv.status === 'resolved' ? 'open' : 'resolved';
      toggle.setAttribute('aria-disabled', 'true');
      toggle.textContent = next === 'resolved' ? 'Resolving…' : 'Reopening…';
      threadAlert.textContent = '';
      threadStatus.textContent = '';
      try {
        await api('PATCH', `/conversations/${enc(id)}`, { status: next });
        if (!open) return;
        conv.status = next;
        threadStatus.textContent = next === 'resolved' ? 'Marked as resolved.' : 'Reopened.';
        schedule(true, false);
      } catch (error) {
        if (open) showError(threadAlert, error);
      } finally {
        toggle.removeAttribute('aria-disabled');
        if (open) drawHeader();
      }
    }));

    // ----- scrolling
    const scrollToEnd = () => { box.scrollTop = box.scrollHeight; };
    box.addEventListener('scroll', () => {
      stick = atBottom(box);
      if (stick) jump.hidden = true;
    }, { passive: true });
    jump.addEventListener('click', () => {
      scrollToEnd();
      jump.hidden = true;
      box.focus({ preventScroll: true });
    });
    // Images load after the thread is drawn: keep the bottom in view.
    box.addEventListener('load', () => { if (stick) scrollToEnd(); }, true);

    // ----- messages
    async function load() {
      const token = ++loadToken;
      let answer;
      try {
        [answer] = await Promise.all([
          api('GET', `/conversations/${enc(id)}/messages?limit=${PAGE_SIZE}`),
          ensureConversation(),
        ]);
      } catch (error) {
        if (!open || token !== loadToken) return;
        if (error.redirected) return;
        if (error.status === 404 || error.status === 403) {
          fill(box, h('p', { class: 'thread-missing' }, 'This conversation does not exist, or you cannot see it.'));
          composer.hidden = true;
          toggle.hidden = true;
          heading.textContent = 'Conversation not found';
          setTitle('Conversation not found');
          return;
        }
        showError(threadAlert, error);
        if (!messages) fill(box);
        return;
      }
      if (!open || token !== loadToken) return;
      threadAlert.textContent = '';
      drawHeader();
      const first = seen === null;
      const fresh = first ? [] : answer.filter((message) => !seen.has(message.id));
      const failedNow = first ? [] : answer.filter((message) => message.status === 'failed'
        && messages.some((old) => old.id === message.id && old.status !== 'failed'));
      messages = answer;
      seen = new Set(answer.map((message) => message.id));
      const wasAtBottom = first || stick || atBottom(box);
      drawMessages();
      if (wasAtBottom) {
        scrollToEnd();
        stick = true;
      } else if (fresh.length) {
        jump.hidden = false;
      }
      const incoming = fresh.filter((message) => message.direction === 'in');
      for (const message of incoming.slice(-3)) {
        const who = message.sender?.name || (conv ? conversationName(conv) : 'the customer');
        announce(`New message from ${who}: ${messageSummary(message)}`);
      }
      for (const message of failedNow) announce(`Your reply was not sent: ${message.error || 'unknown reason'}.`);
      if (first || incoming.length) {
        unreadPending = true;
        markReadIfNeeded();
      }
    }

    /** The header needs the conversation: from the list, else looked up once. */
    let lookedUp = false;
    async function ensureConversation() {
      if (conv || lookedUp || conversations === null) return;
      lookedUp = true;
      try {
        const found = await fetchConversation(id);
        if (found && open && !conv) {
          conv = found;
          drawHeader();
          if (messages) drawMessages();
        }
      } catch (error) {
        if (!error.redirected) console.warn('looking up the conversation failed', error);
      }
    }

    function markReadIfNeeded() {
      if (!open || !unreadPending || document.visibilityState !== 'visible') return;
      unreadPending = false;
      api('POST', `/conversations/${enc(id)}/read`).then(() => {
        if (open) setUnread(id, 0);
      }).catch((error) => {
        if (!error.redirected) console.warn('marking the conversation read failed', error);
      });
    }

    function drawMessages() {
      if (list.parentNode !== box) fill(box, list);
      if (!messages.length) {
        fill(list);
        fill(box, h('p', { class: 'thread-empty muted' }, 'No messages yet.'));
        return;
      }
      const group = conv?.kind === 'group';
      const byProviderId = new Map();
      for (const message of messages) {
        if (message.provider_message_id) byProviderId.set(message.provider_message_id, message);
      }
      const entries = [];
      if (messages.length >= PAGE_SIZE) {
        entries.push({ key: 'older', sig: 'older', build: () => h('li', { class: 'thread-note muted small' }, `Showing the latest ${PAGE_SIZE} messages.`) });
      }
      let lastDay = null;
      for (const message of messages) {
        const day = dayKey(message.created_at);
        if (day !== lastDay) {
          lastDay = day;
          const label = dayLabel(new Date(message.created_at));
          entries.push({ key: `day-${day}`, sig: label, build: () => h('li', { class: 'day' }, h('span', {}, label)) });
        }
        const quoted = message.reply_to ? byProviderId.get(message.reply_to) : null;
        const replying = replyTo && replyTo.id === message.id;
        entries.push({
          key: message.id,
          sig: `${JSON.stringify(message)}|${group}|${quoted ? `${quoted.id}:${quoted.text}:${quoted.deleted_at}` : ''}|${replying}`,
          build: () => messageItem(message, quoted, group, replying),
        });
      }
      reconcile(list, entries);
    }

    function senderName(message) {
      if (message.direction === 'out') return 'You';
      return message.sender?.name || (conv ? conversationName(conv) : 'Customer');
    }

    function messageItem(message, quoted, group, replying) {
      const out = message.direction === 'out';
      const deleted = !!message.deleted_at;
      const bubble = h('div', { class: 'bubble' },
        group && !out ? h('p', { class: 'message-sender' }, senderName(message)) : null,
        message.reply_to ? quote(message, quoted) : null,
        attachments(message),
        message.text ? h('p', { class: 'message-text' }, message.text) : null,
        !message.text && !(message.attachments || []).length
          ? h('p', { class: 'message-text message-empty' }, deleted ? 'This message was deleted.' : 'This message has no text.')
          : null,
        h('p', { class: 'message-meta' },
          out ? null : srOnly(`${senderName(message)}, `),
          h('time', { datetime: message.created_at, title: formatDate(message.created_at) }, clockTime(message.created_at)),
          message.edited_at ? h('span', { class: 'mark', title: `Edited ${formatDate(message.edited_at)}` }, 'edited') : null,
          deleted ? h('span', { class: 'mark mark-deleted', title: `Deleted ${formatDate(message.deleted_at)}` }, 'deleted') : null,
          out ? tick(message.status) : null));
      const failed = out && message.status === 'failed';
      const retry = failed ? h('button', { type: 'button', class: 'button small retry', 'data-action': 'retry' }, 'Retry') : null;
      if (retry) retry.addEventListener('click', safe(() => retryMessage(message, retry)));
      let reply = null;
      if (message.provider_message_id && !deleted) {
        reply = h('button', {
          type: 'button', class: 'link-button reply-action', 'data-action': 'reply',
          'aria-label': `Reply to ${senderName(message) === 'You' ? 'your message' : senderName(message)}: ${messageSummary(message)}`,
        }, 'Reply');
        reply.addEventListener('click', () => startReply(message));
      }
      return h('li', {
        class: `message message-${out ? 'out' : 'in'}${deleted ? ' is-deleted' : ''}${failed ? ' is-failed' : ''}${replying ? ' is-replying' : ''}`,
        id: `msg-${message.id}`,
        'data-id': message.id,
        'data-status': message.status,
      },
      h('div', { class: 'message-row' }, bubble, reply ? h('div', { class: 'message-actions' }, reply) : null),
      reactions(message),
      failed ? h('div', { class: 'message-failed' },
        h('p', { class: 'message-error' }, h('strong', {}, 'Not sent: '), message.error || 'the provider refused it.'),
        retry) : null);
    }

    function quote(message, quoted) {
      if (!quoted) return h('div', { class: 'quote quote-missing' }, 'Reply to an earlier message');
      return h('a', { class: 'quote', href: `#msg-${quoted.id}` },
        srOnly('In reply to '),
        h('span', { class: 'quote-sender' }, senderName(quoted)),
        srOnly(': '),
        h('span', { class: 'quote-text' }, messageSummary(quoted)));
    }

    function attachments(message) {
      const list = message.attachments || [];
      if (!list.length) return null;
      return h('div', { class: 'attachments' }, list.map((attachment, index) => {
        const url = sameOriginPath(attachment.url) || `/api/v1/messages/${enc(message.id)}/attachments/${index}`;
        const kind = KIND_NAMES[attachment.kind] || 'File';
        const name = attachment.file_name || kind;
        const size = formatSize(attachment.size_bytes ?? attachment.size);
        const file = () => h('a', { class: 'attachment-file', href: url, download: attachment.file_name || '' },
          h('span', { class: 'attachment-kind', 'aria-hidden': 'true' }, kind === 'File' ? 'FILE' : kind.toUpperCase().slice(0, 5)),
          h('span', { class: 'attachment-name' }, name),
          size ? h('span', { class: 'attachment-size muted' }, ` ${size}`) : null,
          srOnly(`, download ${kind.toLowerCase()}`));
        const isImage = ['image', 'photo', 'sticker'].includes(attachment.kind)
          || (attachment.mime_type || '').startsWith('image/');
        if (isImage) {
          const alt = attachment.file_name ? `Image ${attachment.file_name}` : `Image from ${senderName(message)}`;
          const img = h('img', {
            src: url, alt, loading: 'lazy', decoding: 'async',
            width: attachment.width || null, height: attachment.height || null,
          });
          const link = h('a', { class: 'attachment-image', href: url, target: '_blank', rel: 'noopener' }, img,
            srOnly(' (opens in a new tab)'));
          img.addEventListener('error', () => {
            const fallback = file();
            fallback.append(h('span', { class: 'muted small' }, ' (preview unavailable)'));
            link.replaceWith(fallback);
          });
          return link;
        }
        if (['audio', 'voice'].includes(attachment.kind)) {
          return h('div', { class: 'attachment-media' },
            h('audio', { controls: true, preload: 'none', src: url, 'aria-label': name }), file());
        }
        if (attachment.kind === 'video') {
          return h('div', { class: 'attachment-media' },
            h('video', { controls: true, preload: 'none', src: url, 'aria-label': name,
              width: attachment.width || null, height: attachment.height || null }), file());
        }
        return file();
      }));
    }

    function reactions(message) {
      const list = message.reactions || [];
      if (!list.length) return null;
      const counts = new Map();
      for (const reaction of list) {
        const emoji = String(reaction.emoji || '').startsWith('custom_emoji:') ? '★' : reaction.emoji || '?';
        counts.set(emoji, (counts.get(emoji) || 0) + 1);
      }
      return h('ul', { class: 'reactions', 'aria-label': 'Reactions' }, [...counts].map(([emoji, count]) =>
        h('li', { class: 'reaction', title: `${emoji} × ${count}` },
          h('span', { 'aria-hidden': 'true' }, emoji, count > 1 ? ` ${count}` : ''),
          srOnly(`${emoji} from ${count} ${count === 1 ? 'person' : 'people'}`))));
    }

    function tick(status) {
      const label = STATUS_LABELS[status] || status;
      const name = ICONS[status] ? status : 'sent';
      return h('span', { class: `tick tick-${status}`, title: label }, icon(name), srOnly(`, ${label}`));
    }

    async function retryMessage(message, button) {
      if (button.getAttribute('aria-disabled') === 'true') return;
      button.setAttribute('aria-disabled', 'true');
      button.textContent = 'Retrying…';
      threadAlert.textContent = '';
      try {
        const answer = await api('POST', `/messages/${enc(message.id)}/retry`);
        if (!open) return;
        messages = messages.map((old) => (old.id === answer.id ? answer : old));
        drawMessages();
        announce('Sending again.');
      } catch (error) {
        if (!open) return;
        button.removeAttribute('aria-disabled');
        button.textContent = 'Retry';
        showError(threadAlert, error);
        if (error.status === 409) schedule(false, true); // it changed meanwhile
      }
    }

    // ----- replying
    function startReply(message) {
      replyTo = message;
      fill(replyPreview,
        h('div', { class: 'reply-preview-text' },
          h('span', { class: 'reply-preview-label' }, `Replying to ${senderName(message) === 'You' ? 'your message' : senderName(message)}`),
          h('span', { class: 'reply-preview-quote' }, messageSummary(message))),
        h('button', { type: 'button', class: 'button button-quiet small', 'aria-label': 'Cancel reply', onclick: () => cancelReply(true) },
          h('span', { 'aria-hidden': 'true' }, '✕'), ' Cancel'));
      replyPreview.hidden = false;
      drawMessages();
      textarea.focus();
    }

    function cancelReply(focus) {
      replyTo = null;
      replyPreview.hidden = true;
      fill(replyPreview);
      if (messages) drawMessages();
      if (focus) textarea.focus();
    }

    // ----- attaching a file
    /** Shows the Attach control when this conversation's provider can send files. */
    function drawAttach() {
      const allowed = !!conv && canAttach(conv.provider);
      attach.hidden = !allowed;
      fileInput.disabled = !allowed || sending;
      hint.textContent = allowed
        ? 'Enter sends, Shift+Enter starts a new line. Files up to 10 MB.'
        : 'Enter sends, Shift+Enter starts a new line.';
    }

    function drawFile() {
      fileChip.hidden = !chosen;
      if (!chosen) {
        fill(fileChip);
        return;
      }
      const name = chosen.name || 'file';
      const remove = h('button', {
        type: 'button', class: 'button button-quiet small composer-file-remove', id: 'reply-file-remove',
        'aria-label': `Remove attachment ${name}`, disabled: sending,
      }, h('span', { 'aria-hidden': 'true' }, '✕'), ' Remove');
      remove.addEventListener('click', () => {
        chosen = null;
        fileDrafts.delete(id);
        drawFile();
        announce(`Removed ${name}.`);
        (attach.hidden ? textarea : fileInput).focus();
      });
      fill(fileChip,
        h('span', { class: 'composer-file-icon', 'aria-hidden': 'true' }, icon('attach')),
        h('span', { class: 'composer-file-text' },
          srOnly('Attached: '),
          h('span', { class: 'composer-file-name' }, name),
          h('span', { class: 'composer-file-size muted' },
            sending ? ' Uploading…' : ` ${formatSize(chosen.size) || ''}`)),
        remove);
    }

    function chooseFile(file) {
      composerAlert.textContent = '';
      if (file.size > MAX_FILE_BYTES) {
        composerAlert.textContent = tooLarge(file.name);
        return;
      }
      if (file.size === 0) {
        composerAlert.textContent = `“${file.name}” is empty.`;
        return;
      }
      chosen = file;
      fileDrafts.set(id, file);
      drawFile();
      announce(`Attached ${file.name}, ${formatSize(file.size)}. It is sent with the reply.`);
    }

    fileInput.addEventListener('change', () => {
      const file = fileInput.files?.[0] || null;
      // Keep the File, empty the input: choosing the same file again after
      // Remove fires `change` again.
      fileInput.value = '';
      if (file) chooseFile(file);
    });

    const grow = () => {
      textarea.style.height = 'auto';
      textarea.style.height = `${Math.min(textarea.scrollHeight + 2, 200)}px`;
    };
    textarea.addEventListener('input', () => {
      grow();
      drafts.set(id, textarea.value);
    });
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        submitReply();
      } else if (event.key === 'Escape' && replyTo) {
        event.preventDefault();
        cancelReply(false);
      }
    });
    // preventDefault right away: safe() would call it a microtask too late
    // when the submit comes from a script (Enter in the textarea).
    composer.addEventListener('submit', (event) => {
      event.preventDefault();
      submitReply();
    });
    /** The request body: JSON for text alone, multipart with a file (its
     *  text part becomes the caption). */
    function replyBody(text, file) {
      const replyId = replyTo?.provider_message_id;
      if (!file) return replyId ? { text, reply_to: replyId } : { text };
      const form = new FormData();
      if (text.trim()) form.append('text', text);
      if (replyId) form.append('reply_to', replyId);
      form.append('file', file, file.name);
      return form;
    }

    function setSending(on) {
      sending = on;
      send.disabled = on;
      send.textContent = on ? 'Sending…' : 'Send';
      textarea.readOnly = on;
      fileInput.disabled = on || attach.hidden;
      if (on) composer.setAttribute('aria-busy', 'true');
      else composer.removeAttribute('aria-busy');
      drawFile();
    }

    const submitReply = safe(async () => {
      if (sending) return;
      const text = textarea.value;
      const file = chosen;
      if (!text.trim() && !file) {
        composerAlert.textContent = attach.hidden ? 'Write a message first.' : 'Write a message or attach a file first.';
        textarea.focus();
        return;
      }
      if (file && file.size > MAX_FILE_BYTES) {
        composerAlert.textContent = tooLarge(file.name);
        return;
      }
      composerAlert.textContent = '';
      setSending(true);
      try {
        const message = await api('POST', `/conversations/${enc(id)}/messages`, replyBody(text, file));
        if (!open) return;
        textarea.value = '';
        drafts.delete(id);
        if (file && chosen === file) {
          chosen = null;
          fileDrafts.delete(id);
        }
        grow();
        if (replyTo) cancelReply(false);
        if (messages && message && !messages.some((old) => old.id === message.id)) {
          messages = [...messages, message];
          seen?.add(message.id);
        }
        if (messages) drawMessages();
        scrollToEnd();
        stick = true;
        schedule(true, false);
      } catch (error) {
        // The text and the file stay, to send again or change.
        if (open) showError(composerAlert, error);
      } finally {
        setSending(false);
        if (open) textarea.focus();
      }
    });

    drawHeader();
    drawFile();
    grow();
    load().catch((error) => { if (!error?.redirected) console.error(error); });

    return {
      id,
      load,
      markReadIfNeeded,
      drawAttach,
      title: () => (conv ? conversationName(conv) : 'Conversation'),
      focusHeading: () => heading.focus(),
      setBackHref: (href) => back.setAttribute('href', href),
      /** Takes the conversation's details from a reloaded list. */
      syncConversation() {
        const found = knownConversation(id);
        if (!found) {
          ensureConversation();
          return;
        }
        const changed = !conv || conv.status !== found.status || conversationName(conv) !== conversationName(found);
        conv = found;
        if (changed) drawHeader();
        if (found.unread && document.visibilityState === 'visible') {
          unreadPending = true;
          markReadIfNeeded();
        }
      },
      close() {
        open = false;
        drafts.set(id, textarea.value);
        if (!textarea.value) drafts.delete(id);
      },
    };
  }

  // ----- start
  setMain(root);
  drawList();
  connect();
  loadList().catch(() => {});

  return {
    workspaceId,
    root,
    route,
    destroy() {
      alive = false;
      if (thread) thread.close();
      thread = null;
      clearTimeout(timer);
      clearTimeout(searchTimer);
      clearTimeout(reconnectTimer);
      clearInterval(clock);
      document.removeEventListener('visibilitychange', onVisible);
      if (source) source.close();
      source = null;
    },
  };
}
