// IOCs: add one, bulk paste (text or CSV), enable/disable, delete; hits
// per IOC, and the re-hunt that applies changes to the case's events.

import {h, replace, num, ts, toast, emptyRow, field, progressBar} from './dom.js';
import {api} from './api.js';

export const caseView = true;

export function mount(root, app) {
  const caseId = app.caseId;
  let iocs = [];
  let jobTimer = 0;
  let alive = true;

  // Add one.
  const type = h('select', {id: 'ioc-type', 'aria-label': 'IOC type'}, h('option', {value: '', text: 'Auto-detect type'}));
  const types = (app.system && app.system.ioc_types) ||
    ['ip', 'domain', 'url', 'md5', 'sha1', 'sha256', 'filename', 'filepath', 'username', 'sid', 'hostname', 'command', 'registry', 'string'];
  for (const t of types) type.appendChild(h('option', {value: t, text: t}));
  const value = h('input', {type: 'text', id: 'ioc-value', class: 'mono', placeholder: '10.1.2.3, evil.example, mimikatz.exe, S-1-5-21-…',
    autocomplete: 'off', spellcheck: 'false'});
  const desc = h('input', {type: 'text', id: 'ioc-desc', placeholder: 'Description (optional)', autocomplete: 'off'});
  const addErr = h('div', {class: 'form-error', id: 'ioc-add-error', role: 'alert'});
  const addForm = h('form', {class: 'card needs-analyst', id: 'ioc-add-form'},
    h('h2', {class: 'card-title', text: 'Add an IOC'}),
    h('div', {class: 'form-row'}, field('Type', type), field('Value', value), field('Description', desc),
      h('button', {type: 'submit', class: 'btn btn-primary', id: 'ioc-add', text: 'Add'})),
    addErr);
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    addErr.textContent = '';
    try {
      const res = await api.addIOCs(caseId, {iocs: [{type: type.value, value: value.value, description: desc.value}]});
      // Back to auto-detect: a type chosen for one value must not stick
      // to the next (a file name typed after a username).
      value.value = ''; desc.value = ''; type.value = '';
      const added = (res.iocs || [])[0];
      toast('IOC added' + (added ? ' as ' + added.type : '') + '; re-hunting the case', 'ok', 3000);
      afterChange(res.job);
    } catch (ex) {
      addErr.textContent = ex.message;
    }
  });

  // Bulk paste.
  const text = h('textarea', {id: 'ioc-bulk', class: 'mono', rows: 6, spellcheck: 'false',
    placeholder: 'One IOC per line (types detected; defanged values like hxxp://evil[.]com are fine)\n— or CSV: type,value,description'});
  const fmtText = h('input', {type: 'radio', name: 'ioc-format', id: 'fmt-text', value: 'text', checked: true});
  const fmtCSV = h('input', {type: 'radio', name: 'ioc-format', id: 'fmt-csv', value: 'csv'});
  const bulkDesc = h('input', {type: 'text', id: 'ioc-bulk-desc', placeholder: 'Description for these IOCs (optional)', autocomplete: 'off'});
  const bulkErr = h('div', {class: 'form-error', id: 'ioc-bulk-error', role: 'alert'});
  const bulkForm = h('form', {class: 'card needs-analyst', id: 'ioc-bulk-form'},
    h('h2', {class: 'card-title', text: 'Bulk paste'}),
    text,
    h('div', {class: 'form-row'},
      h('label', {class: 'toggle', for: 'fmt-text'}, fmtText, h('span', {text: 'Lines'})),
      h('label', {class: 'toggle', for: 'fmt-csv'}, fmtCSV, h('span', {text: 'CSV'})),
      bulkDesc,
      h('button', {type: 'submit', class: 'btn btn-primary', id: 'ioc-bulk-add', text: 'Add all'})),
    bulkErr);
  bulkForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    bulkErr.textContent = '';
    try {
      const res = await api.addIOCs(caseId, {text: text.value, format: fmtCSV.checked ? 'csv' : 'text', description: bulkDesc.value});
      text.value = '';
      toast('Added ' + num((res.iocs || []).length) + ' IOCs; re-hunting the case', 'ok', 3000);
      afterChange(res.job);
    } catch (ex) {
      bulkErr.textContent = ex.message;
    }
  });

  // Re-hunt progress.
  const jobBar = progressBar();
  const jobText = h('span', {class: 'small', id: 'job-text'});
  const jobBox = h('div', {class: 'job-box', id: 'job-box', hidden: true}, h('span', {class: 'spinner', 'aria-hidden': 'true'}), jobText, jobBar);

  // Table.
  const filter = h('input', {type: 'search', class: 'filter-input', id: 'ioc-filter', placeholder: 'Filter IOCs…'});
  const tbody = h('tbody');
  const table = h('table', {class: 'grid dense', id: 'ioc-table'},
    h('thead', null, h('tr', null,
      h('th', {text: 'On', title: 'Enabled'}), h('th', {text: 'Type'}), h('th', {text: 'Value'}), h('th', {text: 'Description'}),
      h('th', {text: 'Source'}), h('th', {class: 'num', text: 'Events'}), h('th', {text: 'First seen (UTC)'}),
      h('th', {text: 'Last seen (UTC)'}), h('th', {text: 'Computers'}), h('th', {text: ''}))),
    tbody);
  filter.addEventListener('input', render);

  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'IOCs'}),
      h('p', {class: 'muted', text: 'Indicators are hunted in every event of the case: on ingest, and again over all events whenever the list changes.'})),
    h('div', {class: 'ioc-forms'}, addForm, bulkForm),
    h('section', {class: 'card', id: 'iocs-card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Indicators'}), jobBox, h('span', {class: 'spacer'}), filter),
      h('div', {class: 'table-wrap'}, table)));

  function render() {
    const f = filter.value.toLowerCase();
    if (!iocs.length) { replace(tbody, emptyRow(10, 'No IOCs in this case. Add some above.')); return; }
    const shown = iocs.filter((i) => !f || i.value.toLowerCase().includes(f) || i.type.includes(f) ||
      (i.description || '').toLowerCase().includes(f));
    if (!shown.length) { replace(tbody, emptyRow(10, 'No IOCs match.')); return; }
    replace(tbody, ...shown.map(row));
  }

  function row(i) {
    const on = h('input', {type: 'checkbox', checked: i.enabled, title: i.enabled ? 'Disable' : 'Enable',
      'aria-label': 'Enabled', disabled: !app.can('analyst')});
    on.addEventListener('change', async () => {
      try {
        const res = await api.updateIOC(caseId, i.id, {enabled: on.checked});
        afterChange(res.job);
      } catch (ex) {
        on.checked = !on.checked;
        toast(ex.message, 'error');
      }
    });
    const hits = i.hits ? h('button', {type: 'button', class: 'link-btn', title: 'Search the events', text: num(i.hits),
      onclick: () => app.go('search', {q: 'ioc:' + i.id})}) : h('span', {class: 'muted', text: '0'});
    return h('tr', {class: i.enabled ? '' : 'is-disabled', data: {id: i.id}},
      h('td', null, on),
      h('td', null, h('span', {class: 'badge ioc-type', text: i.type})),
      h('td', {class: 'mono ioc-value', text: i.value}),
      h('td', {class: 'small', text: i.description}),
      h('td', {class: 'small muted', text: i.source}),
      h('td', {class: 'num' + (i.hits ? ' warn-text strong' : '')}, hits),
      h('td', {class: 'mono small nowrap', text: ts(i.first_seen, false)}),
      h('td', {class: 'mono small nowrap', text: ts(i.last_seen, false)}),
      h('td', {class: 'small', title: (i.computers || []).join('\n'), text: (i.computers || []).slice(0, 3).join(', ')}),
      h('td', {class: 'needs-analyst'}, h('button', {type: 'button', class: 'btn btn-tiny btn-danger', text: 'Delete', onclick: async () => {
        if (!window.confirm('Delete IOC ' + i.type + ' ' + i.value + '?')) return;
        try {
          const res = await api.deleteIOC(caseId, i.id);
          afterChange(res.job);
        } catch (ex) {
          toast(ex.message, 'error');
        }
      }})));
  }

  async function load() {
    try {
      iocs = await api.iocs(caseId);
    } catch (ex) {
      replace(tbody, emptyRow(10, 'Cannot load IOCs: ' + ex.message));
      return;
    }
    render();
  }

  function afterChange(job) {
    load();
    if (job && job.id) watchJob(job.id);
  }

  async function watchJob(id) {
    clearTimeout(jobTimer);
    if (!alive) return;
    let j;
    try {
      j = await api.job(id);
    } catch (ex) {
      jobBox.hidden = true;
      return;
    }
    if (!alive) return;
    jobBox.hidden = false;
    jobBar.value = j.files ? j.files_done / j.files : 0;
    jobText.textContent = 'Re-hunting: ' + num(j.files_done) + ' of ' + num(j.files) + ' files · ' + num(j.events) + ' events';
    if (j.state === 'running') {
      jobTimer = setTimeout(() => watchJob(id), 1000);
      return;
    }
    jobBox.hidden = true;
    if (j.state === 'failed') toast('Re-hunt failed: ' + j.error, 'error');
    else toast('Re-hunt done: ' + num(j.changed) + ' events changed', 'ok', 3000);
    load();
    app.refreshCase();
  }

  load();
  return {unmount() { alive = false; clearTimeout(jobTimer); }};
}
