// Logon summary: Security 4624 successes and 4625 failures grouped by
// computer, account, logon type and source, with 4648 explicit
// credentials and RDP (1149, 21/22/25) in rows of their own. Filters
// narrow the table; a row opens a search for exactly its events.

import {h, replace, num, ts, emptyRow} from './dom.js';
import {api} from './api.js';
import {logonQuery, logonTypeLabel, clickRow, head} from './triage.js';

export const caseView = true;

const KINDS = [
  ['', 'All events'], ['4624', '4624 logon'], ['4625', '4625 failed logon'], ['4648', '4648 explicit credentials'],
  ['rdp', 'RDP (1149, 21, 22, 25)'],
];

function opt(value, text) { return h('option', {value, text}); }

export function mount(root, app) {
  const result = h('select', {id: 'logon-result', 'aria-label': 'Result'}, opt('', 'Success and failure'), opt('success', 'Success'), opt('failure', 'Failure'));
  const kind = h('select', {id: 'logon-kind', 'aria-label': 'Event'}, KINDS.map(([v, t]) => opt(v, t)));
  const ltype = h('select', {id: 'logon-type', 'aria-label': 'Logon type'}, opt('', 'Any logon type'));
  const filter = h('input', {type: 'search', class: 'filter-input', id: 'logon-filter', placeholder: 'Account, computer, source…'});
  const cards = h('div', {class: 'stat-cards', id: 'logon-cards'});
  const info = h('span', {class: 'muted small', id: 'logon-info'});
  const tbody = h('tbody');
  const table = h('table', {class: 'grid dense', id: 'logons-table'},
    head('Result', 'Event', 'Computer', 'Account', 'Logon type', 'Source IP', 'Source computer', 'num:Count', 'First (UTC)', 'Last (UTC)', 'Failure reasons'), tbody);
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Logons'}),
      h('p', {class: 'muted', text: 'Who logged on where, from where, and how often. Values as recorded ("-" is Windows’ empty). Open a row to search its events.'})),
    cards,
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Logon summary'}), info, h('span', {class: 'spacer'}),
        result, kind, ltype, filter),
      h('div', {class: 'table-wrap'}, table)));
  replace(tbody, emptyRow(11, 'Counting…'));
  let rows = [];
  const match = (l) => {
    const f = filter.value.toLowerCase();
    const k = kind.value;
    return (!result.value || l.result === result.value) &&
      (!k || (k === 'rdp' ? [1149, 21, 22, 25].includes(l.event_id) : String(l.event_id) === k)) &&
      (!ltype.value || String(l.logon_type) === ltype.value) &&
      (!f || [l.computer, l.domain + '\\' + l.account, l.source_ip, l.source_computer].some((s) => s.toLowerCase().includes(f)));
  };
  const render = () => {
    const shown = rows.filter(match);
    const sum = (list, fn) => list.filter(fn).reduce((a, l) => a + l.count, 0);
    replace(cards,
      stat('Successful logons (4624)', sum(shown, (l) => l.event_id === 4624), 'ok'),
      stat('Failed logons (4625)', sum(shown, (l) => l.event_id === 4625), 'bad'),
      stat('Explicit credentials (4648)', sum(shown, (l) => l.event_id === 4648), ''),
      stat('RDP events', sum(shown, (l) => [1149, 21, 22, 25].includes(l.event_id)), ''),
      stat('Accounts', new Set(shown.map((l) => l.domain + '\\' + l.account)).size, ''));
    info.textContent = num(shown.length) + ' of ' + num(rows.length) + ' rows';
    if (!rows.length) { replace(tbody, emptyRow(11, 'No logon events in this case.')); return; }
    if (!shown.length) { replace(tbody, emptyRow(11, 'No rows match the filters.')); return; }
    replace(tbody, shown.map((l) => {
      const open = () => app.go('search', {q: logonQuery(l)});
      return h('tr', clickRow({class: 'clickable res-' + l.result, data: {result: l.result, eid: l.event_id, count: l.count}}, open),
        h('td', null, h('span', {class: 'badge res-' + l.result, text: l.result})),
        h('td', {class: 'mono', text: String(l.event_id)}),
        h('td', {text: l.computer}),
        h('td', null, h('span', {class: 'muted', text: l.domain ? l.domain + '\\' : ''}), h('span', {class: 'strong', text: l.account})),
        h('td', {class: 'small nowrap', text: logonTypeLabel(l.logon_type)}),
        h('td', {class: 'mono small', text: l.source_ip}),
        h('td', {class: 'small', text: l.source_computer}),
        h('td', {class: 'num strong', text: num(l.count)}),
        h('td', {class: 'mono small nowrap', text: ts(l.first, false)}),
        h('td', {class: 'mono small nowrap', text: ts(l.last, false)}),
        h('td', {class: 'small'}, (l.reasons || []).map((r) => h('span', {class: 'reason', title: r.code, data: {code: r.code}},
          h('span', {class: 'reason-text', text: r.reason}), h('span', {class: 'muted', text: ' ' + r.code + ' ×' + num(r.count)})))));
    }));
  };
  for (const el of [result, kind, ltype]) el.addEventListener('change', render);
  filter.addEventListener('input', render);
  (async () => {
    try {
      rows = await api.logons(app.caseId);
    } catch (ex) {
      replace(tbody, emptyRow(11, 'Cannot load logons: ' + ex.message));
      return;
    }
    const types = [...new Set(rows.filter((l) => l.logon_type !== null).map((l) => l.logon_type))].sort((a, b) => a - b);
    for (const t of types) ltype.appendChild(opt(String(t), logonTypeLabel(t)));
    render();
  })();
  return {};
}

function stat(label, n, cls) {
  return h('div', {class: 'stat-card ' + (cls ? 'stat-' + cls : '')}, h('span', {class: 'stat-n', text: num(n)}), h('span', {class: 'stat-label', text: label}));
}
