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
  // Members: everyone sees who is in; owners and admins manage them.
  cell.appendChild(h('button', {type: 'button', class: 'btn btn-small case-members', text: 'Members',
    title: c.owner ? 'Who may see this case, and with which role' : 'Who may see this case',
    onclick: () => showMembers(app, c)}));
  // The access is the lesser of the global role and the membership.
  if (c.access !== 'analyst' && c.access !== 'admin') {
    cell.appendChild(h('span', {class: 'badge', text: st}));
    cell.appendChild(h('span', {class: 'muted small', text: ' read-only access'}));
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

const MEMBER_ROLES = ['owner', 'analyst', 'read-only'];

// showMembers opens the case's member list: owners and admins add users,
// change their membership role and remove them (the last owner stays).
async function showMembers(app, c) {
  let dialog = document.getElementById('members-dialog');
  if (dialog) dialog.remove();
  const tbody = h('tbody');
  const err = h('div', {class: 'form-error', role: 'alert', id: 'members-error'});
  const manage = !!c.owner;
  const name = h('input', {type: 'text', id: 'member-name', placeholder: 'user name', autocomplete: 'off', spellcheck: 'false'});
  const role = h('select', {id: 'member-role', 'aria-label': 'Membership role'}, ...MEMBER_ROLES.map((r) => h('option', {value: r, text: r, selected: r === 'analyst'})));
  const addForm = manage ? h('form', {class: 'form-row', id: 'member-add-form'}, name, role,
    h('button', {type: 'submit', class: 'btn btn-primary btn-small', id: 'member-add', text: 'Add member'})) : null;
  dialog = h('dialog', {class: 'help-dialog members-dialog', id: 'members-dialog'},
    h('h2', {text: 'Members of ' + c.name}),
    h('p', {class: 'muted small', text: 'Members see and search the case; each acts with the lesser of their account role and their membership (owner and analyst change things, read-only views). Admins see every case.'}),
    h('table', {class: 'grid dense', id: 'members-table'},
      h('thead', null, h('tr', null, h('th', {text: 'User'}), h('th', {text: 'Account role'}), h('th', {text: 'Membership'}), h('th', {text: ''}))), tbody),
    addForm, err,
    h('div', {class: 'form-row'}, h('button', {type: 'button', class: 'btn', id: 'members-close', text: 'Close', onclick: () => dialog.close()})));
  document.body.appendChild(dialog);
  const load = async () => {
    try {
      const ms = await api.members(c.id);
      replace(tbody, ...(ms.length ? ms.map((m) => memberRow(m)) : [emptyRow(4, 'No members: only admins see this case.')]));
    } catch (ex) {
      err.textContent = ex.message;
    }
  };
  const act = async (fn) => {
    err.textContent = '';
    try { await fn(); } catch (ex) { err.textContent = ex.message; }
    load();
  };
  function memberRow(m) {
    const cell = manage ? h('select', {class: 'member-role', 'aria-label': 'Membership of ' + m.user},
      ...MEMBER_ROLES.map((r) => h('option', {value: r, text: r, selected: r === m.role}))) : h('span', {text: m.role});
    if (manage) cell.addEventListener('change', () => act(() => api.setMember(c.id, m.user, cell.value)));
    return h('tr', {data: {user: m.user}},
      h('td', {text: m.user + (m.disabled ? ' (disabled)' : '')}), h('td', {text: m.global_role || '?'}), h('td', null, cell),
      h('td', null, manage ? h('button', {type: 'button', class: 'btn btn-tiny member-remove', text: 'Remove',
        onclick: () => act(() => api.removeMember(c.id, m.user))}) : null));
  }
  if (addForm) {
    addForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const n = name.value.trim();
      if (!n) return;
      act(async () => { await api.setMember(c.id, n, role.value); name.value = ''; toast(n + ' is now ' + role.value + ' of ' + c.name, 'ok', 2500); });
    });
  }
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
  load();
}
