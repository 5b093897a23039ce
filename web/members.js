// Settings -> Members: who is in the workspace and (owners) inviting someone
// with a one-time link; and /invite/{token}, where that link is accepted.

import {
  app, api, enc, wsPath, h, fill, alertBox, statusBox, loading, showError, busy, safe,
  setTitle, setMain, formatDate, navigate, workspace, canAdmin, storeWorkspace, ROLE_NAMES,
  loadSection,
} from './app.js';

const ROLE_ORDER = { owner: 0, admin: 1, agent: 2 };
const roleName = (role) => ROLE_NAMES[role] || role;

/** What each role may do, as the invite form explains it. */
const INVITE_ROLES = [
  { value: 'agent', label: 'Agent', help: 'Agent: reads and replies to conversations.' },
  { value: 'admin', label: 'Admin', help: 'Admin: also connects channels and turns providers on or off.' },
];

// ---------------------------------------------------------------- the page

export async function renderMembers(seq) {
  setTitle('Members');
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Members'),
    h('p', { class: 'lead' }, 'The people who can sign in to this workspace, and their roles.'));
  if (!canAdmin()) {
    setMain(head, h('p', { class: 'note' }, 'Only admins and owners can see the members of this workspace and invite people.'));
    return;
  }
  const owner = workspace()?.role === 'owner';
  const alert = alertBox();
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading members…'));
  const listHeading = h('h2', { id: 'members-title' }, 'Members');
  setMain(head,
    owner ? inviteSection() : h('p', { class: 'note' }, 'Only the workspace owner can invite people.'),
    h('section', { class: 'section members-section', 'aria-labelledby': 'members-title' }, listHeading, alert, body));

  const members = await loadSection(seq, body, alert, () => api('GET', wsPath('/members')));
  if (!members) return;
  listHeading.textContent = `Members (${members.length})`;
  const sorted = members.slice().sort((a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9)
    || a.email.localeCompare(b.email));
  fill(body, h('ul', { id: 'member-list', class: 'member-list', 'aria-labelledby': 'members-title' },
    sorted.map((member) => memberItem(member))));
}

function memberItem(member) {
  const you = member.user_id === app.me?.id;
  return h('li', { class: 'member', 'data-email': member.email, 'data-role': member.role },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, member.email.slice(0, 1).toUpperCase()),
    h('span', { class: 'member-email' }, member.email, you ? h('span', { class: 'muted' }, ' (you)') : null),
    h('span', { class: `pill pill-member-${member.role}` }, roleName(member.role)));
}

// ---------------------------------------------------------------- inviting

function inviteSection() {
  const email = h('input', {
    id: 'invite-email', name: 'email', type: 'email', required: true, autocomplete: 'off', spellcheck: 'false',
    maxlength: 254,
  });
  const role = h('select', { id: 'invite-role', name: 'role', 'aria-describedby': 'invite-role-help' },
    INVITE_ROLES.map((r) => h('option', { value: r.value }, r.label)));
  const submit = h('button', { id: 'invite-send', type: 'submit', class: 'button button-primary' }, 'Create invitation link');
  const alert = alertBox();
  const result = h('div', { class: 'invite-result' });
  const form = h('form', { class: 'stack invite-form', novalidate: true },
    h('div', { class: 'invite-fields' },
      h('div', { class: 'field invite-email' },
        h('label', { for: 'invite-email' }, 'Email'), email),
      h('div', { class: 'field invite-role' },
        h('label', { for: 'invite-role' }, 'Role'), role)),
    h('ul', { class: 'help role-help', id: 'invite-role-help' }, INVITE_ROLES.map((r) => h('li', {}, r.help))),
    alert, h('div', {}, submit));
  form.addEventListener('submit', safe(async (event) => {
    event.preventDefault();
    await busy(submit, 'Creating…', async () => {
      alert.textContent = '';
      const address = email.value.trim();
      if (!address || !email.checkValidity()) {
        alert.textContent = address ? `“${address}” is not an email address.` : 'Enter the email address of the person to invite.';
        email.focus();
        return;
      }
      fill(result);
      let invited;
      try {
        invited = await api('POST', wsPath('/invites'), { email: address, role: role.value });
      } catch (error) {
        showError(alert, error);
        if (error.status === 400) email.focus();
        return;
      }
      email.value = '';
      fill(result, inviteLink(invited));
      const link = result.querySelector('#invite-link');
      link.focus();
      link.setSelectionRange(0, 0); // show the link's start, not its end
      link.scrollLeft = 0;
    });
  }));
  return h('section', { class: 'card invite', 'aria-labelledby': 'invite-title' },
    h('h2', { id: 'invite-title' }, 'Invite someone'),
    h('p', { class: 'muted' }, 'Create a link for one person and send it to them yourself (Switchboard sends no email). They choose a password when they open it, and appear in the list below once they have.'),
    form, result);
}

/** The link from a 201, with a Copy button, as a channel's webhook URL is shown. */
function inviteLink(invited) {
  const url = `${location.origin}/invite/${enc(invited.token)}`;
  const input = h('input', {
    id: 'invite-link', type: 'text', readonly: true, value: url, class: 'mono', spellcheck: 'false',
    'aria-describedby': 'invite-link-note',
  });
  const copied = h('span', { class: 'copied', role: 'status' });
  const copy = h('button', { type: 'button', class: 'button small', id: 'invite-copy' }, 'Copy');
  copy.addEventListener('click', safe(async () => {
    copied.textContent = '';
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(input.value);
      copied.textContent = 'Copied.';
    } catch {
      input.focus();
      input.select();
      copied.textContent = 'Selected: press Ctrl+C (⌘C on a Mac) to copy.';
    }
  }));
  return h('div', { class: 'invite-created' },
    h('p', { class: 'notice', role: 'status' },
      `Invitation created for ${invited.email} as ${roleName(invited.role)}.`),
    h('div', { class: 'field webhook' },
      h('label', { for: 'invite-link' }, 'Invitation link'),
      h('div', { class: 'copy-row' }, input, copy),
      copied),
    h('p', { class: 'note', id: 'invite-link-note' },
      'This link is shown only once and works only once: copy it now and send it to ',
      h('strong', {}, invited.email), '. ',
      invited.expires_at ? ['It expires ', h('time', { datetime: invited.expires_at }, formatDate(invited.expires_at)), '.'] : null));
}

// ---------------------------------------------------------------- accepting

/** /invite/{token}: drawn without the shell and without asking who is signed in. */
export function renderAccept(token) {
  setTitle('Join a workspace');
  const password = h('input', {
    id: 'accept-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true,
    'aria-describedby': 'accept-password-help',
  });
  const confirm = h('input', {
    id: 'accept-confirm', name: 'confirm', type: 'password', autocomplete: 'new-password',
    'aria-describedby': 'accept-confirm-help',
  });
  const confirmField = h('div', { class: 'field' },
    h('label', { for: 'accept-confirm' }, 'Repeat the password'), confirm,
    h('p', { class: 'help', id: 'accept-confirm-help' }, 'For a new account, type it again to catch typos. Leave it empty if you entered your existing password.'));
  const submit = h('button', { id: 'accept-submit', type: 'submit', class: 'button button-primary' }, 'Join the workspace');
  const alert = h('p', { class: 'alert', role: 'alert', id: 'accept-error' });
  const hint = h('p', { class: 'muted small accept-hint' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'accept-password' }, 'Password'), password,
      h('p', { class: 'help', id: 'accept-password-help' },
        'Choose a password (at least 8 characters), or enter your existing Switchboard password if you already have an account.')),
    confirmField, alert, hint, submit);
  form.addEventListener('submit', safe(async (event) => {
    event.preventDefault();
    await busy(submit, 'Joining…', async () => {
      alert.textContent = '';
      fill(hint);
      if (!password.value) {
        alert.textContent = 'Enter a password.';
        password.focus();
        return;
      }
      if (!confirmField.hidden && confirm.value && confirm.value !== password.value) {
        alert.textContent = 'The two passwords differ. Type the same password in both fields.';
        confirm.select();
        confirm.focus();
        return;
      }
      let answer;
      try {
        answer = await api('POST', `/invites/${enc(token)}/accept`, { password: password.value }, { on401: 'throw' });
      } catch (error) {
        showError(alert, error);
        fill(hint, acceptHint(error.status));
        if (error.status === 403) {
          // The address has an account: only its existing password is wanted.
          confirm.value = '';
          confirmField.hidden = true;
          password.setAttribute('autocomplete', 'current-password');
        }
        password.select();
        password.focus();
        return;
      }
      if (answer && answer.workspace_id) storeWorkspace(answer.workspace_id);
      app.me = null;
      navigate('/chat', { replace: true });
    });
  }));
  setMain(h('div', { class: 'auth' },
    h('p', { class: 'brand brand-large' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'), 'Switchboard'),
    h('section', { class: 'card auth-card', 'aria-labelledby': 'accept-title' },
      h('h1', { id: 'accept-title' }, 'Join a workspace'),
      h('p', { class: 'muted' }, 'You were invited to a Switchboard workspace. Set your password to join it.'),
      form),
    h('p', { class: 'auth-foot small' }, 'Already joined? ', h('a', { href: '/login' }, 'Sign in'))));
  password.focus();
}

/** What to do next after a refusal, beside the server's own words. */
function acceptHint(status) {
  if (status === 404) return 'Check that the whole link was copied, or ask the workspace owner for a new one.';
  if (status === 409) return ['This link was used already. If it was you, ', h('a', { href: '/login' }, 'sign in'), ' instead; otherwise ask the workspace owner for a new invitation.'];
  if (status === 403) return 'Enter the password you already use for Switchboard, or ask the workspace owner to invite another address.';
  return null;
}
