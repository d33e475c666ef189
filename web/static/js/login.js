// Login: the only page shown without a session. The form posts JSON to
// /api/login; the server answers with the user, role and the CSRF token
// and sets the session cookie (HttpOnly, SameSite=Strict).

import {h, replace, field} from './dom.js';
import {api, setCSRF} from './api.js';

// mount shows the login form in root; onLogin(session) runs once the
// server accepts the credentials.
export function mount(root, onLogin, message) {
  const name = h('input', {type: 'text', id: 'login-name', autocomplete: 'username', spellcheck: 'false', maxlength: 64});
  const password = h('input', {type: 'password', id: 'login-password', autocomplete: 'current-password', maxlength: 1024});
  const err = h('div', {class: 'form-error', id: 'login-error', role: 'alert'});
  const btn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'login-btn', text: 'Log in'});
  const form = h('form', {class: 'card login-card', id: 'login-form'},
    h('div', {class: 'login-brand'}, h('span', {class: 'brand-mark', 'aria-hidden': 'true'}), h('span', {class: 'brand-name', text: 'casescope'})),
    h('h1', {text: 'Log in'}),
    message ? h('p', {class: 'muted', id: 'login-note', text: message}) : null,
    field('User name', name), field('Password', password), err,
    h('div', {class: 'form-row'}, btn),
    h('p', {class: 'muted small', text: 'Accounts are made by an admin (Users view) or with "casescope user add". ' +
      'The first admin\'s password was printed once when the server first started.'}));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const s = await api.login(name.value.trim(), password.value);
      setCSRF(s.csrf_token);
      password.value = '';
      onLogin(s);
    } catch (ex) {
      err.textContent = ex.status === 401 ? 'Wrong user name or password (or the account is disabled).' : ex.message;
      password.select();
    } finally {
      btn.disabled = false;
    }
  });
  replace(root, h('div', {class: 'login-wrap'}, form));
  (name.value ? password : name).focus();
  return {};
}
