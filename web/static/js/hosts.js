// Hosts: every computer in the case's events, with its event count,
// first/last seen, channels, Sigma hits by level, IOC hits and the
// sources that logged on to it. A row opens a search scoped to it.

import {h, replace, num, ts, levelBadge, emptyRow, LEVELS} from './dom.js';
import {api} from './api.js';
import {q, counts, clickRow, head} from './triage.js';

export const caseView = true;

export function mount(root, app) {
  const filter = h('input', {type: 'search', class: 'filter-input', id: 'host-filter', placeholder: 'Filter hosts…'});
  const info = h('span', {class: 'muted small', id: 'host-info'});
  const tbody = h('tbody');
  const table = h('table', {class: 'grid dense', id: 'hosts-table'},
    head('Computer', 'num:Events', 'First seen (UTC)', 'Last seen (UTC)', 'Channels', 'Sigma', 'num:IOC hits', 'Logon sources'), tbody);
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Hosts'}),
      h('p', {class: 'muted', text: 'Every computer named in this case’s events. Open one to search its events.'})),
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Computers'}), info, h('span', {class: 'spacer'}), filter),
      h('div', {class: 'table-wrap'}, table)));
  // Machines seen only as logon sources (workstation names and IPs of
  // 4624/4625 and RDP events) that have no events of their own here.
  const srcBody = h('tbody');
  root.appendChild(h('section', {class: 'card'},
    h('h2', {class: 'card-title', text: 'Seen only as logon sources'}),
    h('p', {class: 'muted small', text: 'Workstation names and IP addresses that logged on to a host of this case but have no events in it.'}),
    h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'sources-table'},
      head('Source', 'num:Logons', 'To hosts'), srcBody))));
  const renderSources = () => {
    const known = new Set(hosts.flatMap((x) => [x.computer.toLowerCase(), x.computer.split('.')[0].toLowerCase()]));
    const by = new Map();
    for (const x of hosts) {
      for (const [src, n] of Object.entries(x.logon_sources || {})) {
        if (known.has(src.toLowerCase()) || known.has(src.split('.')[0].toLowerCase())) continue;
        const e = by.get(src) || {n: 0, to: {}};
        e.n += n;
        e.to[x.computer] = (e.to[x.computer] || 0) + n;
        by.set(src, e);
      }
    }
    const rows = [...by.entries()].sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1));
    if (!rows.length) { replace(srcBody, emptyRow(3, 'None: every logon source has events in this case.')); return; }
    replace(srcBody, rows.map(([src, e]) => h('tr', clickRow({data: {source: src}}, () => app.go('search', {q: 'IpAddress:' + q(src) + ' OR WorkstationName:' + q(src)})),
      h('td', {class: 'mono', text: src}), h('td', {class: 'num strong', text: num(e.n)}), h('td', {class: 'small'}, counts(e.to, 3)))));
  };
  replace(tbody, emptyRow(8, 'Counting…'));
  let hosts = [];
  const render = () => {
    const f = filter.value.toLowerCase();
    const shown = hosts.filter((x) => !f || x.computer.toLowerCase().includes(f) ||
      Object.keys(x.logon_sources || {}).some((s) => s.toLowerCase().includes(f)));
    info.textContent = num(shown.length) + ' of ' + num(hosts.length) + ' hosts';
    if (!hosts.length) { replace(tbody, emptyRow(8, 'No events in this case yet.')); return; }
    if (!shown.length) { replace(tbody, emptyRow(8, 'No hosts match.')); return; }
    replace(tbody, shown.map((x) => {
      const open = () => app.go('search', {q: 'Computer:' + q(x.computer)});
      const sigma = LEVELS.filter((l) => x.sigma && x.sigma[l]).map((l) => levelBadge(l, x.sigma[l]));
      return h('tr', clickRow({data: {computer: x.computer}}, open),
        h('td', {class: 'strong', text: x.computer || '(none)'}),
        h('td', {class: 'num strong', text: num(x.events)}),
        h('td', {class: 'mono small nowrap', text: ts(x.first, false)}),
        h('td', {class: 'mono small nowrap', text: ts(x.last, false)}),
        h('td', {class: 'small'}, counts(x.channels, 2)),
        h('td', null, sigma.length ? sigma : h('span', {class: 'muted', text: '–'})),
        h('td', {class: 'num', text: x.ioc_hits ? num(x.ioc_hits) : '–'}),
        h('td', {class: 'small'}, counts(x.logon_sources, 3)));
    }));
  };
  filter.addEventListener('input', render);
  (async () => {
    try {
      hosts = await api.hosts(app.caseId);
    } catch (ex) {
      replace(tbody, emptyRow(8, 'Cannot load hosts: ' + ex.message));
      return;
    }
    render();
    renderSources();
  })();
  return {};
}
