// Timeline: the case's starred and tagged events in time order, with their
// comments, tags and detections; filter by tag; a row opens its event;
// export for the report.

import {h, replace, num, ts, levelBadge, emptyRow, toast} from './dom.js';
import {api, exportURL} from './api.js';
import {commentSummary} from './comments.js';

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
  let shown = 0; // events the timeline holds (page.total)
  const dl = (format) => {
    const b = h('button', {type: 'button', class: 'btn', id: 'timeline-export-' + format, text: 'Export ' + format.toUpperCase(),
      title: 'Every starred or tagged event, in file order (sort by time in your tool)'});
    b.addEventListener('click', () => {
      if (!shown) { toast('Nothing to export: no event is starred or tagged yet.', 'error'); return; }
      window.location.assign(exportURL(base + '/export', {format, tagged: '1'}));
    });
    return b;
  };
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Timeline'}),
      h('p', {class: 'muted', text: 'Starred and tagged events, oldest first, with comments and detections. Tag events from Search; click a row to open its event. Exports are in file order.'})),
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Tagged events'}), total, h('span', {class: 'spacer'}),
        tagInput, dl('csv'), dl('jsonl'),
        button('timeline-report', 'HTML report', () => base + '/report')),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'timeline-table'},
        h('thead', null, h('tr', null,
          h('th', {text: 'Time (UTC)'}), h('th', {text: 'Computer'}), h('th', {text: 'Event'}),
          h('th', {text: 'Tags'}), h('th', {text: 'Comments'}), h('th', {text: 'Detections'}))),
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
    const open = () => app.go('search', {q: 'tag:*', sort: 'asc', event: hit.id});
    return h('tr', {class: 'clickable', tabindex: 0, data: {id: hit.id}, title: 'Open this event', onclick: open,
      onkeydown: (e) => { if (e.key === 'Enter') open(); }},
      h('td', {class: 'mono nowrap', text: ts(ev.time)}),
      h('td', {text: ev.computer || ''}),
      h('td', null, h('span', {class: 'mono', text: String(ev.event_id ?? '')}), ' ', h('span', {text: hit.description || ''}),
        h('div', {class: 'muted small', text: ev.channel || ''})),
      h('td', {text: tags.join(', ')}),
      h('td', {class: 'comments-cell'}, commentSummary(hit.comments)),
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
      shown = page.total;
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
