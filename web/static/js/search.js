// Search: query box with syntax help, filters, histogram, facets, results
// (newest first, cursor paging), event detail with tags.

import {h, $$, replace, clear, num, ts, levelBadge, toast, emptyRow, LEVELS, progressBar} from './dom.js';
import {api, exportURL} from './api.js';
import {showRuleContext} from './rulectx.js';
import {aggPanel, valuesClause, FIELD_HINTS} from './aggs.js';
import {openContext} from './context.js';
import {savedPanel} from './saved.js';
import {commentThread} from './comments.js';
import {explain} from './explain.js';

export const caseView = true;

const PAGE = 50;

// Fields shown in a result row's summary, in order of interest.
const SUMMARY_FIELDS = ['CommandLine', 'Image', 'TargetUserName', 'SubjectUserName', 'LogonType', 'IpAddress',
  'WorkstationName', 'TargetFilename', 'DestinationIp', 'DestinationPort', 'QueryName', 'ServiceName', 'ImagePath',
  'ScriptBlockText', 'TaskName', 'ObjectName', 'ShareName', 'RelativeTargetName', 'ProcessName', 'TargetObject',
  'Details', 'Payload', 'param1', 'param2', 'Message', 'Data'];

const WIN_LEVELS = {0: 'Info', 1: 'Critical', 2: 'Error', 3: 'Warning', 4: 'Information', 5: 'Verbose'};

const EXAMPLES = [
  ['EventID:4624 LogonType:(3 OR 10)', 'network and RDP logons'],
  ['EventID:4625 -TargetUserName:*$', 'failed logons, machine accounts excluded'],
  ['CommandLine:*mimikatz* OR "sekurlsa"', 'a command-line wildcard or a phrase anywhere'],
  ['Image:C:\\Windows\\System32\\cmd.exe', 'Windows paths as typed'],
  ['EventID:[4720 TO 4738]', 'a range of event IDs'],
  ['sigma.level:>=high', 'events with a high or critical Sigma hit'],
  ['ioc:* host:DC01', 'IOC hits on one computer'],
  ['time:>now-24h', 'relative time (anchored to now)'],
  ['tag:starred', 'starred events'],
  ['TargetUserName:/adm.*/', 'regular expression on a whole value'],
];

export function mount(root, app, params) {
  const caseId = app.caseId;
  const st = {
    q: params.get('q') || '', time: params.get('time') || '', from: params.get('from') || '', to: params.get('to') || '',
    channel: params.get('channel') || '', event_id: params.get('event_id') || '', computer: params.get('computer') || '',
    provider: params.get('provider') || '', sigma_level: params.get('sigma_level') || '', ioc: params.get('ioc') === '1',
    starred: params.get('starred') === '1', sort: params.get('sort') || '',
    sort_field: params.get('sort_field') || '', cols: splitCols(params.get('cols')),
  };
  // Columns come from the address, else from the user's settings (read
  // below, before the first search).
  const colsFromURL = params.has('cols');
  let cursors = ['']; // cursor of each page visited; the last is the current page's
  let nextCursor = '';
  let hits = [];
  let total = 0;
  let selected = -1;
  let seq = 0;
  let detailSeq = 0;

  // Query bar.
  const q = h('input', {type: 'search', id: 'q', class: 'q-input mono', placeholder: 'Search events — e.g. EventID:4624 LogonType:10   (press / to focus)',
    autocomplete: 'off', spellcheck: 'false', enterkeyhint: 'search', 'aria-label': 'Search query'});
  q.value = st.q;
  const runBtn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'run-search', text: 'Search'});
  const helpBtn = h('button', {type: 'button', class: 'btn', id: 'syntax-btn', 'aria-expanded': 'false', text: 'Syntax'});
  const sortBtn = h('button', {type: 'button', class: 'btn', id: 'sort-btn', title: 'Sort order'});
  const err = h('div', {class: 'q-error', id: 'search-error', role: 'alert'});
  const help = syntaxHelp((ex) => { q.value = ex; runNew(); });
  help.hidden = true;
  helpBtn.addEventListener('click', () => {
    help.hidden = !help.hidden;
    helpBtn.setAttribute('aria-expanded', String(!help.hidden));
  });
  const sortLabel = () => {
    sortBtn.textContent = st.sort_field ? 'By ' + st.sort_field + (st.sort === 'asc' ? ' ↑' : ' ↓') :
      st.sort === 'asc' ? 'Oldest first' : 'Newest first';
  };
  sortLabel();
  sortBtn.addEventListener('click', () => { st.sort = st.sort === 'asc' ? '' : 'asc'; sortLabel(); runNew(); });
  const savedBtn = h('button', {type: 'button', class: 'btn', id: 'saved-btn', 'aria-expanded': 'false', text: 'Saved ▾',
    title: 'Saved searches, your recent searches and templates'});
  const colsBtn = h('button', {type: 'button', class: 'btn', id: 'cols-btn', 'aria-expanded': 'false', text: 'Columns',
    title: 'Choose the result columns (any field)'});
  const form = h('form', {class: 'q-bar', id: 'search-form'}, q, runBtn, helpBtn, sortBtn, savedBtn, colsBtn);
  // After Enter the box lets go of the keyboard, so j/k move through the
  // results at once.
  form.addEventListener('submit', (e) => { e.preventDefault(); q.blur(); runNew(); });

  // Filters.
  const timeSel = h('select', {id: 'f-time', 'aria-label': 'Time range'},
    opt('', 'All time'), opt('1h', 'Last 1 hour'), opt('24h', 'Last 24 hours'), opt('7d', 'Last 7 days'),
    opt('30d', 'Last 30 days'), opt('custom', 'Custom range (UTC)…'));
  timeSel.value = st.time;
  // 24-hour UTC text, not datetime-local (which shows the browser's
  // locale, 12-hour in en-US, though the times are UTC).
  const from = h('input', {type: 'text', id: 'f-from', class: 'mono time-input', placeholder: 'YYYY-MM-DD HH:MM:SS',
    'aria-label': 'From (UTC, 24-hour)', title: 'UTC, 24-hour: 2024-05-14 13:05:00', autocomplete: 'off', spellcheck: 'false'});
  const to = h('input', {type: 'text', id: 'f-to', class: 'mono time-input', placeholder: 'YYYY-MM-DD HH:MM:SS',
    'aria-label': 'To (UTC, 24-hour)', title: 'UTC, 24-hour: 2024-05-14 13:05:00', autocomplete: 'off', spellcheck: 'false'});
  from.value = shownTime(st.from);
  to.value = shownTime(st.to);
  const custom = h('span', {class: 'custom-range'}, from, h('span', {class: 'muted', text: '→'}), to);
  custom.hidden = st.time !== 'custom';
  const channel = h('input', {type: 'text', id: 'f-channel', placeholder: 'Channel', list: 'dl-channel', autocomplete: 'off', spellcheck: 'false'});
  const eid = h('input', {type: 'text', id: 'f-eid', placeholder: 'Event ID(s)', inputmode: 'numeric', autocomplete: 'off', class: 'narrow'});
  const computer = h('input', {type: 'text', id: 'f-computer', placeholder: 'Computer', list: 'dl-computer', autocomplete: 'off', spellcheck: 'false'});
  const sigma = h('select', {id: 'f-sigma', 'aria-label': 'Sigma level'},
    opt('', 'Sigma: all events'), opt('any', 'Any Sigma hit'), opt('low', 'Sigma ≥ low'), opt('medium', 'Sigma ≥ medium'),
    opt('high', 'Sigma ≥ high'), opt('critical', 'Sigma critical'));
  const ioc = h('input', {type: 'checkbox', id: 'f-ioc'});
  const starred = h('input', {type: 'checkbox', id: 'f-starred'});
  const provider = h('span', {class: 'chip-filter', id: 'f-provider'});
  channel.value = st.channel; eid.value = st.event_id; computer.value = st.computer;
  sigma.value = st.sigma_level; ioc.checked = st.ioc; starred.checked = st.starred;
  const dlChannel = h('datalist', {id: 'dl-channel'});
  const dlComputer = h('datalist', {id: 'dl-computer'});
  const clearBtn = h('button', {type: 'button', class: 'btn btn-small', text: 'Clear filters'});
  const filters = h('div', {class: 'filters', id: 'filters'},
    timeSel, custom, channel, eid, computer, sigma,
    h('label', {class: 'toggle', for: 'f-ioc'}, ioc, h('span', {text: 'IOC hits'})),
    h('label', {class: 'toggle', for: 'f-starred'}, starred, h('span', {text: '★ Starred'})),
    provider, clearBtn, dlChannel, dlComputer);
  timeSel.addEventListener('change', () => { custom.hidden = timeSel.value !== 'custom'; if (timeSel.value !== 'custom') runNew(); });
  for (const el of [from, to, sigma, ioc, starred]) el.addEventListener('change', runNew);
  for (const el of [channel, eid, computer]) {
    el.addEventListener('change', runNew);
    el.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); runNew(); } });
  }
  clearBtn.addEventListener('click', () => {
    timeSel.value = ''; custom.hidden = true; from.value = ''; to.value = ''; channel.value = ''; eid.value = '';
    computer.value = ''; sigma.value = ''; ioc.checked = false; starred.checked = false; st.provider = '';
    runNew();
  });

  // Results area.
  const hist = h('div', {class: 'histogram', id: 'histogram', 'aria-label': 'Events over time'});
  const facets = h('aside', {class: 'facets', id: 'facets'});
  const tbody = h('tbody');
  const thead = h('thead');
  const table = h('table', {class: 'grid dense results', id: 'results'}, thead, tbody);
  const info = h('span', {class: 'page-info', id: 'page-info'});
  const prev = h('button', {type: 'button', class: 'btn btn-small', id: 'prev-page', text: '‹ Prev', title: 'Previous page (p)'});
  const next = h('button', {type: 'button', class: 'btn btn-small', id: 'next-page', text: 'Next ›', title: 'Next page (n)'});
  prev.addEventListener('click', () => page(-1));
  next.addEventListener('click', () => page(1));
  // Export downloads what the search shows (filters and time range
  // included), oldest first, as a file.
  let ran = null; // {query, from, to} of the last search that ran
  const exportSel = h('select', {id: 'export-format', class: 'export-select', 'aria-label': 'Export these events (in file order)',
    title: 'Exports stream file by file in record order; sort by time in your tool'},
    opt('', 'Export (file order)…'), opt('csv', 'CSV (Timeline Explorer)'), opt('jsonl', 'JSONL (Timesketch)'), opt('sigma-csv', 'Sigma hits CSV'));
  exportSel.addEventListener('change', () => {
    const format = exportSel.value;
    exportSel.value = '';
    if (!format || !ran) return;
    if (!total) { toast('Nothing to export: this search matches no events.', 'error'); return; }
    const p = {format, q: ran.query};
    if (ran.from && !ran.from.startsWith('0001-')) p.from = ran.from;
    if (ran.to && !ran.to.startsWith('0001-')) p.to = ran.to;
    window.location.assign(exportURL('/api/cases/' + encodeURIComponent(caseId) + '/export', p));
  });
  // Tag all matching: a background job on the server; its progress shows
  // here until it ends.
  const bulkWords = h('input', {type: 'text', id: 'bulk-tags', class: 'bulk-tags', placeholder: 'tag words',
    'aria-label': 'Tags to add to every matching event', spellcheck: 'false'});
  const bulkBtn = h('button', {type: 'submit', class: 'btn btn-small', id: 'bulk-tag', text: 'Tag all matching',
    title: 'Add these tags to every event this search matches (all pages)'});
  const bulkForm = h('form', {class: 'bulk-form needs-analyst', id: 'bulk-form'}, bulkWords, bulkBtn);
  const jobText = h('span', {class: 'small', id: 'bulk-job-text', role: 'status'});
  const jobBar = progressBar();
  const jobBox = h('div', {class: 'job-box', id: 'bulk-job', hidden: true}, h('span', {class: 'spinner', 'aria-hidden': 'true'}), jobText, jobBar);
  let jobTimer = 0;
  let alive = true;
  bulkForm.addEventListener('submit', (e) => { e.preventDefault(); bulkTag(); });
  const detail = h('aside', {class: 'detail', id: 'event-detail', hidden: true, tabindex: -1});
  const resultsCol = h('section', {class: 'results-col'},
    h('div', {class: 'table-wrap results-wrap', id: 'results-wrap'}, table),
    h('div', {class: 'pager'}, info, jobBox, h('span', {class: 'spacer'}), bulkForm, exportSel, prev, next));
  const body = h('div', {class: 'search-body'}, facets, resultsCol, detail);
  const agg = aggPanel(caseId, () => apiParams(''), addClause);
  const saved = savedPanel(app, caseId, savedState, applyState);
  const colsPanel = h('div', {class: 'cols-panel card', id: 'cols-panel', hidden: true});
  savedBtn.addEventListener('click', () => savedBtn.setAttribute('aria-expanded', String(saved.toggle())));
  colsBtn.addEventListener('click', () => {
    colsPanel.hidden = !colsPanel.hidden;
    colsBtn.setAttribute('aria-expanded', String(!colsPanel.hidden));
    if (!colsPanel.hidden) renderColsPanel();
  });

  replace(root, h('div', {class: 'search-top'}, form, err, help, saved.el, colsPanel, filters, hist, agg.chart), body);
  renderHead();

  function opt(v, label) { return h('option', {value: v, text: label}); }

  function readFilters() {
    st.q = q.value.trim();
    st.time = timeSel.value;
    st.from = st.time === 'custom' && from.value ? utc(from.value) : '';
    st.to = st.time === 'custom' && to.value ? utc(to.value) : '';
    st.channel = channel.value.trim(); st.event_id = eid.value.trim(); st.computer = computer.value.trim();
    st.sigma_level = sigma.value; st.ioc = ioc.checked; st.starred = starred.checked;
  }

  function apiParams(cursor) {
    const p = {q: st.q, strict: '1', size: String(PAGE)};
    if (st.time && st.time !== 'custom') p.last = st.time;
    if (st.from) p.from = st.from;
    if (st.to) p.to = st.to;
    for (const k of ['channel', 'event_id', 'computer', 'provider', 'sigma_level']) if (st[k]) p[k] = st[k];
    if (st.ioc) p.ioc = '1';
    if (st.starred) p.tag = 'starred';
    if (st.sort) p.sort = st.sort;
    if (st.sort_field) p.sort_field = st.sort_field;
    if (st.cols.some((c) => !SYSTEM_COLS[c.toLowerCase()])) p.data = 'all';
    if (cursor) { p.cursor = cursor; p.facets = '0'; } else { p.histogram = '1'; }
    return p;
  }

  function urlState() {
    const p = {};
    for (const k of ['q', 'time', 'from', 'to', 'channel', 'event_id', 'computer', 'provider', 'sigma_level', 'sort', 'sort_field']) if (st[k]) p[k] = st[k];
    if (st.ioc) p.ioc = '1';
    if (st.starred) p.starred = '1';
    if (st.cols.length) p.cols = st.cols.join(',');
    return p;
  }

  function runNew() {
    readFilters();
    cursors = [''];
    app.setParams(urlState());
    load(true);
  }

  // addClause narrows the query by one clause (a pick in the top values).
  function addClause(clause) {
    q.value = q.value.trim() ? q.value.trim() + ' ' + clause : clause;
    runNew();
  }

  // savedState is the search on screen as a saved search keeps it.
  function savedState() {
    readFilters();
    const p = urlState();
    delete p.q;
    delete p.cols;
    return {query: st.q, params: p, columns: st.cols};
  }

  // applyState opens a saved search, template or recent search.
  function applyState(s) {
    const p = s.params || {};
    q.value = s.query || '';
    timeSel.value = p.time || '';
    custom.hidden = timeSel.value !== 'custom';
    from.value = shownTime(p.from || '');
    to.value = shownTime(p.to || '');
    channel.value = p.channel || ''; eid.value = p.event_id || ''; computer.value = p.computer || '';
    sigma.value = p.sigma_level || ''; ioc.checked = p.ioc === '1'; starred.checked = p.starred === '1';
    st.provider = p.provider || '';
    st.sort = p.sort || ''; st.sort_field = p.sort_field || '';
    if (s.columns) st.cols = s.columns.slice();
    sortLabel();
    renderHead();
    saved.el.hidden = true;
    savedBtn.setAttribute('aria-expanded', 'false');
    runNew();
  }

  // renderHead draws the result columns: the fixed ones, then the chosen
  // fields. A header click sorts on its field (again: the other way).
  function renderHead() {
    const sortable = (label, field, cls) => {
      const on = field ? st.sort_field.toLowerCase() === field.toLowerCase() : !st.sort_field;
      const arrow = on ? (st.sort === 'asc' ? ' ↑' : ' ↓') : '';
      return h('th', {class: cls + ' sortable' + (on ? ' sorted' : ''), title: 'Sort on ' + (field || 'time'), data: {field: field || ''},
        onclick: () => sortOn(field)}, label + arrow);
    };
    // Chosen columns widen the table (it scrolls sideways) rather than
    // squeeze the Event column away. CSSOM writes are allowed by the CSP.
    table.style.minWidth = st.cols.length ? (900 + 150 * st.cols.length) + 'px' : '';
    replace(thead, h('tr', null,
      h('th', {class: 'star-col', title: 'Starred', text: '★'}), sortable('Time (UTC)', '', 'time-h'),
      sortable('Computer', 'Computer', 'comp-h'), sortable('Channel', 'Channel', 'chan-h'), sortable('ID', 'EventID', 'num eid-h'),
      h('th', {class: 'event-h', text: 'Event'}),
      st.cols.map((c) => sortable(c, c, 'xcol-h')),
      h('th', {class: 'det-h', text: 'Detections'})));
  }

  function sortOn(field) {
    if ((field || '').toLowerCase() === st.sort_field.toLowerCase()) st.sort = st.sort === 'asc' ? '' : 'asc';
    else { st.sort_field = field || ''; st.sort = field ? 'asc' : ''; }
    sortLabel();
    renderHead();
    runNew();
  }

  function setCols(cols, persist) {
    st.cols = cols;
    renderHead();
    renderColsPanel();
    runNew();
    if (persist) api.setPrefs({columns: cols}).catch((ex) => toast(ex.message, 'error'));
  }

  function renderColsPanel() {
    if (colsPanel.hidden) return;
    const add = h('input', {type: 'text', id: 'col-add', placeholder: 'Add a column: any field, e.g. IpAddress', list: 'dl-col-fields',
      autocomplete: 'off', spellcheck: 'false'});
    const dl = h('datalist', {id: 'dl-col-fields'}, FIELD_HINTS.map((f) => h('option', {value: f})));
    const form = h('form', {class: 'cols-form'}, add, dl, h('button', {type: 'submit', class: 'btn btn-small', id: 'col-add-btn', text: 'Add'}));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const f = add.value.trim();
      if (f && !st.cols.some((c) => c.toLowerCase() === f.toLowerCase())) setCols([...st.cols, f], true);
    });
    const chips = st.cols.map((c, i) => h('span', {class: 'col-chip', data: {col: c}},
      h('button', {type: 'button', class: 'chip-move', title: 'Move left', text: '‹', disabled: i === 0,
        onclick: () => { const n = st.cols.slice(); [n[i - 1], n[i]] = [n[i], n[i - 1]]; setCols(n, true); }}),
      h('span', {class: 'mono', text: c}),
      h('button', {type: 'button', class: 'chip-x', title: 'Remove ' + c, text: '×',
        onclick: () => setCols(st.cols.filter((x) => x !== c), true)})));
    replace(colsPanel, h('div', {class: 'cols-head'}, h('h3', {text: 'Result columns'}),
      h('span', {class: 'muted small', text: 'Kept for you, and with a search when you save it. Click a header to sort on it.'})),
    h('div', {class: 'col-chips', id: 'col-chips'}, chips.length ? chips : h('span', {class: 'muted small', text: 'Only the standard columns.'})),
    form);
  }


  // start opens a saved search or template named in the address
  // (?saved=N, ?template=N), else the user's columns, then searches.
  async function start() {
    const sid = params.get('saved');
    const tid = params.get('template');
    if (sid || tid) {
      try {
        const s = sid ? await api.savedSearch(caseId, sid) : await api.template(tid);
        applyState(s);
        return;
      } catch (ex) {
        toast('Saved search ' + (sid || tid) + ': ' + ex.message, 'error');
      }
    }
    if (!colsFromURL) {
      try {
        const p = await api.prefs();
        if (p.columns && p.columns.length) { st.cols = p.columns; renderHead(); }
      } catch (ex) { /* keep the standard columns */ }
    }
    return load(true);
  }

  function page(dir) {
    if (dir > 0 && nextCursor) { cursors.push(nextCursor); load(); }
    if (dir < 0 && cursors.length > 1) { cursors.pop(); load(); }
  }

  async function load(fresh) {
    const my = ++seq;
    const cursor = cursors[cursors.length - 1];
    renderProvider();
    runBtn.disabled = true;
    resultsCol.classList.add('loading');
    let res;
    try {
      const p = apiParams(cursor);
      if (fresh && !cursor) p.history = '1';
      res = await api.search(caseId, p);
    } catch (ex) {
      if (my !== seq) return;
      err.textContent = ex.message;
      q.classList.toggle('invalid', ex.status === 400);
      replace(tbody, emptyRow(7 + st.cols.length, ex.status === 400 ? 'Fix the query above.' : 'Search failed.'));
      hits = []; selected = -1; nextCursor = ''; total = 0;
      updatePager();
      info.textContent = ex.status === 400 ? 'Query error: no search ran' : 'Search failed';
      return;
    } finally {
      if (my === seq) { runBtn.disabled = false; resultsCol.classList.remove('loading'); }
    }
    if (my !== seq) return;
    err.textContent = '';
    q.classList.remove('invalid');
    hits = res.hits || [];
    total = res.total;
    ran = {query: res.query || '', from: res.from || '', to: res.to || ''};
    nextCursor = res.next || '';
    selected = -1;
    if (!cursor) {
      renderFacets(res.facets || {});
      renderHistogram(res.histogram || []);
      agg.refresh();
    }
    renderRows();
    updatePager(res.took_ms);
    if (!detail.hidden) closeDetail();
  }

  // bulkTag starts a job tagging every event of the last search (its
  // filters and time range folded into the query).
  async function bulkTag() {
    const words = bulkWords.value.split(/[\s,]+/).filter(Boolean);
    if (!ran || !words.length) { toast('Run a search and type the tags to add', 'error'); return; }
    let query = ran.query;
    const bounds = [ran.from && !ran.from.startsWith('0001-') ? ran.from : '*', ran.to && !ran.to.startsWith('0001-') ? ran.to : '*'];
    if (bounds[0] !== '*' || bounds[1] !== '*') query = (query ? '(' + query + ') AND ' : '') + 'time:[' + bounds[0] + ' TO ' + bounds[1] + '}';
    if (!window.confirm('Add ' + words.join(', ') + ' to all ' + num(total) + ' matching events?')) return;
    bulkBtn.disabled = true;
    try {
      const j = await api.tagQuery(caseId, query, words, false);
      bulkWords.value = '';
      watchJob(j.id);
    } catch (ex) {
      bulkBtn.disabled = false;
      toast(ex.message, 'error');
    }
  }

  async function watchJob(id) {
    clearTimeout(jobTimer);
    if (!alive) return;
    let j;
    try {
      j = await api.job(id);
    } catch (ex) {
      jobBox.hidden = true;
      bulkBtn.disabled = false;
      return;
    }
    if (!alive) return;
    jobBox.hidden = false;
    jobBar.value = j.matched ? j.changed / j.matched : 0;
    jobText.textContent = (j.resumed ? 'Tagging (resumed): ' : 'Tagging: ') + num(j.changed) + ' of ' + num(j.matched || 0) + ' events · ' +
      num(j.files_done) + '/' + num(j.files) + ' files';
    if (j.state === 'running') {
      jobTimer = setTimeout(() => watchJob(id), 1000);
      return;
    }
    jobBox.hidden = true;
    bulkBtn.disabled = false;
    if (j.state === 'failed') toast('Tagging stopped after ' + num(j.changed) + ' of ' + num(j.matched || 0) + ' events: ' + j.error, 'error');
    else toast('Tagged ' + num(j.changed) + ' events', 'ok', 3000);
    load();
    app.refreshCase();
  }

  function updatePager(took) {
    const start = (cursors.length - 1) * PAGE;
    if (!hits.length) info.textContent = total ? 'No more events' : 'No events match';
    else info.textContent = 'Events ' + num(start + 1) + '–' + num(start + hits.length) + ' of ' + num(total) +
      (took !== undefined ? ' · ' + took.toFixed(1) + ' ms' : '');
    prev.disabled = cursors.length <= 1;
    next.disabled = !nextCursor;
  }

  function renderRows() {
    if (!hits.length) {
      const msg = app.caseStats && app.caseStats.events === 0 ? 'This case has no events yet — add evidence first.' : 'No events match.';
      replace(tbody, emptyRow(7 + st.cols.length, msg));
      return;
    }
    replace(tbody, ...hits.map((hit, i) => resultRow(hit, i)));
  }

  function resultRow(hit, i) {
    const ev = hit.event;
    const starBtn = h('button', {type: 'button', class: 'star' + (hit.tag && hit.tag.starred ? ' on' : ''),
      title: hit.tag && hit.tag.starred ? 'Unstar (s)' : 'Star (s)', text: hit.tag && hit.tag.starred ? '★' : '☆',
      disabled: !app.can('analyst'), onclick: (e) => { e.stopPropagation(); toggleStar(i); }});
    const det = h('td', {class: 'det-cell'});
    const levels = new Map();
    for (const s of hit.sigma || []) {
      const l = String(s.level).toLowerCase();
      if (!levels.has(l)) levels.set(l, []);
      levels.get(l).push(s.title);
    }
    for (const l of LEVELS) {
      if (!levels.has(l)) continue;
      const titles = levels.get(l);
      const b = levelBadge(l, titles.length > 1 ? titles.length : undefined);
      b.title = titles.join('\n');
      det.appendChild(b);
    }
    if ((hit.iocs || []).length) det.appendChild(h('span', {class: 'badge ioc', title: 'IOC hits', text: 'IOC ' + hit.iocs.length}));
    if (hit.tag && hit.tag.tags && hit.tag.tags.length) det.appendChild(h('span', {class: 'badge tagb', text: '#' + hit.tag.tags.join(' #')}));
    if (!ev) {
      return h('tr', {class: 'clickable', data: {i}, onclick: () => select(i, true)},
        h('td', null, starBtn), h('td', {colspan: 5 + st.cols.length, class: 'muted', text: 'Event unavailable (its file was removed) · ' + hit.id}), det);
    }
    const summary = summarize(ev);
    const desc = hit.description || ev.provider || '';
    const firstRule = (hit.sigma || []).length ? hit.sigma[0].title : '';
    return h('tr', {class: 'clickable', data: {i, id: hit.id}, onclick: () => select(i, true)},
      h('td', {class: 'star-col'}, starBtn),
      h('td', {class: 'mono nowrap time-col', text: ts(ev.time)}),
      h('td', {class: 'ellip comp-col', title: ev.computer, text: ev.computer}),
      h('td', {class: 'ellip chan-col', title: ev.channel + (ev.provider ? ' · ' + ev.provider : ''), text: ev.channel || ev.provider}),
      h('td', {class: 'num eid-col', text: ev.event_id}),
      h('td', {class: 'event-col'},
        h('div', {class: 'ev-desc ellip', title: desc},
          desc, firstRule ? h('span', {class: 'ev-rule', text: ' ▸ ' + firstRule}) : null),
        h('div', {class: 'ev-sum mono ellip', title: summary, text: summary})),
      st.cols.map((c) => {
        const v = colValue(hit, c);
        return h('td', {class: 'xcol mono ellip' + (v === undefined ? ' muted' : ''), title: v === undefined ? 'Open the event to read it' : v,
          text: v === undefined ? '…' : v});
      }),
      det);
  }

  function select(i, open) {
    if (i < 0 || i >= hits.length) return;
    selected = i;
    for (const tr of $$('tr.sel', tbody)) tr.classList.remove('sel');
    const tr = tbody.children[i];
    if (tr) {
      tr.classList.add('sel');
      tr.scrollIntoView({block: 'nearest'});
    }
    if (open) openDetail(i);
  }

  async function openDetail(i) {
    const hit = hits[i];
    const my = ++detailSeq;
    detail.hidden = false;
    body.classList.add('with-detail');
    // data-state tells a reader (and the browser tests) whether the panel
    // still shows the search hit or the full event fetched after it.
    detail.dataset.state = 'partial';
    renderDetail(hit);
    try {
      const fresh = await api.event(caseId, hit.id);
      if (my !== detailSeq) return;
      hits[i] = fresh;
      renderDetail(fresh);
      detail.dataset.state = 'fresh';
    } catch (ex) {
      if (my === detailSeq && ex.status !== 404) toast(ex.message, 'error');
    }
  }

  function closeDetail() {
    detail.hidden = true;
    body.classList.remove('with-detail');
    clear(detail);
  }

  function renderDetail(hit) {
    const ev = hit.event;
    const close = h('button', {type: 'button', class: 'icon-btn', title: 'Close (Esc)', text: '×', onclick: closeDetail});
    if (!ev) {
      replace(detail, h('div', {class: 'detail-head'}, h('h2', {text: 'Event unavailable'}), close),
        h('p', {class: 'muted', text: 'The file holding this event was removed. ' + hit.id}));
      return;
    }
    // Every System element and attribute under its Windows name; numbers
    // Windows always writes are shown when zero (zero is a value).
    const sys = [
      ['TimeCreated (UTC)', ts(ev.time)],
      ['Time note', hit.time_invalid ? 'outside 1677–2262: indexed at a clamped time (time_invalid:true)' : ''],
      ['Record note', ev.recovered ? 'recovered past a broken record header in a damaged chunk (recovered:true)' : ''],
      ['Computer', ev.computer], ['Channel', ev.channel], ['Provider', ev.provider],
      ['ProviderGUID', ev.provider_guid], ['EventSourceName', ev.event_source_name],
      ['EventID', String(ev.event_id)], ['Qualifiers', ev.qualifiers], ['EventRecordID', String(ev.record_id)],
      ['Version', ev.version],
      ['Level', ev.level !== undefined ? ev.level + (WIN_LEVELS[ev.level] ? ' (' + WIN_LEVELS[ev.level] + ')' : '') : ''],
      ['Task', ev.task], ['Opcode', ev.opcode], ['Keywords', ev.keywords],
      ['ActivityID', ev.activity_id], ['RelatedActivityID', ev.related_activity_id],
      ['ProcessID', ev.process_id], ['ThreadID', ev.thread_id],
      ['UserID', ev.user_id], ['File', hit.file_name + ' (file ' + hit.file_id + ')'], ['Document', hit.id],
    ];
    const sysRows = sys.filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => h('tr', null, h('th', {text: k}), h('td', {class: 'mono', text: String(v)})));

    const dataRows = (ev.data || []).map((f) => h('tr', null,
      h('th', {class: 'mono', text: f.name}),
      h('td', null, h('div', {class: 'val mono', text: f.value}),
        explain(f.name, f.value) ? h('div', {class: 'val-explain small muted', text: explain(f.name, f.value)}) : null),
      h('td', {class: 'pivot'},
        h('button', {type: 'button', class: 'btn btn-tiny', title: 'Add ' + f.name + ' = this value to the query', text: '+',
          onclick: () => pivot(f.name, f.value, false)}),
        h('button', {type: 'button', class: 'btn btn-tiny', title: 'Exclude this value', text: '−',
          onclick: () => pivot(f.name, f.value, true)}))));

    const dets = [];
    for (const s of hit.sigma || []) {
      dets.push(h('div', {class: 'det-row', data: {rule: s.rule_id}}, levelBadge(s.level),
        h('span', {class: 'det-title', text: s.title}),
        s.correlation ? h('span', {class: 'badge pack corr', title: 'Sigma correlation (' + s.correlation + '): this event is one of a group that met it', text: 'correlation'}) : null,
        h('button', {type: 'button', class: 'btn btn-tiny', title: 'All events of this rule', text: 'Rule events',
          onclick: () => { q.value = 'sigma.rule:' + quote(s.rule_id); runNew(); }}),
        h('button', {type: 'button', class: 'btn btn-tiny rule-why', title: 'The rule, and why it matched this event', text: 'Why?',
          onclick: () => showRuleContext(caseId, hit.id, s.rule_id)}),
        h('div', {class: 'det-sub mono small muted', text: s.rule_id + ((s.tags || []).length ? ' · ' + s.tags.join(' ') : '')})));
    }
    for (const c of hit.iocs || []) {
      dets.push(h('div', {class: 'det-row'}, h('span', {class: 'badge ioc', text: 'IOC ' + c.type}),
        h('span', {class: 'det-title mono', text: c.value}),
        h('span', {class: 'muted small', text: ' in ' + c.field}),
        h('button', {type: 'button', class: 'btn btn-tiny', text: 'IOC events', onclick: () => { q.value = 'ioc:' + quote(c.ioc_id); runNew(); }})));
    }

    const around = h('section', {class: 'detail-sec ctx-launch'}, h('h3', {text: 'Context'}),
      h('button', {type: 'button', class: 'btn btn-small', id: 'ctx-open', text: 'Events around this one',
        title: '±5 minutes on this computer, opening at this event (then: logon session, process)',
        onclick: () => openContext(root, caseId, hit.id, (p) => { app.go('search', p); }, summarize)}));
    replace(detail,
      h('div', {class: 'detail-head'},
        h('div', null,
          h('div', {class: 'detail-eid'}, h('span', {class: 'eid-big', text: String(ev.event_id)}),
            h('span', {class: 'detail-chan', text: ev.channel || ev.provider})),
          h('h2', {class: 'detail-desc', text: hit.description || 'No description for this event ID'}),
          h('div', {class: 'detail-meta'},
            h('span', {class: 'mono', text: ts(ev.time) + ' UTC'}),
            h('span', {text: ev.computer}),
            h('span', {class: 'muted', text: 'record ' + ev.record_id}))),
        close),
      around,
      dets.length ? h('section', {class: 'detail-sec'}, h('h3', {text: 'Detections'}), dets) : null,
      h('section', {class: 'detail-sec'}, h('h3', {text: 'Event data'}),
        dataRows.length ? h('table', {class: 'kv data-table', id: 'event-data'}, h('tbody', null, dataRows)) :
          h('p', {class: 'muted', text: 'No event data fields.'})),
      tagEditor(hit),
      commentThread(app, caseId, hit, () => {
        const i = hits.findIndex((x) => x.id === hit.id);
        if (i >= 0) hits[i].comments = hit.comments;
      }),
      h('section', {class: 'detail-sec'}, h('h3', {text: 'System'}),
        h('table', {class: 'kv', id: 'event-system'}, h('tbody', null, sysRows))),
      xmlSection(hit),
      h('div', {class: 'detail-foot'},
        h('button', {type: 'button', class: 'btn btn-small', text: 'Copy as JSON', onclick: () => copyJSON(hit)})));
  }

  // xmlSection is the "View XML" toggle: the event as Event Viewer's XML,
  // fetched on demand and shown as text (textContent via h's text: the
  // XML is the evidence's, attacker-controlled).
  function xmlSection(hit) {
    const pre = h('pre', {class: 'val mono event-xml', id: 'event-xml', hidden: true});
    const btn = h('button', {type: 'button', class: 'btn btn-small', id: 'view-xml', text: 'View XML'});
    let loaded = false;
    btn.addEventListener('click', async () => {
      if (!pre.hidden) {
        pre.hidden = true;
        btn.textContent = 'View XML';
        return;
      }
      pre.hidden = false;
      btn.textContent = 'Hide XML';
      if (loaded) return;
      pre.textContent = 'Loading…';
      try {
        const res = await api.eventXML(caseId, hit.id);
        pre.textContent = res.xml;
        loaded = true;
      } catch (ex) {
        pre.textContent = 'XML unavailable: ' + ex.message;
      }
    });
    return h('section', {class: 'detail-sec'}, h('h3', {text: 'XML'}), btn, pre);
  }

  // tagEditor: the star saves at once (as the row's star does); tag
  // words save with Save. Notes are comments now (commentThread).
  function tagEditor(hit) {
    const t = hit.tag || {starred: false, tags: []};
    const star = h('button', {type: 'button', class: 'btn btn-small star-btn' + (t.starred ? ' on' : ''), id: 'tag-star',
      'aria-pressed': String(!!t.starred), text: t.starred ? '★ Starred' : '☆ Star', title: 'Star or unstar now (s)'});
    star.addEventListener('click', async () => {
      const cur = hit.tag || {starred: false, tags: []};
      star.disabled = true;
      try {
        const saved = await api.tag(caseId, hit.id, {starred: !cur.starred, tags: cur.tags || []});
        hit.tag = saved && (saved.starred || (saved.tags || []).length) ? saved : null;
        star.classList.toggle('on', !!saved.starred);
        star.setAttribute('aria-pressed', String(!!saved.starred));
        star.textContent = saved.starred ? '★ Starred' : '☆ Star';
        applyTag(hit.id, saved, true);
      } catch (ex) {
        msg.textContent = ex.message;
        msg.className = 'tag-msg err-text';
      } finally {
        star.disabled = false;
      }
    });
    const tags = h('input', {type: 'text', id: 'tag-words', placeholder: 'tags, e.g. lateral-movement persistence', autocomplete: 'off', spellcheck: 'false'});
    tags.value = (t.tags || []).join(' ');
    const msg = h('span', {class: 'tag-msg', id: 'tag-msg', role: 'status'});
    const save = h('button', {type: 'submit', class: 'btn btn-primary btn-small', id: 'tag-save', text: 'Save tags'});
    const form = h('form', {class: 'detail-sec tag-form', id: 'tag-form'}, h('h3', {text: 'Analyst tags'}),
      h('div', {class: 'tag-row needs-analyst'}, star, tags, save), msg,
      !app.can('analyst') && (t.tags || []).length ? h('div', {class: 'small'}, h('span', {class: 'muted', text: 'Tags: '}),
        h('span', {class: 'mono', text: '#' + t.tags.join(' #')})) : null);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const words = tags.value.split(/[\s,]+/).filter(Boolean);
      const cur = hit.tag || {starred: false};
      try {
        const saved = await api.tag(caseId, hit.id, {starred: !!cur.starred, tags: words});
        applyTag(hit.id, saved);
        toast('Tags saved', 'ok', 2500);
      } catch (ex) {
        msg.textContent = ex.message;
        msg.className = 'tag-msg err-text';
      }
    });
    return form;
  }

  // applyTag shows a saved tag in the row (and, unless keepPanel, the
  // open panel).
  function applyTag(id, tag, keepPanel) {
    const i = hits.findIndex((x) => x.id === id);
    if (i < 0) { app.refreshCase(); return; }
    hits[i].tag = tag && (tag.starred || (tag.tags || []).length) ? tag : null;
    const old = tbody.children[i];
    const tr = resultRow(hits[i], i);
    if (old) {
      if (i === selected) tr.classList.add('sel');
      tbody.replaceChild(tr, old);
    }
    if (!detail.hidden && i === selected && !keepPanel) renderDetail(hits[i]);
    app.refreshCase();
  }

  async function toggleStar(i) {
    if (!app.can('analyst')) return;
    const hit = hits[i];
    const t = hit.tag || {starred: false, tags: []};
    try {
      const saved = await api.tag(caseId, hit.id, {starred: !t.starred, tags: t.tags || []});
      applyTag(hit.id, saved);
    } catch (ex) {
      toast(ex.message, 'error');
    }
  }

  function pivot(name, value, exclude) {
    const clause = (exclude ? '-' : '') + fieldName(name) + ':' + quote(value);
    q.value = q.value.trim() ? q.value.trim() + ' ' + clause : clause;
    runNew();
  }

  function copyJSON(hit) {
    const text = JSON.stringify(hit, null, 2);
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(() => toast('Event copied as JSON', 'ok', 2000),
        () => toast('Copy failed: clipboard not available', 'error'));
    }
  }

  function renderFacets(f) {
    const groups = [['channel', 'Channel'], ['event_id', 'Event ID'], ['computer', 'Computer'], ['provider', 'Provider']];
    const out = [];
    for (const [key, label] of groups) {
      const vals = f[key] || [];
      if (!vals.length) continue;
      const list = h('ul', {class: 'facet-list'});
      for (const v of vals) {
        list.appendChild(h('li', {class: 'facet-li'}, h('button', {type: 'button', class: 'facet-btn', title: v.value + '\nclick: filter · alt-click: exclude',
          onclick: (e) => { if (e.altKey) addClause(valuesClause(FACET_FIELDS[key], [v.value], true)); else facetPick(key, v.value); }},
        h('span', {class: 'facet-v', text: v.value}), h('span', {class: 'facet-n', text: num(v.count)})),
        h('button', {type: 'button', class: 'btn btn-tiny agg-x', title: 'Exclude ' + v.value, text: '−',
          onclick: () => addClause(valuesClause(FACET_FIELDS[key], [v.value], true))})));
      }
      out.push(h('div', {class: 'facet'}, h('h3', {text: label}), list));
    }
    if (!out.length) out.push(h('p', {class: 'muted small', text: 'No facets.'}));
    replace(facets, agg.el, ...out);
    replace(dlChannel, ...(f.channel || []).map((v) => h('option', {value: v.value})));
    replace(dlComputer, ...(f.computer || []).map((v) => h('option', {value: v.value})));
  }

  function facetPick(key, value) {
    if (key === 'channel') channel.value = value;
    else if (key === 'computer') computer.value = value;
    else if (key === 'event_id') eid.value = value;
    else if (key === 'provider') st.provider = value;
    runNew();
  }

  function renderProvider() {
    if (!st.provider) { provider.hidden = true; clear(provider); return; }
    provider.hidden = false;
    replace(provider, h('span', {text: 'Provider: ' + st.provider}),
      h('button', {type: 'button', class: 'chip-x', title: 'Remove filter', text: '×',
        onclick: () => { st.provider = ''; runNew(); }}));
  }

  // renderHistogram draws events per interval with a y-axis; a click on
  // a bar, or a drag across bars (brush), narrows the range to them.
  function renderHistogram(buckets) {
    if (!buckets.length) { hist.hidden = true; clear(hist); return; }
    hist.hidden = false;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const bars = buckets.map((b, i) => {
      const bar = h('button', {type: 'button', class: 'hbar' + (b.count ? '' : ' zero'), data: {i},
        title: ts(b.start, false) + ' UTC — ' + num(b.count) + ' events'});
      // CSSOM writes are not inline markup; the CSP allows them.
      bar.style.height = (b.count ? Math.max(4, Math.round(100 * b.count / max)) : 1) + '%';
      return bar;
    });
    const barBox = h('div', {class: 'hist-bars', id: 'hist-bars'}, bars);
    const brush = h('div', {class: 'hist-brush', hidden: true});
    barBox.appendChild(brush);
    let from0 = -1;
    const idxAt = (e) => {
      const r = barBox.getBoundingClientRect();
      return Math.max(0, Math.min(buckets.length - 1, Math.floor((e.clientX - r.left) / r.width * buckets.length)));
    };
    const showBrush = (a, b) => {
      const lo = Math.min(a, b), hi = Math.max(a, b);
      brush.hidden = false;
      brush.style.left = (100 * lo / buckets.length) + '%';
      brush.style.width = (100 * (hi - lo + 1) / buckets.length) + '%';
    };
    barBox.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      from0 = idxAt(e);
      barBox.setPointerCapture(e.pointerId);
      showBrush(from0, from0);
    });
    barBox.addEventListener('pointermove', (e) => { if (from0 >= 0) showBrush(from0, idxAt(e)); });
    barBox.addEventListener('pointerup', (e) => {
      if (from0 < 0) return;
      const a = Math.min(from0, idxAt(e)), b = Math.max(from0, idxAt(e));
      from0 = -1;
      brush.hidden = true;
      zoom(a, b);
    });
    // Keyboard: Enter on a bar zooms to it.
    barBox.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.target.dataset.i !== undefined) { e.preventDefault(); zoom(+e.target.dataset.i, +e.target.dataset.i); }
    });
    function zoom(a, b) {
      if (!buckets.slice(a, b + 1).some((x) => x.count)) return;
      const end = buckets[b + 1] ? buckets[b + 1].start : null;
      timeSel.value = 'custom';
      custom.hidden = false;
      from.value = shownTime(buckets[a].start);
      to.value = end ? shownTime(end) : '';
      runNew();
    }
    const yAxis = h('div', {class: 'hist-y', id: 'hist-y', 'aria-hidden': 'true'},
      h('span', {text: num(max)}), h('span', {text: num(Math.round(max / 2))}), h('span', {text: '0'}));
    replace(hist,
      h('div', {class: 'hist-main'}, yAxis, barBox),
      h('div', {class: 'hist-axis'}, h('span', {text: ts(buckets[0].start, false)}),
        h('span', {class: 'muted', text: 'drag across bars to zoom'}),
        h('span', {text: ts(buckets[buckets.length - 1].start, false)})));
  }

  function onKey(e) {
    if (e.key === 'Escape') {
      if (document.activeElement === q) { q.blur(); return true; }
      if (!detail.hidden) { closeDetail(); return true; }
      return false;
    }
    switch (e.key) {
      case '/': q.focus(); q.select(); return true;
      case 'j': select(Math.min(hits.length - 1, selected + 1), true); return true;
      case 'k': select(Math.max(0, selected - 1), true); return true;
      case 'Enter': if (selected >= 0) { openDetail(selected); return true; } return false;
      case 's': if (selected >= 0) { toggleStar(selected); return true; } return false;
      case 'n': page(1); return true;
      case 'p': page(-1); return true;
    }
    return false;
  }

  // A link may name an event to open (the timeline's rows): it opens in
  // the panel once the results are in, selected when on this page.
  const openId = params.get('event');
  start().then(() => { if (openId) openEvent(openId); });
  if (!st.q && !openId) q.focus();

  async function openEvent(id) {
    const i = hits.findIndex((x) => x.id === id);
    if (i >= 0) { select(i, true); return; }
    try {
      const hit = await api.event(caseId, id);
      detail.hidden = false;
      body.classList.add('with-detail');
      renderDetail(hit);
    } catch (ex) {
      toast('Cannot open event ' + id + ': ' + ex.message, 'error');
    }
  }
  return {onKey, unmount() { seq++; detailSeq++; alive = false; clearTimeout(jobTimer); }};
}

// splitCols reads the cols parameter: field names separated by commas.
function splitCols(v) {
  return (v || '').split(',').map((c) => c.trim()).filter(Boolean);
}

// FACET_FIELDS are the query fields of the facets.
const FACET_FIELDS = {channel: 'Channel', event_id: 'EventID', computer: 'Computer', provider: 'Provider'};

// SYSTEM_COLS are the columns a result row has without its data fields,
// and how to read them.
const SYSTEM_COLS = {
  computer: (ev) => ev.computer, channel: (ev) => ev.channel, provider: (ev) => ev.provider,
  eventid: (ev) => String(ev.event_id), eventrecordid: (ev) => String(ev.record_id), level: (ev) => String(ev.level),
  task: (ev) => String(ev.task), opcode: (ev) => String(ev.opcode), keywords: (ev) => ev.keywords,
  'system.processid': (ev) => String(ev.process_id), threadid: (ev) => String(ev.thread_id), user: (ev) => ev.user_id,
  userid: (ev) => ev.user_id, activityid: (ev) => ev.activity_id, providerguid: (ev) => ev.provider_guid,
};

// colValue is a row's value of a column: a System field, or a data field
// by name (a UserData path by its leaf); undefined when the row does not
// hold its data fields yet, '' when the event has none.
function colValue(hit, col) {
  const ev = hit.event;
  if (!ev) return '';
  const sys = SYSTEM_COLS[col.toLowerCase()];
  if (sys) return sys(ev) || '';
  const want = col.toLowerCase();
  const vals = (ev.data || []).filter((f) => {
    const n = f.name.toLowerCase();
    return n === want || n.endsWith('.' + want);
  }).map((f) => f.value);
  if (vals.length) return vals.join(' · ');
  return hit.partial ? undefined : '';
}

// syntaxHelp is the query language cheat sheet; clicking an example runs it.

function syntaxHelp(run) {
  const rows = EXAMPLES.map(([ex, what]) => h('tr', null,
    h('td', null, h('button', {type: 'button', class: 'example mono', text: ex, onclick: () => run(ex)})),
    h('td', {class: 'muted', text: what})));
  return h('div', {class: 'syntax-help card', id: 'syntax-help'},
    h('div', {class: 'syntax-cols'},
      h('div', null,
        h('h3', {text: 'Query language'}),
        h('ul', {class: 'syntax-list'},
          h('li', null, h('code', {text: 'Field:value'}), ' — any Windows/Sysmon field (', h('code', {text: 'TargetUserName'}), ', ',
            h('code', {text: 'CommandLine'}), '…) or a system field: ', h('code', {text: 'EventID Channel Provider Computer Level time user file'})),
          h('li', null, h('code', {text: 'a b'}), ' = both; ', h('code', {text: 'OR'}), ', ', h('code', {text: 'NOT'}), ' / ', h('code', {text: '-field:x'}),
            ', parentheses; ', h('code', {text: 'field:(a OR b)'})),
          h('li', null, h('code', {text: '"exact phrase"'}), ', wildcards ', h('code', {text: '* ?'}), ', ', h('code', {text: '/regex/'}),
            ', ranges ', h('code', {text: '[a TO b]'}), ', ', h('code', {text: 'field:>=5'}), ', ', h('code', {text: 'field:*'}), ' (exists)'),
          h('li', null, 'Files: ', h('code', {text: 'file:Security.evtx'}), ', ', h('code', {text: 'file:*.evtx'}), ', ',
            h('code', {text: 'file:"DC01*"'}), ' (name or glob, case-insensitive) or ', h('code', {text: 'file:12'}), ' (its ID)'),
          h('li', null, 'Bare words also match System values: ', h('code', {text: '4624'}),
            ' finds EventID 4624 (and record 4624), ', h('code', {text: 'security'}), ' the Security channel, a computer or provider name.'),
          h('li', null, 'Detections: ', h('code', {text: 'sigma:* sigma.rule:<id> sigma.level:>=high ioc:* ioc.type:ip tag:x tag:starred'})),
          h('li', null, 'Times are UTC: ', h('code', {text: 'time:2024-05-14'}), ', ', h('code', {text: 'time:[2024-05-14T10:00 TO 2024-05-14T12:00]'}),
            '; values are case-insensitive. Unknown field names are reported.'))),
      h('div', null, h('h3', {text: 'Examples'}), h('table', {class: 'examples'}, h('tbody', null, rows)))));
}

function quote(v) {
  return '"' + String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// fieldName writes a data field name for the query: names with spaces or
// syntax characters are quoted; UserData paths use their leaf.
function fieldName(name) {
  const leaf = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
  return /^[A-Za-z0-9_]+$/.test(leaf) ? leaf : quote(leaf);
}

// utc reads a 24-hour UTC time typed as "2024-05-14 13:05[:00]" (or
// with a T) into RFC 3339.
function utc(text) {
  let t = text.trim().replace(' ', 'T').replace(/Z$/, '');
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00';
  if (/T\d{2}:\d{2}$/.test(t)) t += ':00';
  return t + 'Z';
}

// shownTime writes an RFC 3339 UTC time as the range inputs show it:
// "2024-05-14 13:05:00".
function shownTime(t) {
  return t ? t.replace(/Z$/, '').replace('T', ' ').slice(0, 19) : '';
}

// summarize picks a few telling fields for the results table.
function summarize(ev) {
  const data = ev.data || [];
  const by = new Map(data.map((f) => [f.name, f.value]));
  const parts = [];
  for (const k of SUMMARY_FIELDS) {
    const v = by.get(k);
    if (v && v !== '-' && parts.length < 4) parts.push(k + '=' + clip(v, 160));
  }
  for (const f of data) {
    if (parts.length >= 3) break;
    if (f.value && f.value !== '-' && !SUMMARY_FIELDS.includes(f.name)) parts.push(f.name + '=' + clip(f.value, 80));
  }
  return parts.join('  ');
}

function clip(s, n) {
  s = String(s).replace(/\s+/g, ' ');
  return s.length > n ? s.slice(0, n) + '…' : s;
}

