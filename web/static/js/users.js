// Users (admins only): accounts with their roles, add one with a
// generated password shown once, change a role, disable or enable, reset
// a password. The server refuses anything that would leave no enabled
// admin.

import {h, replace, ts, ago, toast, emptyRow, field} from './dom.js';
import {api} from './api.js';

export const caseView = false;
export const role = 'admin';

const ROLES = [
  ['read-only', 'read-only: view, search, export'],
  ['analyst', 'analyst: cases, uploads, tags, IOCs'],
  ['admin', 'admin: users, audit log, folder import, everything'],
];

export function mount(root, app) {
  const name = h('input', {type: 'text', id: 'new-user-name', placeholder: 'e.g. j.doe', maxlength: 64, autocomplete: 'off', spellcheck: 'false'});
  const roleSel = h('select', {id: 'new-user-role', 'aria-label': 'Role'}, ROLES.map(([v, label]) => h('option', {value: v, text: label})));
  roleSel.value = 'analyst';
  const err = h('div', {class: 'form-error', id: 'new-user-error', role: 'alert'});
  const secret = h('div', {class: 'secret-box', id: 'secret-box', hidden: true});
  const form = h('form', {class: 'card', id: 'new-user-form'},
    h('h2', {class: 'card-title', text: 'Add a user'}),
    h('div', {class: 'form-row'}, field('User name', name, 'letters, digits, - _ . @'), field('Role', roleSel),
      h('button', {type: 'submit', class: 'btn btn-primary', id: 'add-user', text: 'Add user'})),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const res = await api.createUser(name.value.trim(), roleSel.value);
      showSecret(res.user.name, res.password);
      name.value = '';
      load();
    } catch (ex) {
      err.textContent = ex.message;
    }
  });

  const tbody = h('tbody');
  const table = h('table', {class: 'grid', id: 'users-table'},
    h('thead', null, h('tr', null, h('th', {text: 'User'}), h('th', {text: 'Role'}), h('th', {text: 'Status'}),
      h('th', {text: 'Last login'}), h('th', {text: 'Created (UTC)'}), h('th', {text: ''}))),
    tbody);
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Users'}),
      h('p', {class: 'muted', text: 'Who may use casescope, and what they may do. Every change is recorded in the audit log.'})),
    form, secret,
    h('section', {class: 'card', id: 'users-card'}, h('div', {class: 'table-wrap'}, table)));

  // showSecret shows a generated password once; it is not kept anywhere.
  function showSecret(user, password) {
    const pw = h('code', {class: 'secret', id: 'secret-password', text: password});
    replace(secret,
      h('div', null, 'Password for ', h('strong', {text: user}), ' (shown only now; give it to them over a safe channel):'),
      h('div', {class: 'secret-row'}, pw,
        h('button', {type: 'button', class: 'btn btn-small', text: 'Copy', onclick: async () => {
          try { await navigator.clipboard.writeText(password); toast('Copied', 'ok', 2000); } catch (e) { toast('Copy failed: select and copy by hand', 'error'); }
        }}),
        h('button', {type: 'button', class: 'btn btn-small', text: 'Done', onclick: () => { replace(secret); secret.hidden = true; }})));
    secret.hidden = false;
  }

  async function change(u, patch, okText) {
    try {
      await api.updateUser(u.name, patch);
      toast(okText, 'ok', 3000);
    } catch (ex) {
      toast(ex.message, 'error');
    }
    load();
  }

  function row(u) {
    const self = app.user && app.user.user.toLowerCase() === u.name.toLowerCase();
    const sel = h('select', {'aria-label': 'Role of ' + u.name, class: 'role-select'},
      ROLES.map(([v]) => h('option', {value: v, text: v})));
    sel.value = u.role;
    sel.addEventListener('change', () => change(u, {role: sel.value}, u.name + ' is now ' + sel.value));
    return h('tr', {data: {user: u.name}, class: u.disabled ? 'is-disabled' : ''},
      h('td', null, h('span', {class: 'strong', text: u.name}), self ? h('span', {class: 'muted small', text: ' (you)'}) : null),
      h('td', null, sel),
      h('td', null, h('span', {class: 'badge ' + (u.disabled ? 'st-failed' : 'st-completed'), text: u.disabled ? 'disabled' : 'enabled'})),
      h('td', {class: 'small', title: u.last_login || '', text: u.last_login ? ago(u.last_login) : 'never'}),
      h('td', {class: 'mono small', text: ts(u.created, false)}),
      h('td', {class: 'actions'},
        h('button', {type: 'button', class: 'btn btn-tiny', text: u.disabled ? 'Enable' : 'Disable',
          onclick: () => change(u, {disabled: !u.disabled}, (u.disabled ? 'Enabled ' : 'Disabled ') + u.name)}),
        h('button', {type: 'button', class: 'btn btn-tiny', text: 'Reset password', onclick: async () => {
          if (!window.confirm('Give ' + u.name + ' a new random password? The old one stops working.')) return;
          try {
            const res = await api.resetPassword(u.name);
            showSecret(u.name, res.password);
          } catch (ex) {
            toast(ex.message, 'error');
          }
        }})));
  }

  async function load() {
    let users;
    try {
      users = await api.users();
    } catch (ex) {
      replace(tbody, emptyRow(6, 'Cannot list users: ' + ex.message));
      return;
    }
    users.sort((a, b) => a.name.localeCompare(b.name));
    replace(tbody, ...(users.length ? users.map(row) : [emptyRow(6, 'No users.')]));
  }
  load();
  return {};
}
