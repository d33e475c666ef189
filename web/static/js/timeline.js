// Timeline: the case's starred and tagged events in time order, with their
// notes, tags and detections; filter by tag; export for the report.

import {h, replace, num, ts, levelBadge, emptyRow} from './dom.js';
import {api, exportURL} from './api.js';

export const caseView = true;

const PAGE = 200;

export function mount(root, app) {
  const caseId = app.caseId;
  const tagInput = h('input', {type: 'search', class: 'filter-input', id: 'timeline-tag', placeholder: 'Filter by tag (e.g. lateral-movement)'});
  const total = h('span', {class: 'muted', id: 'timeline-total'});
  const tbody = h('tbody');
  const more = h('button', {type: 'button', class: 'btn', id: 'timeline-more', text: 'Load more', hidden: true});
  const base = '/api/cases/' + encodeURIComponent(caseId);
  const button = (id, text, url) => {
    const b = h('button', {type: 'button', class: 'btn', id, text});
    b.addEventListener('click', () => window.location.assign(url()));
    return b;
  };
  const dl = (format) => button('timeline-export-' + format, 'Export ' + format.toUpperCase(),
    () => exportURL(base + '/export', {format, tagged: '1'}));
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Timeline'}),
      h('p', {class: 'muted', text: 'Starred and tagged events, oldest first, with notes and detections. Tag events from Search.'})),
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Tagged events'}), total, h('span', {class: 'spacer'}),
        tagInput, dl('csv'), dl('jsonl'),
        button('timeline-report', 'HTML report', () => base + '/report')),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'timeline-table'},
        h('thead', null, h('tr', null,
          h('th', {text: 'Time (UTC)'}), h('th', {text: 'Computer'}), h('th', {text: 'Event'}),
          h('th', {text: 'Tags'}), h('th', {text: 'Note'}), h('th', {text: 'Detections'}))),
        tbody)),
      more));

  let cursor = '';
  const row = (hit) => {
    const ev = hit.event || {};
    const t = hit.tag || {};
    const tags = (t.tags || []).concat(t.starred ? ['★'] : []);
    const det = [];
    for (const s of hit.sigma || []) det.push(h('div', null, levelBadge(s.level), ' ', h('span', {text: s.title})));
    for (const i of hit.iocs || []) det.push(h('div', {class: 'mono small', text: 'IOC ' + i.type + ' ' + i.value + ' in ' + i.field}));
    return h('tr', {data: {id: hit.id}},
      h('td', {class: 'mono nowrap', text: ts(ev.time)}),
      h('td', {text: ev.computer || ''}),
      h('td', null, h('span', {class: 'mono', text: String(ev.event_id ?? '')}), ' ', h('span', {text: hit.description || ''}),
        h('div', {class: 'muted small', text: ev.channel || ''})),
      h('td', {text: tags.join(', ')}),
      h('td', {class: 'pre-wrap', text: t.note || ''}),
      h('td', null, ...det));
  };
  const load = async (reset) => {
    if (reset) { cursor = ''; replace(tbody); }
    const word = tagInput.value.trim().toLowerCase();
    const q = word ? 'tag:"' + word.replace(/["\\]/g, '') + '"' : 'tag:*';
    const params = {q, sort: 'asc', size: String(PAGE), facets: '0'};
    if (cursor) params.cursor = cursor;
    try {
      const page = await api.search(caseId, params);
      replace(total, num(page.total) + ' events');
      if (reset && !page.hits.length) replace(tbody, emptyRow(6, word ? 'No event carries this tag.' : 'Nothing tagged yet: star or tag events from Search.'));
      else tbody.append(...page.hits.map(row));
      cursor = page.next || '';
      more.hidden = !cursor;
    } catch (err) {
      replace(tbody, emptyRow(6, err.message));
    }
  };
  let timer = 0;
  tagInput.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => load(true), 250); });
  more.addEventListener('click', () => load(false));
  load(true);
}
