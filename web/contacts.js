// Contacts: the people (and groups) who wrote in, across channels, and one
// contact's identities and conversations.

import {
  app, api, enc, wsPath, h, fill, alertBox, loading, showError,
  setTitle, setMain, formatDate, timeAgo, srOnly, facts, badge, providerLabel, loadSection,
} from './app.js';

/** The server's largest page: the filter works on what is loaded. */
const LIMIT = 1000;

const contactName = (contact) => contact.name
  || contact.identities?.map((i) => i.display_name || (i.username && `@${i.username}`)).find(Boolean)
  || 'Unnamed contact';

/** One badge per provider the contact is known on, with the names for screen readers. */
function providerBadges(contact) {
  const providers = [...new Set((contact.identities || []).map((i) => i.provider))];
  if (!providers.length) return null;
  return h('span', { class: 'contact-badges' },
    providers.map((provider) => badge({ id: provider })),
    srOnly(`, on ${providers.map(providerLabel).join(', ')}`));
}

function handles(contact) {
  return (contact.identities || [])
    .map((i) => (i.username ? `@${i.username}` : null))
    .filter(Boolean)
    .filter((value, index, all) => all.indexOf(value) === index)
    .join(' · ');
}

function searchText(contact) {
  return [contact.name, ...(contact.identities || []).flatMap((i) => [
    i.display_name, i.username, i.username && `@${i.username}`, i.provider_user_id, providerLabel(i.provider),
  ])].filter(Boolean).join('\n').toLowerCase();
}

// ---------------------------------------------------------------- the list

export async function renderContacts(seq) {
  setTitle('Contacts');
  const initial = new URLSearchParams(location.search).get('q') || '';
  const input = h('input', {
    id: 'contact-filter', type: 'search', value: initial, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Name, @username or id', 'aria-controls': 'contact-list',
  });
  const count = h('p', { class: 'muted small contact-count', role: 'status' });
  const alert = alertBox();
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading contacts…'));
  setMain(
    h('div', { class: 'page-head' }, h('h1', {}, 'Contacts'),
      h('p', { class: 'lead' }, 'Everyone who has written to a connected channel. A contact can have identities on several channels.')),
    h('div', { class: 'field contact-filter' }, h('label', { for: 'contact-filter' }, 'Filter contacts'), input),
    count, alert, body);

  const contacts = await loadSection(seq, body, alert, () => api('GET', wsPath(`/contacts?limit=${LIMIT}`)));
  if (!contacts) return;
  if (!contacts.length) {
    fill(body, h('p', { class: 'muted' }, 'No contacts yet. They appear when someone writes to a connected channel.'));
    input.disabled = true;
    return;
  }
  const items = contacts
    .slice()
    .sort((a, b) => contactName(a).localeCompare(contactName(b), undefined, { sensitivity: 'base' }))
    .map((contact) => ({
      text: searchText(contact),
      node: h('li', {}, h('a', { class: 'contact', 'data-id': contact.id, href: `/contacts/${enc(contact.id)}` },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(contactName(contact))),
        h('span', { class: 'contact-body' },
          h('span', { class: 'contact-name' }, contactName(contact)),
          handles(contact) ? h('span', { class: 'contact-handles muted small' }, srOnly(', '), handles(contact)) : null),
        providerBadges(contact))),
    }));
  const list = h('ul', { id: 'contact-list', class: 'contact-list', 'aria-label': 'Contacts' }, items.map((item) => item.node));
  const none = h('p', { class: 'muted', hidden: true });
  fill(body, list, none,
    contacts.length >= LIMIT ? h('p', { class: 'muted small' }, `Showing the first ${LIMIT} contacts.`) : null);

  const apply = () => {
    const q = input.value.trim().toLowerCase();
    let shown = 0;
    for (const item of items) {
      const match = !q || item.text.includes(q);
      item.node.hidden = !match;
      if (match) shown += 1;
    }
    none.hidden = shown > 0;
    none.textContent = shown ? '' : `No contact matches “${input.value.trim()}”.`;
    count.textContent = q ? `${shown} of ${items.length} contacts` : `${items.length} contact${items.length === 1 ? '' : 's'}`;
    const search = q ? `?q=${enc(input.value.trim())}` : '';
    if (location.search !== search) {
      history.replaceState(null, '', location.pathname + search);
      app.rendered = location.pathname + location.search;
    }
  };
  input.addEventListener('input', apply);
  apply();
}

function initials(name) {
  const words = String(name).replace(/[^\p{L}\p{N}\s]/gu, '').trim().split(/\s+/).filter(Boolean);
  return ((words[0]?.[0] || '?') + (words[1]?.[0] || '')).toUpperCase();
}

// ---------------------------------------------------------------- one contact

export async function renderContact(seq, id) {
  setTitle('Contact');
  const heading = h('h1', {}, 'Contact');
  const crumb = h('li', { 'aria-current': 'page' }, 'Contact');
  const alert = alertBox();
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading…'));
  setMain(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('ol', {}, h('li', {}, h('a', { href: '/contacts' }, 'Contacts')), crumb)),
    h('div', { class: 'page-head' }, heading), alert, body);

  // No single-contact endpoint: find it in the list.
  let contacts, conversations, channels;
  try {
    [contacts, conversations, channels] = await Promise.all([
      api('GET', wsPath(`/contacts?limit=${LIMIT}`)),
      api('GET', wsPath(`/conversations?status=all&limit=${LIMIT}`)),
      api('GET', wsPath('/channels')).catch((error) => {
        if (error.redirected) throw error;
        return []; // only names for the identities; not worth failing the page
      }),
    ]);
  } catch (error) {
    if (seq !== app.seq) return;
    fill(body);
    body.removeAttribute('aria-busy');
    showError(alert, error);
    return;
  }
  if (seq !== app.seq) return;
  body.removeAttribute('aria-busy');
  const contact = contacts.find((c) => c.id === id);
  if (!contact) {
    heading.textContent = 'Contact not found';
    crumb.textContent = 'Not found';
    setTitle('Contact not found');
    fill(body, h('p', {}, 'There is no such contact in this workspace. ', h('a', { href: '/contacts' }, 'See all contacts')));
    return;
  }
  const name = contactName(contact);
  setTitle(`${name} · Contacts`);
  heading.textContent = name;
  crumb.textContent = name;
  const channelNames = new Map(channels.map((c) => [c.id, c.name]));
  const theirs = conversations.filter((conv) => conv.contact?.id === contact.id);

  const identities = contact.identities || [];
  fill(body,
    facts([['First seen', formatDate(contact.created_at)]]),
    h('section', { class: 'section', 'aria-labelledby': 'identities-title' },
      h('h2', { id: 'identities-title' }, 'Identities'),
      identities.length
        ? h('ul', { class: 'identities' }, identities.map((identity) => h('li', { class: 'card identity' },
          h('div', { class: 'provider-head' },
            badge({ id: identity.provider }),
            h('div', {},
              h('h3', {}, identity.display_name || (identity.username ? `@${identity.username}` : identity.provider_user_id)),
              h('p', { class: 'muted small' }, providerLabel(identity.provider),
                ' · ', channelNames.get(identity.channel_id) || 'Disconnected channel'))),
          facts([
            ['Username', identity.username ? `@${identity.username}` : null],
            ['User id', h('code', {}, identity.provider_user_id)],
          ]))))
        : h('p', { class: 'muted' }, 'No identities recorded.')),
    h('section', { class: 'section', 'aria-labelledby': 'conversations-title' },
      h('h2', { id: 'conversations-title' }, 'Conversations'),
      theirs.length
        ? h('ul', { class: 'contact-conversations' }, theirs.map((conv) => h('li', {},
          h('a', { class: 'contact-conversation', href: `/chat/${enc(conv.id)}`, 'data-id': conv.id },
            badge({ id: conv.provider }),
            h('span', { class: 'contact-body' },
              h('span', { class: 'contact-name' },
                conv.title || name,
                srOnly(`, ${providerLabel(conv.provider)}${conv.kind === 'group' ? ' group' : ''}. `)),
              h('span', { class: 'muted small conversation-preview' },
                conv.last_message
                  ? [conv.last_message.direction === 'out' ? 'You: ' : '', conv.last_message.text || 'Attachment']
                  : 'No messages yet')),
            h('span', { class: 'contact-conversation-side' },
              h('span', { class: `pill ${conv.status === 'resolved' ? 'pill-resolved' : 'pill-open'}` },
                conv.status === 'resolved' ? 'Resolved' : 'Open'),
              timeAgo(conv.last_message?.created_at || conv.updated_at, { class: 'muted small' }))))))
        : h('p', { class: 'muted' }, 'No conversations with this contact. Messages they write in groups appear in the group’s conversation.')));
}
