// Saved searches, recent searches and templates: a panel under the query
// bar. A saved search keeps the query, filters, range, sort and columns,
// is seen by everyone who can see the case, and opens from the list or
// from its link (#/case/ID/search?saved=N); templates work in every case
// and are edited by admins.

import {h, replace, ago, toast} from './dom.js';
import {api} from './api.js';

// savedPanel builds the panel. state() gives {query, params, columns} of
// the search on screen; apply(s) opens a saved search, template or
// history entry ({query, params, columns}).
export function savedPanel(app, caseId, state, apply) {
  const name = h('input', {type: 'text', id: 'save-name', placeholder: 'Name this search', maxlength: 200, autocomplete: 'off'});
  const saveBtn = h('button', {type: 'submit', class: 'btn btn-small btn-primary', id: 'save-search', text: 'Save search'});
  const tplBtn = h('button', {type: 'button', class: 'btn btn-small needs-admin', id: 'save-template', text: 'Save as template',
    title: 'A template every case can use'});
  const form = h('form', {class: 'save-form needs-analyst'}, name, saveBtn, tplBtn);
  const savedList = h('ul', {class: 'ws-list', id: 'saved-list'});
  const histList = h('ul', {class: 'ws-list', id: 'history-list'});
  const tplList = h('ul', {class: 'ws-list', id: 'template-list'});
  const el = h('div', {class: 'ws-panel card', id: 'saved-panel', hidden: true},
    form,
    h('div', {class: 'ws-cols'},
      h('section', null, h('h3', {text: 'Saved in this case'}), savedList),
      h('section', null, h('h3', {text: 'Your recent searches'}), histList),
      h('section', null, h('h3', {text: 'Templates'}), tplList)));
  form.addEventListener('submit', (e) => { e.preventDefault(); save(false); });
  tplBtn.addEventListener('click', () => save(true));

  async function save(template) {
    const n = name.value.trim();
    if (!n) { toast('Name the search first', 'error'); name.focus(); return; }
    const body = {name: n, ...state()};
    try {
      const s = template ? await api.addTemplate(body) : await api.saveSearch(caseId, body);
      name.value = '';
      toast((template ? 'Template ' : 'Saved ') + '“' + s.name + '”', 'ok', 2500);
      refresh();
    } catch (ex) {
      toast(ex.message, 'error');
    }
  }

  function item(s, kind) {
    const open = h('button', {type: 'button', class: 'ws-open', title: s.query || '(all events)', data: {id: s.id || ''},
      onclick: () => apply(s)},
    h('span', {class: 'ws-name', text: s.name || s.query || '(all events)'}),
    s.name ? h('span', {class: 'ws-q mono', text: s.query || '(all events)'}) : null);
    const tools = [];
    if (kind === 'saved') {
      tools.push(h('button', {type: 'button', class: 'btn btn-tiny', text: 'Link', title: 'Copy a link to this saved search',
        onclick: () => copyLink(s)}));
      if (app.can('admin') || (app.user && app.user.user === s.owner)) {
        tools.push(h('button', {type: 'button', class: 'btn btn-tiny needs-analyst', text: 'Update', title: 'Replace it with the search on screen',
          onclick: () => update(s, false)}));
        tools.push(h('button', {type: 'button', class: 'btn btn-tiny needs-analyst', text: 'Delete', onclick: () => remove(s, false)}));
      }
    }
    if (kind === 'template') {
      tools.push(h('button', {type: 'button', class: 'btn btn-tiny needs-admin', text: 'Update', title: 'Replace it with the search on screen',
        onclick: () => update(s, true)}));
      tools.push(h('button', {type: 'button', class: 'btn btn-tiny needs-admin', text: 'Delete', onclick: () => remove(s, true)}));
    }
    const meta = kind === 'history' ? ago(s.at) : kind === 'saved' ? (s.owner || '') : (s.description || '');
    return h('li', {class: 'ws-item', data: {kind}}, open, h('div', {class: 'ws-meta small muted'}, h('span', {text: meta}), tools));
  }

  function copyLink(s) {
    const link = location.origin + location.pathname + '#/case/' + encodeURIComponent(caseId) + '/search?saved=' + s.id;
    if (navigator.clipboard) {
      navigator.clipboard.writeText(link).then(() => toast('Link copied: ' + link, 'ok', 3000), () => toast(link, 'info', 8000));
    } else {
      toast(link, 'info', 8000);
    }
  }

  async function update(s, template) {
    const body = {name: s.name, description: s.description || '', ...state()};
    try {
      if (template) await api.updateTemplate(s.id, body); else await api.updateSavedSearch(caseId, s.id, body);
      toast('Updated “' + s.name + '”', 'ok', 2500);
      refresh();
    } catch (ex) {
      toast(ex.message, 'error');
    }
  }

  async function remove(s, template) {
    if (!window.confirm('Delete “' + s.name + '”?')) return;
    try {
      if (template) await api.deleteTemplate(s.id); else await api.deleteSavedSearch(caseId, s.id);
      refresh();
    } catch (ex) {
      toast(ex.message, 'error');
    }
  }

  async function refresh() {
    const [saved, hist, tpl] = await Promise.allSettled([api.savedSearches(caseId), api.history(caseId), api.templates()]);
    const fill = (list, res, kind, empty) => replace(list, res.status === 'fulfilled' && res.value.length ?
      res.value.map((s) => item(s, kind)) : h('li', {class: 'muted small', text: res.status === 'fulfilled' ? empty : res.reason.message}));
    fill(savedList, saved, 'saved', 'No saved searches yet.');
    fill(histList, hist, 'history', 'No searches yet.');
    fill(tplList, tpl, 'template', 'No templates.');
  }

  return {el, refresh, toggle() { el.hidden = !el.hidden; if (!el.hidden) refresh(); return !el.hidden; }};
}
