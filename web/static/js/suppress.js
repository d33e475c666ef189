// False positives: the case's Sigma suppressions (a rule, or a rule for a
// field value, with reason and author), switchable on and off by
// analysts, and the events whose hits they suppress. Suppressions are
// added from a hit's rule context (the event panel's "Why?").

import {h, replace, num, ts, emptyRow, toast, levelBadge} from './dom.js';
import {api} from './api.js';
import {head} from './triage.js';

export const caseView = true;

export function mount(root, app) {
  const tbody = h('tbody');
  const hitsBody = h('tbody');
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'False positives'}),
      h('p', {class: 'muted', text: 'Suppressed Sigma hits leave the counts, the top bar and searches; they stay listed here and come back when a suppression is switched off. Add one from an event’s “Why?”.'})),
    h('section', {class: 'card'}, h('h2', {class: 'card-title', text: 'Suppressions'}),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'suppressions-table'},
        head('Rule', 'Scope', 'Reason', 'Author', 'Added (UTC)', 'num:Events', 'State', ''), tbody))),
    h('section', {class: 'card'}, h('h2', {class: 'card-title', text: 'Suppressed hits'}),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'suppressed-table'},
        head('Time (UTC)', 'Computer', 'Event', 'Suppressed rules'), hitsBody))));
  const load = async () => {
    let list, hits;
    try {
      [list, hits] = await Promise.all([api.suppressions(app.caseId), api.suppressed(app.caseId)]);
    } catch (ex) {
      replace(tbody, emptyRow(8, 'Cannot load suppressions: ' + ex.message));
      return;
    }
    if (!list.length) replace(tbody, emptyRow(8, 'No suppressions in this case.'));
    else {
      replace(tbody, list.map((s) => h('tr', {data: {id: s.id, active: s.active}, class: s.active ? '' : 'is-disabled'},
        h('td', null, h('div', {class: 'strong', text: s.title || s.rule_id}), h('div', {class: 'mono small muted', text: s.rule_id})),
        h('td', {class: 'small', text: s.field ? s.field + ' = ' + s.value : 'every hit'}),
        h('td', {class: 'small', text: s.reason}),
        h('td', {class: 'small', text: s.author + (s.changed_by ? ' (last switched by ' + s.changed_by + ')' : '')}),
        h('td', {class: 'mono small nowrap', text: ts(s.created, false)}),
        h('td', {class: 'num', text: num(s.events)}),
        h('td', null, h('span', {class: 'badge ' + (s.active ? 'res-success' : 'res-neutral'), text: s.active ? 'active' : 'off'})),
        h('td', null, h('button', {type: 'button', class: 'btn btn-tiny needs-analyst supp-toggle', text: s.active ? 'Switch off' : 'Switch on',
          onclick: async () => {
            try {
              await api.updateSuppression(app.caseId, s.id, {active: !s.active});
              toast('Suppression ' + (s.active ? 'off' : 'on') + '; re-running Sigma over the case', 'ok', 3000);
              load();
            } catch (ex) { toast(ex.message, 'error'); }
          }})))));
    }
    if (!hits.length) replace(hitsBody, emptyRow(4, 'No suppressed hits.'));
    else {
      replace(hitsBody, hits.map((x) => h('tr', {data: {doc: x.doc_id}},
        h('td', {class: 'mono small nowrap', text: ts(x.time, false)}),
        h('td', {text: x.computer}),
        h('td', {class: 'small', text: x.event_id + ' · ' + x.channel}),
        h('td', null, (x.suppressed || []).map((r) => h('div', null, levelBadge(r.level), h('span', {class: 'small', text: r.title})))))));
    }
  };
  load();
  return {};
}

// suppressForm is the "Suppress…" form of a rule context: every hit of
// the rule, or only where one of the event's matched fields (or its
// computer) has this value. done runs after a successful add.
export function suppressForm(caseId, rule, choices, done) {
  const scope = h('select', {id: 'supp-scope', 'aria-label': 'What to suppress'},
    h('option', {value: '', text: 'every hit of this rule in the case'}),
    choices.map(([f, v], i) => h('option', {value: String(i), text: 'only where ' + f + ' = ' + v})));
  const reason = h('input', {type: 'text', id: 'supp-reason', placeholder: 'Reason (e.g. known admin account)', maxlength: 4000});
  const err = h('div', {class: 'form-error', role: 'alert'});
  const form = h('form', {class: 'supp-form needs-analyst', id: 'supp-form'},
    h('h3', {text: 'Suppress as a false positive'}), h('div', {class: 'form-row'}, scope, reason,
      h('button', {type: 'submit', class: 'btn btn-small', id: 'supp-add', text: 'Suppress'})), err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {rule_id: rule.id, title: rule.title, reason: reason.value};
    if (scope.value !== '') [body.field, body.value] = choices[Number(scope.value)];
    try {
      await api.addSuppression(caseId, body);
      toast('Suppressed; re-running Sigma over the case', 'ok', 3000);
      done();
    } catch (ex) { err.textContent = ex.message; }
  });
  return form;
}
