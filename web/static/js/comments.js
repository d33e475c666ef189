// Comment threads on events: each comment with its author and time,
// oldest first; analysts add comments, authors edit theirs, authors,
// case owners and admins delete (the server enforces it and audits
// edits and deletions). Text reaches the page only as text.

import {h, replace, ts, toast} from './dom.js';
import {api} from './api.js';

// commentThread is the detail panel's Comments section for hit; onChange
// gets the new thread after every change.
export function commentThread(app, caseId, hit, onChange) {
  let thread = (hit.comments || []).slice();
  const list = h('ol', {class: 'comment-list', id: 'comment-list'});
  const text = h('textarea', {id: 'comment-text', rows: 2, maxlength: 4000, placeholder: 'Add a comment for the team'});
  const add = h('button', {type: 'submit', class: 'btn btn-small btn-primary', id: 'comment-add', text: 'Comment'});
  const msg = h('span', {class: 'tag-msg', role: 'status'});
  const form = h('form', {class: 'comment-form needs-analyst', id: 'comment-form'}, text, h('div', {class: 'tag-row'}, add, msg));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    add.disabled = true;
    try {
      const c = await api.addComment(caseId, hit.id, text.value);
      thread.push(c);
      text.value = '';
      msg.textContent = '';
      changed();
    } catch (ex) {
      msg.textContent = ex.message;
      msg.className = 'tag-msg err-text';
    } finally {
      add.disabled = false;
    }
  });

  function changed() {
    hit.comments = thread.slice();
    render();
    if (onChange) onChange(thread);
  }

  function mayDelete(c) {
    return app.can('analyst') && (c.author.toLowerCase() === app.user.user.toLowerCase() || (app.caseStats && app.caseStats.owner));
  }

  function item(c) {
    const body = h('div', {class: 'comment-text pre-wrap', text: c.text});
    const actions = h('span', {class: 'comment-actions'});
    const li = h('li', {class: 'comment', data: {id: c.id}},
      h('div', {class: 'comment-head'},
        h('span', {class: 'comment-author', text: c.author}),
        h('span', {class: 'muted small mono', text: ts(c.created, false) + ' UTC' + (c.edited && !c.edited.startsWith('0001-') ? ' · edited ' + ts(c.edited, false) : '')}),
        actions),
      body);
    if (app.can('analyst') && c.author.toLowerCase() === app.user.user.toLowerCase()) {
      actions.appendChild(h('button', {type: 'button', class: 'btn btn-tiny comment-edit', text: 'Edit', onclick: () => edit(c, li, body)}));
    }
    if (mayDelete(c)) {
      actions.appendChild(h('button', {type: 'button', class: 'btn btn-tiny comment-delete', text: 'Delete', onclick: async () => {
        if (!window.confirm('Delete this comment by ' + c.author + '? The audit log keeps its text.')) return;
        try {
          await api.deleteComment(caseId, hit.id, c.id);
          thread = thread.filter((x) => x.id !== c.id);
          changed();
        } catch (ex) {
          toast(ex.message, 'error');
        }
      }}));
    }
    return li;
  }

  function edit(c, li, body) {
    const box = h('textarea', {class: 'comment-edit-text', rows: 2, maxlength: 4000});
    box.value = c.text;
    const save = h('button', {type: 'submit', class: 'btn btn-tiny btn-primary', text: 'Save'});
    const cancel = h('button', {type: 'button', class: 'btn btn-tiny', text: 'Cancel', onclick: () => render()});
    const f = h('form', {class: 'comment-edit-form'}, box, h('div', {class: 'tag-row'}, save, cancel));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const up = await api.editComment(caseId, hit.id, c.id, box.value);
        thread = thread.map((x) => (x.id === up.id ? up : x));
        changed();
      } catch (ex) {
        toast(ex.message, 'error');
      }
    });
    li.replaceChild(f, body);
    box.focus();
  }

  function render() {
    if (!thread.length) replace(list, h('li', {class: 'muted small comment-none', text: 'No comments yet.'}));
    else replace(list, ...thread.map(item));
  }
  render();
  return h('section', {class: 'detail-sec', id: 'comments'}, h('h3', {text: 'Comments'}), list, form);
}

// commentSummary renders a thread compactly for tables (the timeline):
// "author (time): text" per comment.
export function commentSummary(comments) {
  return (comments || []).map((c) => h('div', {class: 'comment-line small'},
    h('b', {text: c.author}), h('span', {class: 'muted', text: ' ' + ts(c.created, false) + ': '}), h('span', {class: 'pre-wrap', text: c.text})));
}
