// Accounts: every account named in the case's events (subject, target,
// User, RDP user) with where it appears, its logons by type and what
// kind of account it is. A row opens a search for its events.

import {h, replace, num, ts, emptyRow} from './dom.js';
import {api} from './api.js';
import {accountQuery, counts, clickRow, head, total, LOGON_TYPES} from './triage.js';

export const caseView = true;

export function mount(root, app) {
  const filter = h('input', {type: 'search', class: 'filter-input', id: 'account-filter', placeholder: 'Filter accounts…'});
  const hideMachine = h('input', {type: 'checkbox', id: 'hide-machine', checked: true});
  const hideBuiltin = h('input', {type: 'checkbox', id: 'hide-builtin'});
  const info = h('span', {class: 'muted small', id: 'account-info'});
  const tbody = h('tbody');
  const table = h('table', {class: 'grid dense', id: 'accounts-table'},
    head('Account', 'SID', 'Kind', 'num:Events', 'Logons by type', 'Failed logons', 'num:RDP', 'Computers', 'First seen (UTC)', 'Last seen (UTC)'), tbody);
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Accounts'}),
      h('p', {class: 'muted', text: 'Every account the case’s events name, as recorded. Open one to search its events.'})),
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Accounts'}), info, h('span', {class: 'spacer'}),
        h('label', {class: 'small check'}, hideMachine, ' hide machine accounts'),
        h('label', {class: 'small check'}, hideBuiltin, ' hide built-in'), filter),
      h('div', {class: 'table-wrap'}, table)));
  replace(tbody, emptyRow(10, 'Counting…'));
  let accounts = [];
  const typeLabel = (k) => LOGON_TYPES[k] ? k + ' ' + LOGON_TYPES[k] : k;
  const render = () => {
    const f = filter.value.toLowerCase();
    const shown = accounts.filter((a) => (!hideMachine.checked || !a.machine) && (!hideBuiltin.checked || !a.built_in) &&
      (!f || (a.domain + '\\' + a.account).toLowerCase().includes(f) || a.sid.toLowerCase().includes(f) ||
        Object.keys(a.computers).some((c) => c.toLowerCase().includes(f))));
    info.textContent = num(shown.length) + ' of ' + num(accounts.length) + ' accounts';
    if (!accounts.length) { replace(tbody, emptyRow(10, 'No accounts in this case’s events.')); return; }
    if (!shown.length) { replace(tbody, emptyRow(10, 'No accounts match.')); return; }
    replace(tbody, shown.map((a) => {
      const open = () => app.go('search', {q: accountQuery(a)});
      const kinds = [a.machine && 'machine', a.built_in && 'built-in', a.local && 'local'].filter(Boolean);
      return h('tr', clickRow({data: {account: a.account, domain: a.domain}}, open),
        h('td', null, h('span', {class: 'muted', text: a.domain ? a.domain + '\\' : ''}), h('span', {class: 'strong', text: a.account})),
        h('td', {class: 'mono small nowrap', text: a.sid || '–'}),
        h('td', null, kinds.map((k) => h('span', {class: 'badge kind-' + k.replace('-', ''), text: k}))),
        h('td', {class: 'num strong', text: num(a.events)}),
        h('td', {class: 'small'}, total(a.logons) ? counts(a.logons, 3, typeLabel) : h('span', {class: 'muted', text: '–'})),
        h('td', {class: 'small'}, total(a.failed_logons) ? counts(a.failed_logons, 3, typeLabel) : h('span', {class: 'muted', text: '–'})),
        h('td', {class: 'num', text: a.rdp_logons ? num(a.rdp_logons) : '–'}),
        h('td', {class: 'small'}, counts(a.computers, 2)),
        h('td', {class: 'mono small nowrap', text: ts(a.first, false)}),
        h('td', {class: 'mono small nowrap', text: ts(a.last, false)}));
    }));
  };
  for (const el of [filter, hideMachine, hideBuiltin]) el.addEventListener('input', render);
  (async () => {
    try {
      accounts = await api.accounts(app.caseId);
    } catch (ex) {
      replace(tbody, emptyRow(10, 'Cannot load accounts: ' + ex.message));
      return;
    }
    render();
  })();
  return {};
}
