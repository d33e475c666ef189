// Cases: list with counts, create, open.

import {h, replace, num, ts, levelBadge, toast, emptyRow, field, LEVELS} from './dom.js';
import {api, importCaseArchive} from './api.js';

export const caseView = false;

export function mount(root, app) {
  const name = h('input', {id: 'new-case-name', type: 'text', placeholder: 'e.g. IR-2024-017 ACME domain compromise',
    maxlength: 200, autocomplete: 'off', spellcheck: 'false'});
  const desc = h('input', {id: 'new-case-desc', type: 'text', placeholder: 'optional', maxlength: 4000, autocomplete: 'off'});
  const err = h('div', {class: 'form-error', role: 'alert'});
  const form = h('form', {class: 'card form-inline needs-analyst', id: 'new-case-form'},
    h('h2', {class: 'card-title', text: 'New case'}),
    h('div', {class: 'form-row'},
      field('Name', name), field('Description', desc),
      h('button', {type: 'submit', class: 'btn btn-primary', id: 'create-case', text: 'Create case'})),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const c = await api.createCase(name.value, desc.value);
      toast('Case created: ' + c.name, 'ok');
      app.go('evidence', null, String(c.id));
    } catch (ex) {
      err.textContent = ex.message;
    }
  });

  // Import a case archive: streamed with progress; the server verifies
  // every member before it records anything.
  const archFile = h('input', {id: 'import-archive-file', type: 'file', accept: '.tar,application/x-tar'});
  const archName = h('input', {id: 'import-archive-as', type: 'text', placeholder: 'keep the archive\'s name', maxlength: 200, autocomplete: 'off'});
  const archBar = h('progress', {class: 'bar', id: 'import-archive-progress', max: 1, value: 0, hidden: true});
  const archErr = h('div', {class: 'form-error', role: 'alert'});
  const archForm = h('form', {class: 'card form-inline needs-analyst', id: 'import-archive-form'},
    h('h2', {class: 'card-title', text: 'Import a case archive'}),
    h('div', {class: 'form-row'},
      field('Archive (.tar)', archFile), field('Name (if taken)', archName),
      h('button', {type: 'submit', class: 'btn', id: 'import-archive', text: 'Import case'})),
    archBar, archErr);
  archForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    archErr.textContent = '';
    const f = archFile.files && archFile.files[0];
    if (!f) { archErr.textContent = 'Choose an archive file first.'; return; }
    archBar.hidden = false;
    archBar.value = 0;
    try {
      const res = await importCaseArchive(f, archName.value.trim(), (done, total) => { archBar.value = total ? done / total : 0; });
      toast('Case imported: ' + res.case.name + ' (' + num(res.files) + ' files, ' + num(res.reindexing) + ' re-indexing)' +
        (res.rules_differ ? '; the Sigma rules here differ from the exporter\'s' : ''), 'ok');
      load();
    } catch (ex) {
      archErr.textContent = ex.message;
    } finally {
      archBar.hidden = true;
    }
  });

  const tbody = h('tbody');
  const table = h('table', {class: 'grid', id: 'cases-table'},
    h('thead', null, h('tr', null,
      h('th', {text: 'Case'}), h('th', {text: 'Created (UTC)'}), h('th', {class: 'num', text: 'Files'}),
      h('th', {class: 'num', text: 'Events'}), h('th', {text: 'Sigma hits (events)'}),
      h('th', {class: 'num', text: 'IOC events'}), h('th', {class: 'num', text: 'Tagged'}), h('th', {text: 'Status'}), h('th', {text: 'Lifecycle'}))),
    tbody);

  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Cases'}),
      h('p', {class: 'muted', text: 'Each case has its own evidence, index, detections and IOCs. Open one to work in it.'})),
    form, archForm,
    h('section', {class: 'card', id: 'cases-view'}, h('div', {class: 'table-wrap'}, table)));

  const load = async () => {
    let cases;
    try {
      cases = await api.cases();
    } catch (ex) {
      replace(tbody, emptyRow(9, 'Cannot list cases: ' + ex.message));
      return;
    }
    if (!cases.length) {
      replace(tbody, emptyRow(9, app.can('analyst') ? 'No cases yet. Create one above, then drop evidence into it.' :
        'No cases yet. An analyst or admin creates them.'));
      if (app.can('analyst')) name.focus();
      return;
    }
    cases.sort((a, b) => b.id - a.id);
    replace(tbody, ...cases.map((c) => row(app, c, load)));
  };
  load();
  return {};
}

function row(app, c, reload) {
  const sig = h('td', {class: 'sigma-cell'});
  let any = false;
  for (const l of LEVELS) {
    const n = (c.sigma_by_level || {})[l];
    if (n) { sig.appendChild(levelBadge(l, n)); any = true; }
  }
  if (!any) sig.appendChild(h('span', {class: 'muted', text: '—'}));
  const status = [];
  if (c.pending_files) status.push(h('span', {class: 'badge st-queued', text: num(c.pending_files) + ' processing'}));
  if (c.failed_files) status.push(h('span', {class: 'badge st-failed', text: num(c.failed_files) + ' failed'}));
  if (!status.length) status.push(h('span', {class: 'muted', text: c.files ? 'ready' : 'empty'}));
  const open = () => app.go(c.files ? 'search' : 'evidence', null, String(c.id));
  const tr = h('tr', {class: 'clickable', tabindex: 0, data: {id: c.id}, onclick: open,
    onkeydown: (e) => { if (e.key === 'Enter') open(); }},
  h('td', null, h('div', {class: 'case-title', text: c.name}),
    c.description ? h('div', {class: 'muted small', text: c.description}) : null),
  h('td', {class: 'mono small', text: ts(c.created, false)}),
  h('td', {class: 'num', text: num(c.files)}),
  h('td', {class: 'num', text: num(c.events)}),
  sig,
  h('td', {class: 'num' + (c.ioc_events ? ' warn-text' : ''), text: num(c.ioc_events)}),
  h('td', {class: 'num', text: num(c.tagged_events)}),
  h('td', null, status),
  lifecycle(app, c, reload));
  return tr;
}

// lifecycle is a case's status (analysts change it: a closed or archived
// case is read-only until reopened), its archive download, and delete
// (admins). Clicks here do not open the case.
function lifecycle(app, c, reload) {
  const st = c.status || 'open';
  const cell = h('td', {class: 'case-life', onclick: (e) => e.stopPropagation(), onkeydown: (e) => e.stopPropagation()});
  if (!app.can('analyst')) {
    cell.appendChild(h('span', {class: 'badge', text: st}));
    return cell;
  }
  const sel = h('select', {class: 'case-status', 'aria-label': 'Status of ' + c.name},
    ...['open', 'closed', 'archived'].map((v) => h('option', {value: v, text: v, selected: v === st})));
  sel.addEventListener('change', async () => {
    try {
      await api.setCaseStatus(c.id, sel.value);
      toast('Case ' + c.name + ' is ' + sel.value + (sel.value === 'open' ? '' : ': read-only until reopened'), 'ok');
    } catch (ex) {
      toast(ex.message, 'error');
      sel.value = st;
    }
  });
  cell.appendChild(sel);
  // The browser's download shows the archive's progress as it streams.
  cell.appendChild(h('button', {type: 'button', class: 'btn btn-small case-archive', text: 'Archive',
    title: 'Download the case archive: evidence, records, audit entries and a SHA-256 manifest',
    onclick: () => window.location.assign(api.caseArchiveURL(c.id))}));
  if (app.can('admin')) {
    cell.appendChild(h('button', {type: 'button', class: 'btn btn-small btn-danger case-delete', text: 'Delete',
      onclick: async () => {
        if (!window.confirm('Delete case ' + c.name + ' with its ' + num(c.files) + ' files and ' + num(c.events) + ' events? Its evidence, index and archive leave the disk.')) return;
        try {
          await api.deleteCase(c.id);
          toast('Case deleted: ' + c.name, 'ok');
          reload();
        } catch (ex) {
          toast(ex.message, 'error');
        }
      }}));
  }
  return cell;
}
