// casescope UI: the login page, a hash router over views, the top bar
// (case, live counts, engine status, user), theme and keyboard shortcuts.
//
// The server enforces every permission; the UI only hides what the role
// cannot use (body[data-role] and the needs-* classes in app.css, and
// app.can in the views).

import {h, $, $$, replace, num, poll, levelBadge, toast, LEVELS} from './dom.js';
import {api, setCSRF, onUnauthorized} from './api.js';
import * as loginView from './login.js';
import * as casesView from './cases.js';
import * as evidenceView from './evidence.js';
import * as searchView from './search.js';
import * as detectionsView from './detections.js';
import * as iocsView from './iocs.js';
import * as timelineView from './timeline.js';
import * as hostsView from './hosts.js';
import * as accountsView from './accounts.js';
import * as logonsView from './logons.js';
import * as metricsView from './metrics.js';
import * as attackView from './attack.js';
import * as suppressView from './suppress.js';
import * as dashboardView from './dashboard.js';
import * as usersView from './users.js';
import * as auditView from './audit.js';

const VIEWS = {
  cases: casesView, evidence: evidenceView, search: searchView,
  detections: detectionsView, iocs: iocsView, timeline: timelineView, dashboard: dashboardView,
  hosts: hostsView, accounts: accountsView, logons: logonsView, metrics: metricsView, attack: attackView, suppressions: suppressView,
  users: usersView, audit: auditView,
};

const RANK = {'read-only': 1, analyst: 2, admin: 3};

const app = {
  user: null,       // {user, role, csrf_token} while logged in
  caseId: null,     // open case ID (string of digits) or null
  caseStats: null,  // GET /api/cases/{id}
  inCase: false,    // the view shown is a case's
  system: null,     // GET /api/system
  current: null,    // {name, handle}
  statsListeners: new Set(),

  // can reports whether the logged-in user may act with role: in an
  // open case, by their access to it (the lesser of their global role
  // and their membership); elsewhere by their global role.
  can(role) {
    return !!this.user && (RANK[this.role()] || 0) >= (RANK[role] || 99);
  },

  // role is the role the user acts with now (see can).
  role() {
    if (!this.user) return '';
    if (this.inCase && this.caseStats && this.caseStats.access && String(this.caseStats.id) === String(this.caseId)) return this.caseStats.access;
    return this.user.role;
  },

  // go navigates to a view: go('search', {q: 'EventID:4624'}) within the
  // open case, or go('cases').
  go(view, params, caseId) {
    const id = caseId ?? this.caseId;
    let hash = VIEWS[view].caseView ? '#/case/' + encodeURIComponent(id) + '/' + view : '#/' + view;
    const qs = params ? new URLSearchParams(params).toString() : '';
    if (qs) hash += '?' + qs;
    if (location.hash === hash) route(); else location.hash = hash;
  },

  // setParams records a view's state in the address without re-routing,
  // so reloads and links keep it.
  setParams(params) {
    const base = location.hash.split('?')[0];
    const qs = new URLSearchParams(params).toString();
    history.replaceState(null, '', base + (qs ? '?' + qs : ''));
  },

  // refreshCase re-reads the open case's counts now.
  async refreshCase() {
    if (!this.caseId) return;
    const id = this.caseId;
    try {
      const st = await api.caseStats(id);
      if (id !== this.caseId) return;
      this.caseStats = st;
      // The page hides what the case access does not allow (app.css's
      // needs-* classes read body[data-role]).
      document.body.dataset.role = this.role();
      renderCaseBar();
      for (const fn of this.statsListeners) fn(st);
    } catch (e) {
      if (e.status === 404) {
        toast('Case ' + id + ' does not exist', 'error');
        this.go('cases');
      }
    }
  },
};

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(qs || '');
  if (parts[0] === 'case' && parts[1] && /^\d+$/.test(parts[1])) {
    const view = VIEWS[parts[2]] && VIEWS[parts[2]].caseView ? parts[2] : 'search';
    return {view, caseId: parts[1], params};
  }
  const view = VIEWS[parts[0]] && !VIEWS[parts[0]].caseView ? parts[0] : 'cases';
  return {view, caseId: null, params};
}

let stopCasePoll = null;

function unmountView() {
  if (app.current && app.current.handle && app.current.handle.unmount) app.current.handle.unmount();
  app.current = null;
  app.statsListeners.clear();
}

function route() {
  if (!app.user) return;
  const r = parseHash();
  if (VIEWS[r.view].role && !app.can(VIEWS[r.view].role)) {
    app.go('cases');
    return;
  }
  unmountView();
  if (r.caseId !== null && r.caseId !== app.caseId) {
    app.caseId = r.caseId;
    app.caseStats = null;
    if (stopCasePoll) stopCasePoll();
    stopCasePoll = poll(() => app.refreshCase(), 2000);
  }
  app.inCase = r.caseId !== null;
  document.body.dataset.role = app.role();
  renderCaseBar();
  for (const b of $$('.nav-item')) {
    b.classList.toggle('active', b.dataset.view === r.view);
    if (b.dataset.caseOnly !== undefined) b.hidden = !app.caseId;
    if (b.dataset.needs) b.hidden = !app.can(b.dataset.needs);
  }
  for (const s of $$('.nav-sep[data-needs]')) s.hidden = !app.can(s.dataset.needs);
  for (const s of $$('.nav-sep[data-case-only]')) s.hidden = !app.caseId;
  const main = $('#main');
  replace(main);
  main.className = 'main view-' + r.view;
  const handle = VIEWS[r.view].mount(main, app, r.params) || {};
  app.current = {name: r.view, handle};
  document.title = (app.caseStats ? app.caseStats.name + ' · ' : '') + r.view + ' · casescope';
}

function renderCaseBar() {
  const sw = $('#case-switch');
  const stats = $('#case-stats');
  if (!app.caseId) {
    sw.hidden = true;
    replace(stats);
    return;
  }
  sw.hidden = false;
  const st = app.caseStats;
  $('#case-name').textContent = st ? st.name : 'case ' + app.caseId;
  if (!st) return;
  const items = [
    stat('Files', num(st.files), st.hidden_files ? num(st.hidden_files) + ' hidden' : ''),
    stat('Events', num(st.events)),
  ];
  // A closed or archived case refuses changes; say so wherever it is open.
  if (st.status === 'closed' || st.status === 'archived') items.unshift(stat('Status', st.status, 'read-only: reopen it on the Cases page', 'bad'));
  if (st.pending_files) items.push(stat('Processing', num(st.pending_files), '', 'busy'));
  if (st.failed_files) items.push(stat('Failed', num(st.failed_files), '', 'bad'));
  // Events by their highest Sigma level; Detections counts rule hits
  // (one event can hit several rules), so its numbers are larger.
  const sig = h('span', {class: 'stat stat-sigma', id: 'stat-sigma',
    title: 'Events by their highest Sigma level. Detections counts rule hits: one event can hit several rules.'},
  h('span', {class: 'stat-k', text: 'Sigma events'}));
  let any = false;
  for (const l of LEVELS) {
    const n = (st.sigma_by_level || {})[l];
    if (n) { sig.appendChild(levelBadge(l, n)); any = true; }
  }
  if (!any) sig.appendChild(h('span', {class: 'stat-v muted', text: 'none'}));
  items.push(sig);
  items.push(stat('IOC events', num(st.ioc_events), '', st.ioc_events ? 'warn' : ''));
  items.push(stat('Tagged', num(st.tagged_events)));
  replace(stats, ...items);
  if (app.current) document.title = st.name + ' · ' + app.current.name + ' · casescope';
}

function stat(k, v, sub, cls) {
  return h('span', {class: 'stat' + (cls ? ' stat-' + cls : '')},
    h('span', {class: 'stat-k', text: k}), h('span', {class: 'stat-v', text: v}),
    sub ? h('span', {class: 'stat-sub', text: sub}) : null);
}

async function refreshSystem() {
  if (!app.user) return;
  try {
    const s = await api.system();
    app.system = s;
    const pill = $('#sys-pill');
    const busy = s.active_workers > 0 || s.pending_files > 0;
    pill.className = 'sys-pill ' + (s.throttled || s.paused ? 'sys-throttled' : busy ? 'sys-busy' : 'sys-idle');
    pill.title = s.paused ? s.paused.reason : '';
    const parts = [];
    if (busy) {
      parts.push(s.active_workers + '/' + s.max_workers + ' workers');
      if (s.pending_files) parts.push(num(s.pending_files) + ' queued');
      if (s.events_per_second) parts.push(num(Math.round(s.events_per_second)) + ' ev/s');
    } else {
      parts.push('idle');
    }
    if (s.throttled) parts.push('throttled');
    if (s.paused) parts.push(s.paused.write_failed ? 'intake stopped: write failed' : 'paused: disk space');
    pill.textContent = parts.join(' · ');
    $('#nav-foot').textContent = 'casescope ' + (s.version || '');
  } catch (e) {
    if (e.status === 401) return;
    const pill = $('#sys-pill');
    pill.className = 'sys-pill sys-down';
    pill.textContent = 'server unreachable';
  }
}

let stopSystemPoll = null;

// loggedIn starts the app for session s.
function loggedIn(s) {
  app.user = s;
  setCSRF(s.csrf_token);
  document.body.dataset.role = s.role;
  document.body.classList.remove('logged-out');
  $('#user-name').textContent = s.user;
  $('#user-role').textContent = s.role;
  $('#user-box').hidden = false;
  if (!stopSystemPoll) stopSystemPoll = poll(refreshSystem, 2000);
  route();
}

// showLogin ends the app's view of the session and shows the login page.
function showLogin(message) {
  unmountView();
  app.user = null;
  app.caseId = null;
  app.caseStats = null;
  setCSRF('');
  if (stopCasePoll) { stopCasePoll(); stopCasePoll = null; }
  if (stopSystemPoll) { stopSystemPoll(); stopSystemPoll = null; }
  delete document.body.dataset.role;
  document.body.classList.add('logged-out');
  $('#user-box').hidden = true;
  renderCaseBar();
  for (const b of $$('.nav-item')) b.classList.remove('active');
  const d = $('#account-dialog');
  if (d.open) d.close();
  const main = $('#main');
  main.className = 'main view-login';
  document.title = 'Log in · casescope';
  loginView.mount(main, loggedIn, message);
}

async function logout() {
  try {
    await api.logout();
  } catch (e) {
    // The session is gone either way once the page forgets it.
  }
  showLogin('You are logged out.');
}

// initAccount wires the account dialog: change one's own password.
function initAccount() {
  const dialog = $('#account-dialog');
  const form = $('#password-form');
  const err = $('#password-error');
  $('#user-btn').addEventListener('click', () => {
    form.reset();
    err.textContent = '';
    $('#account-title').textContent = app.user ? app.user.user + ' · ' + app.user.role : '';
    dialog.showModal();
  });
  $('#account-close').addEventListener('click', () => dialog.close());
  $('#logout-btn').addEventListener('click', logout);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const cur = $('#pw-current').value;
    const next = $('#pw-new').value;
    if (next !== $('#pw-confirm').value) { err.textContent = 'The new passwords differ.'; return; }
    try {
      await api.changePassword(cur, next);
      dialog.close();
      toast('Password changed', 'ok');
    } catch (ex) {
      err.textContent = ex.message;
    }
  });
}

// Theme: the OS preference unless the analyst picked one.
function applyTheme(t) {
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}

function effectiveTheme() {
  const t = document.documentElement.dataset.theme;
  if (t) return t;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

function initTheme() {
  let saved = null;
  try { saved = localStorage.getItem('casescope-theme'); } catch (e) { saved = null; }
  applyTheme(saved);
  $('#theme-btn').addEventListener('click', () => {
    const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
    applyTheme(next);
    try { localStorage.setItem('casescope-theme', next); } catch (e) { /* private mode */ }
  });
}

function typing(e) {
  const t = e.target;
  return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

let gPending = false;

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || !app.user) return;
  const help = $('#help-dialog');
  if (help.open || $('#account-dialog').open) return;
  const handle = app.current && app.current.handle;
  if (e.key === 'Escape' && handle && handle.onKey && handle.onKey(e)) { e.preventDefault(); return; }
  if (typing(e)) return;
  if (gPending) {
    gPending = false;
    const map = {c: 'cases', e: 'evidence', s: 'search', d: 'detections', i: 'iocs', t: 'timeline', b: 'dashboard', u: 'users', a: 'audit'};
    const v = map[e.key];
    if (v && (!VIEWS[v].caseView || app.caseId) && (!VIEWS[v].role || app.can(VIEWS[v].role))) { e.preventDefault(); app.go(v); }
    return;
  }
  if (e.key === '?') { e.preventDefault(); help.showModal(); return; }
  if (e.key === 'g') { gPending = true; setTimeout(() => { gPending = false; }, 1500); return; }
  if (handle && handle.onKey && handle.onKey(e)) { e.preventDefault(); return; }
  if (e.key === '/' && app.caseId) { e.preventDefault(); app.go('search'); }
}

async function init() {
  initTheme();
  initAccount();
  $('#brand').addEventListener('click', () => app.go('cases'));
  $('#case-name').addEventListener('click', () => app.go('cases'));
  $('#help-btn').addEventListener('click', () => $('#help-dialog').showModal());
  for (const b of $$('.nav-item')) b.addEventListener('click', () => app.go(b.dataset.view));
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', route);
  // A file dropped outside the drop zone must not make the browser
  // navigate away to it.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  onUnauthorized(() => {
    if (app.user) showLogin('Your session ended (idle too long, logged out elsewhere, or your account changed). Log in again.');
  });
  let s;
  try {
    s = await api.session();
  } catch (e) {
    showLogin(e.status === 401 ? '' : 'Cannot reach the casescope server: ' + e.message);
    return;
  }
  loggedIn(s);
}

init();
