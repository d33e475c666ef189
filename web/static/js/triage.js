// Shared pieces of the triage views (hosts, accounts, logons, metrics):
// query building for the click-through searches, and small cells.

import {h, num} from './dom.js';

// q quotes a value for the query language: inside quotes only \" and \\
// are escapes, and an empty value ("") matches an absent or empty field.
export function q(v) { return '"' + String(v === undefined || v === null ? '' : v).replace(/["\\]/g, '\\$&') + '"'; }

// LOGON_TYPES names Windows logon types.
export const LOGON_TYPES = {
  0: 'System', 2: 'Interactive', 3: 'Network', 4: 'Batch', 5: 'Service', 7: 'Unlock',
  8: 'NetworkCleartext', 9: 'NewCredentials', 10: 'RemoteInteractive', 11: 'CachedInteractive',
  12: 'CachedRemoteInteractive', 13: 'CachedUnlock',
};

export function logonTypeLabel(t) {
  if (t === null || t === undefined) return '–';
  return LOGON_TYPES[t] ? t + ' ' + LOGON_TYPES[t] : String(t);
}

// logonQuery is the search that finds exactly the events of a logon
// summary row (engine/triage: which fields each event ID's row reads).
export function logonQuery(l) {
  const parts = ['EventID:' + l.event_id, 'Computer:' + q(l.computer)];
  switch (l.event_id) {
    case 4624: case 4625:
      parts.push('Channel:"Security"', 'TargetUserName:' + q(l.account), 'TargetDomainName:' + q(l.domain),
        'LogonType:' + q(l.logon_type === null ? '' : l.logon_type), 'IpAddress:' + q(l.source_ip),
        'WorkstationName:' + q(l.source_computer));
      break;
    case 4648:
      parts.push('Channel:"Security"', 'TargetUserName:' + q(l.account), 'TargetDomainName:' + q(l.domain), 'IpAddress:' + q(l.source_ip));
      break;
    case 1149:
      parts.push('Param1:' + q(l.account), 'Param2:' + q(l.domain), 'Param3:' + q(l.source_ip));
      break;
    default: // LocalSessionManager 21/22/25
      parts.push('User:' + q(l.domain ? l.domain + '\\' + l.account : l.account), 'Address:' + q(l.source_ip));
  }
  return parts.join(' AND ');
}

// accountQuery finds the events naming an account as subject, target,
// User or RDP user.
export function accountQuery(a) {
  const full = a.domain ? a.domain + '\\' + a.account : a.account;
  return '(TargetUserName:' + q(a.account) + ' AND TargetDomainName:' + q(a.domain) + ') OR (SubjectUserName:' + q(a.account) +
    ' AND SubjectDomainName:' + q(a.domain) + ') OR User:' + q(full) + ' OR (EventID:1149 AND Param1:' + q(a.account) +
    ' AND Param2:' + q(a.domain) + ')';
}

// counts renders a {name: n} map as "name n" chips, largest first, at
// most max of them and "+k" for the rest.
export function counts(m, max = 3, label = (k) => k) {
  const list = Object.entries(m || {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = list.slice(0, max).map(([k, n]) => h('span', {class: 'kv-chip', title: k + ': ' + num(n)},
    h('span', {class: 'kv-k', text: label(k)}), h('span', {class: 'kv-n', text: num(n)})));
  if (list.length > max) shown.push(h('span', {class: 'muted small', title: list.slice(max).map(([k, n]) => k + ': ' + n).join('\n'), text: '+' + (list.length - max)}));
  return shown;
}

// total sums a {name: n} map.
export function total(m) { return Object.values(m || {}).reduce((a, n) => a + n, 0); }

// clickRow makes a table row open fn on click and Enter.
export function clickRow(props, fn) {
  return Object.assign({class: 'clickable', tabindex: 0, onclick: fn, onkeydown: (e) => { if (e.key === 'Enter') fn(); }}, props);
}

// head is a thead row of column titles; 'num:' marks a number column.
export function head(...cols) {
  return h('thead', null, h('tr', null, cols.map((c) => c.startsWith('num:') ? h('th', {class: 'num', text: c.slice(4)}) : h('th', {text: c}))));
}
