// Search: query box with syntax help, filters, histogram, facets, results
// (newest first, cursor paging), event detail with tags.

import {h, $$, replace, clear, num, ts, levelBadge, toast, emptyRow, LEVELS, progressBar} from './dom.js';
import {api, exportURL} from './api.js';
import {showRuleContext} from './rulectx.js';

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
  };
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
  const sortLabel = () => { sortBtn.textContent = st.sort === 'asc' ? 'Oldest first' : 'Newest first'; };
  sortLabel();
  sortBtn.addEventListener('click', () => { st.sort = st.sort === 'asc' ? '' : 'asc'; sortLabel(); runNew(); });
  const form = h('form', {class: 'q-bar', id: 'search-form'}, q, runBtn, helpBtn, sortBtn);
  // After Enter the box lets go of the keyboard, so j/k move through the
  // results at once.
  form.addEventListener('submit', (e) => { e.preventDefault(); q.blur(); runNew(); });

  // Filters.
  const timeSel = h('select', {id: 'f-time', 'aria-label': 'Time range'},
    opt('', 'All time'), opt('1h', 'Last 1 hour'), opt('24h', 'Last 24 hours'), opt('7d', 'Last 7 days'),
    opt('30d', 'Last 30 days'), opt('custom', 'Custom range (UTC)…'));
  timeSel.value = st.time;
  const from = h('input', {type: 'datetime-local', id: 'f-from', step: 1, 'aria-label': 'From (UTC)'});
  const to = h('input', {type: 'datetime-local', id: 'f-to', step: 1, 'aria-label': 'To (UTC)'});
  from.value = st.from.replace(/Z$/, '');
  to.value = st.to.replace(/Z$/, '');
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
  const table = h('table', {class: 'grid dense results', id: 'results'},
    h('thead', null, h('tr', null,
      h('th', {class: 'star-col', title: 'Starred', text: '★'}), h('th', {class: 'time-h', text: 'Time (UTC)'}),
      h('th', {class: 'comp-h', text: 'Computer'}), h('th', {class: 'chan-h', text: 'Channel'}), h('th', {class: 'num eid-h', text: 'ID'}),
      h('th', {class: 'event-h', text: 'Event'}), h('th', {class: 'det-h', text: 'Detections'}))),
    tbody);
  const info = h('span', {class: 'page-info', id: 'page-info'});
  const prev = h('button', {type: 'button', class: 'btn btn-small', id: 'prev-page', text: '‹ Prev', title: 'Previous page (p)'});
  const next = h('button', {type: 'button', class: 'btn btn-small', id: 'next-page', text: 'Next ›', title: 'Next page (n)'});
  prev.addEventListener('click', () => page(-1));
  next.addEventListener('click', () => page(1));
  // Export downloads what the search shows (filters and time range
  // included), oldest first, as a file.
  let ran = null; // {query, from, to} of the last search that ran
  const exportSel = h('select', {id: 'export-format', class: 'export-select', 'aria-label': 'Export these events'},
    opt('', 'Export…'), opt('csv', 'CSV (Timeline Explorer)'), opt('jsonl', 'JSONL (Timesketch)'), opt('sigma-csv', 'Sigma hits CSV'));
  exportSel.addEventListener('change', () => {
    const format = exportSel.value;
    exportSel.value = '';
    if (!format || !ran) return;
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

  replace(root, h('div', {class: 'search-top'}, form, err, help, filters, hist), body);

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
    if (cursor) { p.cursor = cursor; p.facets = '0'; } else { p.histogram = '1'; }
    return p;
  }

  function urlState() {
    const p = {};
    for (const k of ['q', 'time', 'from', 'to', 'channel', 'event_id', 'computer', 'provider', 'sigma_level', 'sort']) if (st[k]) p[k] = st[k];
    if (st.ioc) p.ioc = '1';
    if (st.starred) p.starred = '1';
    return p;
  }

  function runNew() {
    readFilters();
    cursors = [''];
    app.setParams(urlState());
    load();
  }

  function page(dir) {
    if (dir > 0 && nextCursor) { cursors.push(nextCursor); load(); }
    if (dir < 0 && cursors.length > 1) { cursors.pop(); load(); }
  }

  async function load() {
    const my = ++seq;
    const cursor = cursors[cursors.length - 1];
    renderProvider();
    runBtn.disabled = true;
    resultsCol.classList.add('loading');
    let res;
    try {
      res = await api.search(caseId, apiParams(cursor));
    } catch (ex) {
      if (my !== seq) return;
      err.textContent = ex.message;
      q.classList.toggle('invalid', ex.status === 400);
      replace(tbody, emptyRow(7, ex.status === 400 ? 'Fix the query above.' : 'Search failed.'));
      hits = []; selected = -1; nextCursor = '';
      updatePager();
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
      replace(tbody, emptyRow(7, msg));
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
        h('td', null, starBtn), h('td', {colspan: 5, class: 'muted', text: 'Event unavailable (its file was removed) · ' + hit.id}), det);
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
    renderDetail(hit);
    try {
      const fresh = await api.event(caseId, hit.id);
      if (my !== detailSeq) return;
      hits[i] = fresh;
      renderDetail(fresh);
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
      h('td', null, h('div', {class: 'val mono', text: f.value})),
      h('td', {class: 'pivot'},
        h('button', {type: 'button', class: 'btn btn-tiny', title: 'Add ' + f.name + ' = this value to the query', text: '+',
          onclick: () => pivot(f.name, f.value, false)}),
        h('button', {type: 'button', class: 'btn btn-tiny', title: 'Exclude this value', text: '−',
          onclick: () => pivot(f.name, f.value, true)}))));

    const dets = [];
    for (const s of hit.sigma || []) {
      dets.push(h('div', {class: 'det-row'}, levelBadge(s.level),
        h('span', {class: 'det-title', text: s.title}),
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
      dets.length ? h('section', {class: 'detail-sec'}, h('h3', {text: 'Detections'}), dets) : null,
      h('section', {class: 'detail-sec'}, h('h3', {text: 'Event data'}),
        dataRows.length ? h('table', {class: 'kv data-table', id: 'event-data'}, h('tbody', null, dataRows)) :
          h('p', {class: 'muted', text: 'No event data fields.'})),
      tagEditor(hit),
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

  function tagEditor(hit) {
    const t = hit.tag || {starred: false, tags: [], note: ''};
    let starredNow = !!t.starred;
    const star = h('button', {type: 'button', class: 'btn btn-small star-btn' + (starredNow ? ' on' : ''), id: 'tag-star',
      text: starredNow ? '★ Starred' : '☆ Star'});
    star.addEventListener('click', () => {
      starredNow = !starredNow;
      star.classList.toggle('on', starredNow);
      star.textContent = starredNow ? '★ Starred' : '☆ Star';
    });
    const tags = h('input', {type: 'text', id: 'tag-words', placeholder: 'tags, e.g. lateral-movement persistence', autocomplete: 'off', spellcheck: 'false'});
    tags.value = (t.tags || []).join(' ');
    const note = h('textarea', {id: 'tag-note', rows: 2, placeholder: 'Note for this event', maxlength: 4000});
    note.value = t.note || '';
    const msg = h('span', {class: 'tag-msg', id: 'tag-msg', role: 'status'});
    const save = h('button', {type: 'submit', class: 'btn btn-primary btn-small', id: 'tag-save', text: 'Save'});
    const form = h('form', {class: 'detail-sec tag-form', id: 'tag-form'}, h('h3', {text: 'Analyst tags'}),
      h('div', {class: 'tag-row needs-analyst'}, star, tags, save), h('div', {class: 'needs-analyst'}, note), msg,
      !app.can('analyst') && (t.tags || []).length ? h('div', {class: 'small'}, h('span', {class: 'muted', text: 'Tags: '}),
        h('span', {class: 'mono', text: '#' + t.tags.join(' #')})) : null,
      t.note ? h('div', {class: 'note-view', id: 'note-view'}, h('span', {class: 'muted small', text: 'Saved note: '}), h('span', {text: t.note})) : null);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const words = tags.value.split(/[\s,]+/).filter(Boolean);
      try {
        const saved = await api.tag(caseId, hit.id, {starred: starredNow, tags: words, note: note.value});
        applyTag(hit.id, saved);
        toast('Tags saved', 'ok', 2500);
      } catch (ex) {
        msg.textContent = ex.message;
        msg.className = 'tag-msg err-text';
      }
    });
    return form;
  }

  function applyTag(id, tag) {
    const i = hits.findIndex((x) => x.id === id);
    if (i < 0) return;
    hits[i].tag = tag && (tag.starred || (tag.tags || []).length || tag.note) ? tag : null;
    const old = tbody.children[i];
    const tr = resultRow(hits[i], i);
    if (old) {
      if (i === selected) tr.classList.add('sel');
      tbody.replaceChild(tr, old);
    }
    if (!detail.hidden && i === selected) renderDetail(hits[i]);
    app.refreshCase();
  }

  async function toggleStar(i) {
    if (!app.can('analyst')) return;
    const hit = hits[i];
    const t = hit.tag || {starred: false, tags: [], note: ''};
    try {
      const saved = await api.tag(caseId, hit.id, {starred: !t.starred, tags: t.tags || [], note: t.note || ''});
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
        list.appendChild(h('li', null, h('button', {type: 'button', class: 'facet-btn', title: v.value,
          onclick: () => facetPick(key, v.value)},
        h('span', {class: 'facet-v', text: v.value}), h('span', {class: 'facet-n', text: num(v.count)}))));
      }
      out.push(h('div', {class: 'facet'}, h('h3', {text: label}), list));
    }
    if (!out.length) out.push(h('p', {class: 'muted small', text: 'No facets.'}));
    replace(facets, ...out);
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

  function renderHistogram(buckets) {
    if (!buckets.length) { hist.hidden = true; clear(hist); return; }
    hist.hidden = false;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const bars = buckets.map((b, i) => {
      const end = buckets[i + 1] ? buckets[i + 1].start : null;
      const bar = h('button', {type: 'button', class: 'hbar' + (b.count ? '' : ' zero'),
        title: ts(b.start, false) + ' UTC — ' + num(b.count) + ' events',
        onclick: () => {
          if (!b.count) return;
          timeSel.value = 'custom';
          custom.hidden = false;
          from.value = b.start.replace(/Z$/, '').slice(0, 19);
          to.value = end ? end.replace(/Z$/, '').slice(0, 19) : '';
          runNew();
        }});
      // CSSOM writes are not inline markup; the CSP allows them.
      bar.style.height = (b.count ? Math.max(4, Math.round(100 * b.count / max)) : 1) + '%';
      return bar;
    });
    replace(hist,
      h('div', {class: 'hist-bars'}, bars),
      h('div', {class: 'hist-axis'}, h('span', {text: ts(buckets[0].start, false)}),
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

  load();
  if (!st.q) q.focus();
  return {onKey, unmount() { seq++; detailSeq++; alive = false; clearTimeout(jobTimer); }};
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

function utc(local) {
  // datetime-local has no zone; the UI works in UTC.
  return (local.length === 16 ? local + ':00' : local) + 'Z';
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

