// Context: the events around one event — on the same computer, in the
// same logon session or of the same process, ±N minutes — in a side view
// over the search, which stays as it was. The view opens at the event
// itself, highlighted, with earlier and later events loaded on demand.

import {h, replace, num, ts, toast} from './dom.js';
import {api} from './api.js';

const MODES = [['computer', 'Same computer'], ['session', 'Logon session'], ['process', 'Process']];
const MINUTES = [1, 5, 15, 60, 240, 1440];

// openContext shows the view for event docId; onSearch(params) opens the
// window as the main search when the analyst asks; summarize(event) is a
// row's line of telling fields.
export function openContext(root, caseId, docId, onSearch, summarize) {
  const old = root.querySelector('#context-view');
  if (old) old.remove();
  const st = {id: docId, by: 'computer', minutes: 5};
  const modes = h('div', {class: 'ctx-modes', role: 'tablist'});
  const minutes = h('input', {type: 'number', id: 'ctx-minutes', min: 1, max: 10080, step: 1, class: 'narrow', 'aria-label': 'Minutes either side'});
  minutes.value = String(st.minutes);
  const presets = h('select', {id: 'ctx-preset', 'aria-label': 'Window'},
    MINUTES.map((m) => h('option', {value: String(m), text: '±' + (m >= 60 ? m / 60 + ' h' : m + ' min')})));
  presets.value = '5';
  const info = h('div', {class: 'ctx-info small muted', id: 'ctx-info', role: 'status'});
  const tbody = h('tbody');
  const earlier = h('button', {type: 'button', class: 'btn btn-small', id: 'ctx-earlier', text: '▲ Earlier events'});
  const later = h('button', {type: 'button', class: 'btn btn-small', id: 'ctx-later', text: '▼ Later events'});
  const asSearch = h('button', {type: 'button', class: 'btn btn-small', id: 'ctx-search', text: 'Open as search',
    title: 'Replace the main search with this window'});
  const close = h('button', {type: 'button', class: 'icon-btn', id: 'ctx-close', title: 'Close (Esc)', text: '×'});
  const wrap = h('div', {class: 'ctx-list table-wrap', id: 'ctx-list'}, earlier,
    h('table', {class: 'grid dense ctx-table', id: 'ctx-table'}, h('thead', null, h('tr', null,
      h('th', {class: 'ctx-time', text: 'Time (UTC)'}), h('th', {class: 'num ctx-eid', text: 'ID'}), h('th', {text: 'Event'}))), tbody), later);
  const view = h('aside', {class: 'context-view', id: 'context-view', tabindex: -1, 'aria-label': 'Events around this one'},
    h('div', {class: 'detail-head'}, h('div', null, h('h2', {text: 'Events around this one'}), info), close),
    h('div', {class: 'ctx-controls'}, modes, h('label', {class: 'ctx-min'}, h('span', {text: '±'}), minutes, h('span', {text: 'min'})), presets, asSearch),
    wrap);
  root.appendChild(view);
  let page = null;
  let cur = {earlier: '', later: ''};
  let seq = 0;

  close.addEventListener('click', done);
  view.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); done(); } });
  minutes.addEventListener('change', () => { const m = parseInt(minutes.value, 10); if (m > 0) { st.minutes = m; load(); } });
  presets.addEventListener('change', () => { minutes.value = presets.value; st.minutes = parseInt(presets.value, 10); load(); });
  earlier.addEventListener('click', () => more(false));
  later.addEventListener('click', () => more(true));
  asSearch.addEventListener('click', () => {
    if (!page) return;
    onSearch({q: page.query, time: 'custom', from: page.from, to: page.to, sort: 'asc'});
    done();
  });

  function done() { seq++; view.remove(); }

  function renderModes(available) {
    replace(modes, MODES.map(([m, label]) => h('button', {type: 'button', class: 'btn btn-small ctx-mode' + (m === st.by ? ' on' : ''),
      role: 'tab', 'aria-selected': String(m === st.by), data: {mode: m}, disabled: !available.includes(m),
      title: available.includes(m) ? '' : 'This event has no ' + label.toLowerCase(), text: label,
      onclick: () => { st.by = m; load(); }})));
  }

  async function load() {
    const my = ++seq;
    view.classList.add('loading');
    let res;
    try {
      res = await api.context(caseId, st.id, {by: st.by, minutes: String(st.minutes), size: '50'});
    } catch (ex) {
      if (my !== seq) return;
      view.classList.remove('loading');
      info.textContent = ex.message;
      replace(tbody);
      return;
    }
    if (my !== seq) return;
    view.classList.remove('loading');
    page = res;
    cur = {earlier: res.earlier || '', later: res.later || ''};
    renderModes(res.available || ['computer']);
    const what = st.by === 'computer' ? 'on ' + (res.key || '') : st.by === 'session' ? 'in logon session ' + res.key : 'of process ' + res.key;
    info.textContent = num(res.total) + ' events ' + what + ' within ±' + res.minutes + ' min · this is event ' +
      num(res.position + 1) + ' of ' + num(res.total);
    replace(tbody, res.hits.map((hit, i) => row(hit, i === res.anchor)));
    earlier.hidden = !cur.earlier;
    later.hidden = !cur.later;
    const a = tbody.querySelector('tr.anchor');
    if (a) a.scrollIntoView({block: 'center'});
  }

  async function more(newer) {
    if (!page) return;
    const cursor = newer ? cur.later : cur.earlier;
    if (!cursor) return;
    const p = {q: page.query, from: page.from, to: page.to, size: '50', facets: '0', cursor};
    if (newer) p.sort = 'asc';
    let res;
    try {
      res = await api.search(caseId, p);
    } catch (ex) {
      toast(ex.message, 'error');
      return;
    }
    const rows = (res.hits || []).map((hit) => row(hit, false));
    if (newer) {
      for (const r of rows) tbody.appendChild(r);
      cur.later = res.next || '';
      later.hidden = !cur.later;
    } else {
      for (const r of rows) tbody.insertBefore(r, tbody.firstChild);
      cur.earlier = res.next || '';
      earlier.hidden = !cur.earlier;
    }
  }

  function row(hit, anchor) {
    const ev = hit.event || {};
    const data = summarize(ev);
    return h('tr', {class: 'clickable' + (anchor ? ' anchor sel' : ''), data: {id: hit.id, record: ev.record_id}, title: 'Look around this event',
      onclick: () => { if (hit.id !== st.id) { st.id = hit.id; load(); } }},
    h('td', {class: 'mono nowrap time-col', text: ts(ev.time)}),
    h('td', {class: 'num eid-col', text: ev.event_id}),
    h('td', {class: 'ellip'}, h('div', {class: 'ev-desc ellip', text: (hit.description || ev.provider || '') + (ev.computer ? ' · ' + ev.computer : '')}),
      h('div', {class: 'ev-sum mono ellip', text: data})));
  }

  load();
  view.focus();
  return {close: done};
}
