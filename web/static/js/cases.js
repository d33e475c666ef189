// Cases: list with counts, create, open.

import {h, replace, num, ts, levelBadge, toast, emptyRow, field, LEVELS} from './dom.js';
import {api} from './api.js';

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

  const tbody = h('tbody');
  const table = h('table', {class: 'grid', id: 'cases-table'},
    h('thead', null, h('tr', null,
      h('th', {text: 'Case'}), h('th', {text: 'Created (UTC)'}), h('th', {class: 'num', text: 'Files'}),
      h('th', {class: 'num', text: 'Events'}), h('th', {text: 'Sigma hits (events)'}),
      h('th', {class: 'num', text: 'IOC events'}), h('th', {class: 'num', text: 'Tagged'}), h('th', {text: 'Status'}))),
    tbody);

  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Cases'}),
      h('p', {class: 'muted', text: 'Each case has its own evidence, index, detections and IOCs. Open one to work in it.'})),
    form,
    h('section', {class: 'card', id: 'cases-view'}, h('div', {class: 'table-wrap'}, table)));

  const load = async () => {
    let cases;
    try {
      cases = await api.cases();
    } catch (ex) {
      replace(tbody, emptyRow(8, 'Cannot list cases: ' + ex.message));
      return;
    }
    if (!cases.length) {
      replace(tbody, emptyRow(8, app.can('analyst') ? 'No cases yet. Create one above, then drop evidence into it.' :
        'No cases yet. An analyst or admin creates them.'));
      if (app.can('analyst')) name.focus();
      return;
    }
    cases.sort((a, b) => b.id - a.id);
    replace(tbody, ...cases.map((c) => row(app, c)));
  };
  load();
  return {};
}

function row(app, c) {
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
  h('td', null, status));
  return tr;
}
