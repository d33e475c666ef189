// Evidence: drop zone (files, folders, ZIPs) with per-file and overall
// upload progress, bulk import from a folder on this machine, and the live
// files table.

import {h, replace, num, bytes, ago, stateBadge, toast, poll, emptyRow, field, progressBar} from './dom.js';
import {api, upload} from './api.js';

export const caseView = true;

const PARALLEL = 3;           // uploads in flight at once
const MAX_ROWS = 2000;        // files table rows rendered at once
// In dropped folders only these are uploaded (the server tells formats by
// content; the names keep notes and tool output out of the case).
const EVIDENCE_EXT = /\.(evtx|zip|json|jsonl|ndjson|xml|csv|log|gz)$/i;

// Uploads outlive the view: an analyst may drop a large folder and go on
// searching; coming back shows the same progress.
const uploaders = new Map(); // case ID → uploads panel

export function mount(root, app) {
  const caseId = app.caseId;
  const files = newFilesTable(app, caseId);
  let uploads = uploaders.get(caseId);
  if (!uploads) {
    uploads = newUploads(app, caseId);
    uploaders.set(caseId, uploads);
  }
  uploads.onRecorded = () => files.refresh();
  const importer = newImportForm(app, caseId);

  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Evidence'}),
      h('p', {class: 'muted', text: 'Drop event logs (EVTX; Windows events as JSON or XML; JSON, CSV and web-server logs, gzip too), whole folders or ZIP archives. Files stream to disk and are processed in the background; this page updates by itself.'})),
    h('div', {class: 'evidence-top'}, uploads.zone, importer.el),
    uploads.panel,
    files.el);
  const stop = poll(() => files.refresh(), 1500);
  return {
    unmount() { stop(); uploads.onRecorded = null; },
  };
}

// newUploads builds the drop zone and the upload progress panel.
function newUploads(app, caseId) {
  const list = h('div', {class: 'upload-list', id: 'upload-list'});
  const overall = progressBar('bar-overall');
  overall.id = 'upload-overall';
  const overallText = h('span', {class: 'upload-summary', id: 'upload-summary'});
  const clearBtn = h('button', {type: 'button', class: 'btn btn-small', text: 'Clear finished'});
  const panel = h('section', {class: 'card upload-panel', id: 'upload-panel', hidden: true},
    h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Uploads'}), overallText, clearBtn),
    overall, list);

  const items = [];
  let active = 0;

  const pick = h('input', {type: 'file', multiple: true, accept: '.evtx,.zip,.json,.jsonl,.ndjson,.xml,.csv,.log,.gz', id: 'file-pick', hidden: true});
  const pickDir = h('input', {type: 'file', multiple: true, webkitdirectory: true, id: 'dir-pick', hidden: true});
  pick.addEventListener('change', () => {
    add(Array.from(pick.files).map((f) => ({file: f, name: f.name, inFolder: false})));
    pick.value = '';
  });
  pickDir.addEventListener('change', () => {
    add(Array.from(pickDir.files).map((f) => ({file: f, name: f.webkitRelativePath || f.name, inFolder: true})));
    pickDir.value = '';
  });
  const zone = h('div', {class: 'dropzone needs-analyst', id: 'dropzone', tabindex: 0, role: 'button',
    'aria-label': 'Drop evidence files, folders or ZIP archives here'},
  h('div', {class: 'dz-icon', 'aria-hidden': 'true', text: '⇪'}),
  h('div', {class: 'dz-title', text: 'Drop EVTX files, folders or ZIPs here'}),
  h('div', {class: 'dz-sub'},
    h('button', {type: 'button', class: 'btn btn-small', text: 'Choose files…', onclick: (e) => { e.stopPropagation(); pick.click(); }}),
    h('button', {type: 'button', class: 'btn btn-small', text: 'Choose folder…', onclick: (e) => { e.stopPropagation(); pickDir.click(); }})),
  h('div', {class: 'dz-hint', text: 'Folders are searched recursively for .evtx, .zip, .json, .jsonl, .ndjson, .xml, .csv, .log and .gz files. Duplicates (same SHA-256) are recorded but not indexed twice.'}),
  pick, pickDir);
  zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick.click(); } });
  let depth = 0;
  zone.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; zone.classList.add('over'); });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
  zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove('over'); });
  zone.addEventListener('drop', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    depth = 0;
    zone.classList.remove('over');
    const got = await filesFromDrop(e.dataTransfer);
    add(got);
  });

  clearBtn.addEventListener('click', () => {
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].done) { items[i].row.remove(); items.splice(i, 1); }
    }
    summary();
  });

  function add(got) {
    let skipped = 0;
    const max = app.system ? app.system.max_upload_bytes : 0;
    for (const g of got) {
      if (g.inFolder && !EVIDENCE_EXT.test(g.name)) { skipped++; continue; }
      const it = {file: g.file, name: g.name, loaded: 0, done: false, started: false};
      it.bar = progressBar();
      it.status = h('span', {class: 'up-status', text: 'waiting'});
      it.row = h('div', {class: 'upload-row', data: {state: 'waiting'}},
        h('span', {class: 'up-name mono', title: g.name, text: g.name}),
        h('span', {class: 'up-size num', text: bytes(g.file.size)}),
        it.bar, it.status);
      if (max && g.file.size > max) {
        finish(it, 'rejected', 'Rejected: larger than the ' + bytes(max) + ' upload limit');
      }
      items.push(it);
      list.appendChild(it.row);
    }
    if (skipped) toast('Skipped ' + num(skipped) + ' file(s) in the dropped folders that are not evidence files by name', 'info');
    panel.hidden = items.length === 0;
    pump();
    summary();
  }

  function finish(it, state, text) {
    it.done = true;
    it.row.dataset.state = state;
    it.status.textContent = text;
    it.status.title = text;
    if (state === 'queued') it.bar.value = 1;
  }

  function pump() {
    while (active < PARALLEL) {
      const it = items.find((x) => !x.done && !x.started);
      if (!it) break;
      it.started = true;
      active++;
      it.row.dataset.state = 'uploading';
      it.status.textContent = 'uploading';
      upload(caseId, it.file, it.name, (loaded, total) => {
        it.loaded = loaded;
        it.bar.value = total ? loaded / total : 0;
        it.status.textContent = 'uploading ' + Math.floor(100 * (total ? loaded / total : 0)) + '%';
        summary();
      }).then((res) => {
        it.loaded = it.file.size;
        const [state, text] = describeResult(res);
        finish(it, state, text);
        if (ctl.onRecorded) ctl.onRecorded();
        app.refreshCase();
      }, (err) => {
        finish(it, err.status === 413 ? 'rejected' : 'error', (err.status === 413 ? 'Rejected: ' : 'Failed: ') + err.message);
      }).finally(() => {
        active--;
        summary();
        pump();
      });
    }
  }

  function summary() {
    let total = 0;
    let loaded = 0;
    let done = 0;
    let bad = 0;
    for (const it of items) {
      total += it.file.size;
      loaded += it.done ? it.file.size : it.loaded;
      if (it.done) done++;
      if (it.done && it.row.dataset.state !== 'queued') bad++;
    }
    overall.value = total ? loaded / total : 0;
    overallText.textContent = num(done) + ' of ' + num(items.length) + ' files · ' + bytes(loaded) + ' of ' + bytes(total) +
      (bad ? ' · ' + num(bad) + ' not queued' : '');
    panel.hidden = items.length === 0;
  }

  // Leaving the page would cut uploads short: ask first.
  window.addEventListener('beforeunload', (e) => {
    if (active > 0 || items.some((x) => !x.done)) e.preventDefault();
  });
  const ctl = {zone, panel, onRecorded: null};
  return ctl;
}

// describeResult turns the server's answer for one uploaded file into a
// row state and message.
function describeResult(res) {
  const skipped = res.skipped || [];
  const archive = /\.zip$/i.test(res.name || '');
  if (!archive && res.queued === 1 && !skipped.length) return ['queued', 'Uploaded · queued for processing (file ' + res.file_ids[0] + ')'];
  if (!archive && res.file_ids.length === 1 && skipped.length === 1) {
    const s = skipped[0];
    if (s.state === 'duplicate') return ['duplicate', 'Duplicate: ' + s.reason];
    return ['rejected', 'Rejected: ' + s.reason.replace(/^rejected: /, '')];
  }
  const parts = [num(res.queued) + ' queued'];
  if (res.rejected) parts.push(num(res.rejected) + ' rejected');
  if (res.duplicates) parts.push(num(res.duplicates) + ' duplicates');
  const first = skipped.length ? ' — ' + skipped[0].name + ': ' + skipped[0].reason : '';
  return [res.queued ? 'queued' : 'rejected', (archive ? 'Archive: ' : '') + parts.join(', ') + first];
}

// filesFromDrop lists the dropped files, walking dropped folders
// recursively. Entries must be taken from the DataTransfer before the
// first await: it is emptied when the drop handler yields.
async function filesFromDrop(dt) {
  const out = [];
  if (!dt) return out;
  const taken = [];
  if (dt.items && dt.items.length) {
    for (const it of Array.from(dt.items)) {
      if (it.kind !== 'file') continue;
      const entry = typeof it.webkitGetAsEntry === 'function' ? it.webkitGetAsEntry() : null;
      taken.push({entry, file: it.getAsFile()});
    }
  } else if (dt.files) {
    for (const f of Array.from(dt.files)) taken.push({entry: null, file: f});
  }
  for (const t of taken) {
    if (t.entry && t.entry.isDirectory) {
      await walk(t.entry, out);
    } else if (t.file) {
      out.push({file: t.file, name: t.file.name, inFolder: false});
    } else if (t.entry && t.entry.isFile) {
      try {
        out.push({file: await entryFile(t.entry), name: t.entry.name, inFolder: false});
      } catch (e) {
        toast('Cannot read ' + t.entry.name + ': ' + e.message, 'error');
      }
    }
  }
  return out;
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(dir, out) {
  const reader = dir.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return;
    for (const e of batch) {
      if (e.isDirectory) {
        await walk(e, out);
      } else if (e.isFile) {
        try {
          out.push({file: await entryFile(e), name: e.fullPath.replace(/^\/+/, ''), inFolder: true});
        } catch (err) {
          toast('Cannot read ' + e.fullPath + ': ' + err.message, 'error');
        }
      }
    }
  }
}

// newImportForm is the bulk import from a folder on this machine.
function newImportForm(app, caseId) {
  const path = h('input', {type: 'text', id: 'import-path', placeholder: '/mnt/evidence/HOST-7/Windows/System32/winevt/Logs',
    autocomplete: 'off', spellcheck: 'false'});
  const btn = h('button', {type: 'submit', class: 'btn', id: 'import-btn', text: 'Import'});
  const out = h('div', {class: 'import-result', id: 'import-result', 'aria-live': 'polite'});
  const form = h('form', {class: 'card import-card needs-admin', id: 'import-form'},
    h('h2', {class: 'card-title', text: 'Bulk import from this machine'}),
    h('p', {class: 'muted small', text: 'For mounted evidence drives and large collections: an absolute path to a folder, an evidence file or a ZIP on the machine running casescope. Files are copied into the case.'}),
    h('div', {class: 'form-row'}, field('Path', path), btn),
    out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    btn.disabled = true;
    replace(out, h('span', {class: 'spinner', 'aria-hidden': 'true'}), ' Copying files into the case…');
    try {
      const res = await api.importPath(caseId, path.value.trim());
      const lines = [h('div', {class: 'ok-text', text: 'Recorded ' + num(res.file_ids.length) + ' files: ' + num(res.queued) +
        ' queued, ' + num(res.rejected) + ' rejected, ' + num(res.duplicates) + ' duplicates.'})];
      for (const s of (res.skipped || []).slice(0, 20)) {
        lines.push(h('div', {class: 'small muted'}, h('span', {class: 'mono', text: s.name}), ' — ', s.reason));
      }
      replace(out, ...lines);
      app.refreshCase();
    } catch (ex) {
      replace(out, h('div', {class: 'form-error', text: ex.message}));
    } finally {
      btn.disabled = false;
    }
  });
  return {el: form};
}

// newFilesTable is the live files table with its filters and actions.
function newFilesTable(app, caseId) {
  let showHidden = false;
  let stateFilter = '';
  let text = '';
  let last = [];
  let lastKey = null;
  let lastStates = '';
  const rows = new Map(); // id → {sig, tr}

  const chips = h('div', {class: 'chips', id: 'state-chips'});
  const hiddenToggle = h('input', {type: 'checkbox', id: 'show-hidden'});
  const hiddenLabel = h('label', {class: 'toggle', for: 'show-hidden'}, hiddenToggle, h('span', {text: 'Show hidden'}));
  const filter = h('input', {type: 'search', placeholder: 'Filter by name…', class: 'filter-input', id: 'files-filter'});
  const tbody = h('tbody');
  const note = h('div', {class: 'muted small table-note'});
  const table = h('table', {class: 'grid dense', id: 'files-table'},
    h('thead', null, h('tr', null,
      h('th', {class: 'num', text: '#'}), h('th', {text: 'File'}), h('th', {class: 'num', text: 'Size'}),
      h('th', {text: 'State'}), h('th', {class: 'num', text: 'Events'}), h('th', {class: 'num', text: 'Sigma'}),
      h('th', {class: 'num', text: 'IOC'}), h('th', {text: 'Notes'}), h('th', {text: 'Updated'}), h('th', {text: ''}))),
    tbody);
  const el = h('section', {class: 'card', id: 'files-card'},
    h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Files'}), chips, h('span', {class: 'spacer'}),
      filter, hiddenLabel),
    h('div', {class: 'table-wrap'}, table), note);

  hiddenToggle.addEventListener('change', () => { showHidden = hiddenToggle.checked; render(true); });
  filter.addEventListener('input', () => { text = filter.value.toLowerCase(); render(true); });

  async function refresh() {
    try {
      last = await api.files(caseId);
    } catch (ex) {
      replace(tbody, emptyRow(10, 'Cannot list files: ' + ex.message));
      lastKey = null;
      return;
    }
    // Any change of state moves the case's counts: refresh them now
    // rather than at their own next poll.
    const states = last.map((f) => f.id + f.state + f.events).join();
    if (states !== lastStates) {
      lastStates = states;
      app.refreshCase();
    }
    render(false);
  }

  function render(force) {
    const counts = {};
    let hidden = 0;
    for (const f of last) {
      if (f.hidden) { hidden++; if (!showHidden) continue; }
      counts[f.state] = (counts[f.state] || 0) + 1;
    }
    renderChips(counts);
    hiddenLabel.lastChild.textContent = 'Show hidden (' + num(hidden) + ')';
    const shown = [];
    for (let i = last.length - 1; i >= 0; i--) {
      const f = last[i];
      if (f.hidden && !showHidden) continue;
      if (stateFilter && f.state !== stateFilter) continue;
      if (text && !f.name.toLowerCase().includes(text)) continue;
      shown.push(f);
    }
    const page = shown.slice(0, MAX_ROWS);
    const key = page.map((f) => f.id + ':' + sig(f)).join('|');
    if (!force && key === lastKey) return;
    lastKey = key;
    if (!last.length) {
      replace(tbody, emptyRow(10, 'No files yet. Drop evidence above.'));
    } else if (!page.length) {
      replace(tbody, emptyRow(10, 'No files match.'));
    } else {
      const seen = new Set();
      const trs = page.map((f) => {
        seen.add(f.id);
        const s = sig(f);
        const cur = rows.get(f.id);
        if (cur && cur.sig === s) return cur.tr;
        const tr = fileRow(f);
        rows.set(f.id, {sig: s, tr});
        return tr;
      });
      for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
      replace(tbody, ...trs);
    }
    note.textContent = shown.length > MAX_ROWS ? 'Showing the newest ' + num(MAX_ROWS) + ' of ' + num(shown.length) + ' files; filter to narrow.' : '';
  }

  function renderChips(counts) {
    const order = ['queued', 'indexing', 'sigma', 'ioc', 'completed', 'failed', 'duplicate'];
    const all = Object.values(counts).reduce((a, b) => a + b, 0);
    const mk = (state, label, n) => h('button', {type: 'button', class: 'chip' + (stateFilter === state ? ' on' : ''),
      'aria-pressed': stateFilter === state ? 'true' : 'false',
      onclick: () => { stateFilter = stateFilter === state ? '' : state; render(true); }},
    label, h('span', {class: 'chip-n', text: num(n)}));
    const list = [mk('', 'all', all)];
    for (const s of order) if (counts[s]) list.push(mk(s, s, counts[s]));
    replace(chips, ...list);
  }

  function sig(f) {
    return [f.state, f.events, f.sigma_hits, f.ioc_hits, f.hidden, f.error, f.updated, (f.warnings || []).length, f.format].join('\u0000');
  }

  function fileRow(f) {
    const notes = [];
    if (f.error) notes.push(h('div', {class: f.state === 'failed' ? 'err-text' : 'warn-text', text: f.error}));
    if (f.duplicate_of) notes.push(h('div', {class: 'muted', text: 'duplicate of file ' + f.duplicate_of}));
    if (f.zero_event) notes.push(h('div', {class: 'muted', text: 'no events (archived)'}));
    const acct = accounting(f);
    if (acct) notes.push(h('div', {class: 'warn-text', text: acct}));
    for (const w of (f.warnings || []).slice(0, 3)) notes.push(h('div', {class: 'warn-text', text: w}));
    const detail = fileDetail(f);
    if (detail) notes.push(detail);
    const actions = h('td', {class: 'actions needs-analyst'});
    // A rejected file (no known format, an unsafe archive) would be
    // rejected again: no Requeue for it.
    const rejected = f.state === 'failed' && String(f.error || '').startsWith('rejected: ');
    if ((f.state === 'failed' && !rejected) || f.state === 'completed') {
      actions.appendChild(h('button', {type: 'button', class: 'btn btn-tiny', text: 'Requeue',
        title: 'Process this file again', onclick: () => act(() => api.requeue(caseId, f.id), 'Requeued ' + f.name)}));
    }
    actions.appendChild(h('button', {type: 'button', class: 'btn btn-tiny', text: f.hidden ? 'Unhide' : 'Hide',
      onclick: () => act(() => api.hide(caseId, f.id, !f.hidden), (f.hidden ? 'Unhid ' : 'Hid ') + f.name)}));
    const busy = ['queued', 'indexing', 'sigma', 'ioc'].includes(f.state);
    if (!busy) actions.appendChild(h('button', {type: 'button', class: 'btn btn-tiny btn-danger', text: 'Delete',
      title: 'Remove the file, its events and detections from the case',
      onclick: () => {
        if (window.confirm('Delete ' + f.name + ' and its ' + f.events + ' events from the case?')) {
          act(() => api.deleteFile(caseId, f.id), 'Deleted ' + f.name);
        }
      }}));
    return h('tr', {data: {id: f.id, state: f.state}, class: f.hidden ? 'is-hidden' : ''},
      h('td', {class: 'num muted', text: f.id}),
      h('td', {class: 'file-name'}, h('div', {class: 'mono', title: f.sha256 ? 'SHA-256 ' + f.sha256 : '', text: f.name})),
      h('td', {class: 'num', text: bytes(f.size)}),
      h('td', null, stateBadge(f.state), f.hidden ? h('span', {class: 'badge st-hidden', text: 'hidden'}) : null,
        f.format || f.state !== 'failed' ? h('div', {class: 'small muted file-format', title: 'format, told by content', text: f.format || 'evtx'}) : null),
      h('td', {class: 'num', text: f.state === 'completed' || f.events ? num(f.events) : ''}),
      h('td', {class: 'num' + (f.sigma_hits ? ' lvl-text' : ''), text: f.sigma_hits ? num(f.sigma_hits) : ''}),
      h('td', {class: 'num' + (f.ioc_hits ? ' warn-text' : ''), text: f.ioc_hits ? num(f.ioc_hits) : ''}),
      h('td', {class: 'notes small'}, notes),
      h('td', {class: 'small muted', title: f.updated, text: ago(f.updated)}),
      actions);
  }

  // accounting summarises what reading the file lost or recovered, or ''
  // when it read every record its chunks declare.
  function accounting(f) {
    const parts = [];
    const expected = f.records_expected || 0;
    if (expected && (f.records_skipped || f.chunks_skipped || f.truncated || f.records_recovered || f.stale_records)) {
      parts.push(num(f.events) + ' of ' + num(expected) + ' records read');
    }
    if (f.records_skipped) parts.push(num(f.records_skipped) + ' skipped');
    if (f.chunks_skipped) parts.push(num(f.chunks_skipped) + ' chunk(s) unreadable');
    if (f.records_recovered) parts.push(num(f.records_recovered) + ' recovered');
    if (f.stale_records) parts.push(num(f.stale_records) + ' stale (slack, not indexed)');
    if (f.truncated) parts.push('truncated (' + num(f.chunks || 0) + ' of ' + num(f.header_chunks || 0) + ' chunks)');
    return parts.join(', ');
  }

  // fileDetail is the file's full record of trouble: every warning, each
  // problem the reader found (kind, chunk, offset, reason), attempts.
  function fileDetail(f) {
    const warnings = f.warnings || [];
    const problems = f.problems || [];
    if (!warnings.length && !problems.length && !(f.attempts > 1)) return null;
    const items = [];
    for (const w of warnings) items.push(h('li', {class: 'warn-text', text: w}));
    for (const p of problems) {
      const where = (p.chunk >= 0 ? 'chunk ' + p.chunk + ', ' : '') + 'offset ' + p.offset;
      items.push(h('li', {class: 'mono', text: p.kind + ' (' + where + '): ' + p.reason}));
    }
    if (f.attempts > 1) items.push(h('li', {class: 'muted', text: 'processed ' + f.attempts + ' times'}));
    return h('details', {class: 'file-detail'},
      h('summary', {text: 'details (' + (warnings.length + problems.length) + ')'}),
      h('ul', null, items));
  }

  async function act(fn, okText) {
    try {
      await fn();
      toast(okText, 'ok', 3000);
      await refresh();
      app.refreshCase();
    } catch (ex) {
      toast(ex.message, 'error');
    }
  }

  return {el, refresh};
}
