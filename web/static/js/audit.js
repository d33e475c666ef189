// Audit log (admins only): every state-changing action, login and
// refusal, newest first, with who, when, from where, what and the
// outcome; paged, filterable, and downloadable as CSV or JSON.

import {h, replace, ts, emptyRow, num} from './dom.js';
import {api, exportURL} from './api.js';

export const caseView = false;
export const role = 'admin';

const PAGE = 200;

export function mount(root) {
  let entries = [];
  let next = 0;
  const filter = h('input', {type: 'search', class: 'filter-input', id: 'audit-filter', placeholder: 'Filter: user, action, target, outcome…'});
  const more = h('button', {type: 'button', class: 'btn btn-small', id: 'audit-more', text: 'Older entries', hidden: true});
  const count = h('span', {class: 'muted small', id: 'audit-count'});
  const tbody = h('tbody');
  const table = h('table', {class: 'grid dense', id: 'audit-table'},
    h('thead', null, h('tr', null, h('th', {class: 'num', text: '#'}), h('th', {text: 'Time (UTC)'}), h('th', {text: 'User'}),
      h('th', {text: 'Role'}), h('th', {text: 'From'}), h('th', {text: 'Action'}), h('th', {text: 'Target'}),
      h('th', {text: 'Outcome'}), h('th', {text: 'Detail'}))),
    tbody);
  const download = (format) => () => window.location.assign(exportURL('/api/audit/export', {format}));
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Audit log'}),
      h('p', {class: 'muted', text: 'Who did what, when and from where: logins (failed ones too), uploads, deletions, tags, IOCs, user changes, exports and refused attempts.'})),
    h('section', {class: 'card', id: 'audit-card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Entries'}), count, h('span', {class: 'spacer'}), filter,
        h('button', {type: 'button', class: 'btn btn-small', id: 'audit-csv', text: 'Export CSV', onclick: download('csv')}),
        h('button', {type: 'button', class: 'btn btn-small', id: 'audit-json', text: 'Export JSON', onclick: download('json')})),
      h('div', {class: 'table-wrap'}, table), more));
  filter.addEventListener('input', render);
  more.addEventListener('click', () => load(next));

  function render() {
    const f = filter.value.toLowerCase();
    const shown = entries.filter((e) => !f || [e.actor, e.role, e.remote, e.action, e.target, e.outcome, e.detail]
      .some((v) => String(v || '').toLowerCase().includes(f)));
    count.textContent = num(entries.length) + ' loaded';
    if (!shown.length) { replace(tbody, emptyRow(9, entries.length ? 'No entries match.' : 'The audit log is empty.')); return; }
    replace(tbody, ...shown.map((e) => h('tr', {data: {seq: e.seq, outcome: e.outcome}},
      h('td', {class: 'num muted', text: e.seq}),
      h('td', {class: 'mono small nowrap', text: ts(e.time)}),
      h('td', {class: 'strong', title: e.actor, text: e.actor}),
      h('td', {class: 'small', text: e.role}),
      h('td', {class: 'mono small', text: e.remote}),
      h('td', {class: 'mono small', text: e.action}),
      h('td', {class: 'small', title: e.target, text: e.target}),
      h('td', null, h('span', {class: 'badge ' + outcomeClass(e.outcome), text: e.outcome})),
      h('td', {class: 'small muted detail-cell', title: e.detail || '', text: e.detail || ''}))));
  }

  async function load(before) {
    let page;
    try {
      page = await api.audit(before, PAGE);
    } catch (ex) {
      replace(tbody, emptyRow(9, 'Cannot read the audit log: ' + ex.message));
      return;
    }
    entries = before ? entries.concat(page.entries) : page.entries;
    next = page.next;
    more.hidden = !next;
    render();
  }
  load(0);
  return {};
}

function outcomeClass(o) {
  return {ok: 'st-completed', denied: 'st-failed', failed: 'st-duplicate', error: 'st-failed'}[o] || 'st-queued';
}
