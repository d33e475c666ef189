// Metrics: the case's events counted by event ID and channel, by channel,
// by computer, by file and over time, with percentages; each table
// downloads as CSV. A row opens a search for its events.

import {h, replace, num, ts, emptyRow} from './dom.js';
import {api, exportURL} from './api.js';
import {q, clickRow, head} from './triage.js';

export const caseView = true;

// MAX_ROWS bounds each table on the page (the CSV has every row).
const MAX_ROWS = 500;

export function mount(root, app) {
  const body = h('div', {id: 'metrics'});
  const summary = h('p', {class: 'muted', id: 'metrics-summary', text: 'Counting…'});
  replace(root, h('div', {class: 'view-head'}, h('h1', {text: 'Metrics'}), summary), body);
  const pct = (p) => p.toFixed(2) + '%';
  const bar = (n, maxN) => { const b = h('progress', {class: 'bar metric-bar', max: maxN || 1}); b.value = n; return b; };
  const csv = (table) => h('button', {type: 'button', class: 'btn btn-small', data: {csv: table}, text: 'CSV',
    title: 'Download this table as CSV',
    onclick: () => window.location.assign(exportURL('/api/cases/' + encodeURIComponent(app.caseId) + '/metrics', {csv: table}))});
  const section = (id, title, table, cols, rows) => {
    const tbody = h('tbody');
    const shown = rows.slice(0, MAX_ROWS);
    replace(tbody, shown.length ? shown : emptyRow(cols.length, 'No events.'));
    return h('section', {class: 'card', id},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: title}),
        h('span', {class: 'muted small', text: rows.length > MAX_ROWS ? 'first ' + MAX_ROWS + ' of ' + num(rows.length) + ' rows' : num(rows.length) + ' rows'}),
        h('span', {class: 'spacer'}), csv(table)),
      h('div', {class: 'table-wrap metric-wrap'}, h('table', {class: 'grid dense metric-table', id: id + '-table'}, head(...cols), tbody)));
  };
  const search = (query) => () => app.go('search', {q: query});
  (async () => {
    let m;
    try {
      m = await api.metrics(app.caseId);
    } catch (ex) {
      summary.textContent = 'Cannot load metrics: ' + ex.message;
      return;
    }
    summary.textContent = num(m.total) + ' events' + (m.total ? ', ' + ts(m.first, false) + ' to ' + ts(m.last, false) + ' UTC' : '') + '.';
    const top = (list) => list.reduce((a, r) => Math.max(a, r.count), 0);
    const nameRows = (list, field) => list.map((r) => h('tr', clickRow({data: {name: r.name}}, search(field + ':' + q(r.name))),
      h('td', {text: r.name || '(none)'}), h('td', {class: 'num strong', text: num(r.count)}), h('td', {class: 'num nowrap', text: pct(r.percent)}),
      h('td', {class: 'bar-col'}, bar(r.count, top(list)))));
    replace(body,
      h('div', {class: 'metrics-grid'},
        section('m-event', 'Event ID × channel', 'event', ['num:Event ID', 'Channel', 'Provider', 'num:Events', 'num:%', ''],
          m.by_event.map((r) => h('tr', clickRow({data: {eid: r.event_id}}, search('EventID:' + r.event_id + ' AND Channel:' + q(r.channel))),
            h('td', {class: 'num mono', text: String(r.event_id)}), h('td', {text: r.channel}), h('td', {class: 'small muted', text: r.provider}),
            h('td', {class: 'num strong', text: num(r.count)}), h('td', {class: 'num nowrap', text: pct(r.percent)}),
            h('td', {class: 'bar-col'}, bar(r.count, top(m.by_event)))))),
        h('div', null,
          section('m-channel', 'Channels', 'channel', ['Channel', 'num:Events', 'num:%', ''], nameRows(m.by_channel, 'Channel')),
          section('m-computer', 'Computers', 'computer', ['Computer', 'num:Events', 'num:%', ''], nameRows(m.by_computer, 'Computer')))),
      section('m-file', 'Files', 'file', ['File', 'num:Events', 'num:%', 'First (UTC)', 'Last (UTC)'],
        m.by_file.map((r) => h('tr', clickRow({data: {file: r.file_id}}, search('file:' + r.file_id)),
          h('td', {class: 'small', text: r.name}), h('td', {class: 'num strong', text: num(r.count)}), h('td', {class: 'num nowrap', text: pct(r.percent)}),
          h('td', {class: 'mono small nowrap', text: ts(r.first, false)}), h('td', {class: 'mono small nowrap', text: ts(r.last, false)})))),
      section('m-time', 'Over time (by ' + (m.interval || 'hour') + ', UTC)', 'time', ['Start', 'num:Events', 'num:%', ''],
        m.over_time.map((r) => h('tr', null,
          h('td', {class: 'mono small nowrap', text: ts(r.time, false)}), h('td', {class: 'num strong', text: num(r.count)}),
          h('td', {class: 'num nowrap', text: pct(r.percent)}), h('td', {class: 'bar-col'}, bar(r.count, top(m.over_time)))))));
  })();
  return {};
}
