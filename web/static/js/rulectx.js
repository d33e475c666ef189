// Rule context: from a Sigma hit of an event, the rule's metadata, its
// full YAML, and why it matched — each search identifier of the
// detection and each field condition evaluated on its own against the
// event, with the event's values.

import {h, replace, levelBadge} from './dom.js';
import {api} from './api.js';
import {suppressForm} from './suppress.js';

// showRuleContext opens a dialog on the rule ruleId's hit on event docId.
export async function showRuleContext(caseId, docId, ruleId) {
  const body = h('div', {class: 'rule-ctx-body'}, h('p', {class: 'muted', text: 'Loading the rule…'}));
  const dlg = h('dialog', {class: 'help-dialog rule-ctx', id: 'rule-context'},
    body, h('div', {class: 'form-row'}, h('button', {type: 'button', class: 'btn', id: 'rule-ctx-close', text: 'Close', onclick: () => dlg.close()})));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
  let rc;
  try {
    rc = await api.ruleContext(caseId, docId, ruleId);
  } catch (ex) {
    replace(body, h('p', {class: 'form-error', text: 'Cannot load the rule: ' + ex.message}));
    return;
  }
  const r = rc.rule;
  const meta = [['Status', r.status], ['Author', r.author], ['Rule ID', r.id], ['File', r.path],
    ['Tags', (r.tags || []).join(' ')]].filter(([, v]) => v);
  const list = (title, items) => items && items.length ? h('div', {class: 'rule-ctx-sec'}, h('h3', {text: title}),
    h('ul', null, items.map((x) => h('li', {class: 'small', text: x})))) : null;
  const corr = r.correlation;
  const why = corr ? h('div', {class: 'rule-ctx-sec', id: 'rule-ctx-why'}, h('h3', {text: 'Why it matched'}),
    h('p', {class: 'small', id: 'rule-ctx-correlation', text: 'Correlation ' + corr.type + ' of ' + (corr.rules || []).join(', ') +
      ' within ' + corr.timespan + (corr.group_by && corr.group_by.length ? ', grouped by ' + corr.group_by.join(', ') : '') +
      (corr.field ? ', distinct ' + corr.field : '') +
      (corr.condition ? ', ' + Object.entries(corr.condition).map(([k, v]) => k + ' ' + v).join(' and ') : '') +
      '. This event is one of the events of a group that met it.'}),
    h('table', {class: 'kv-table small', id: 'rule-ctx-group'}, h('tbody', null,
      Object.entries(rc.fields || {}).map(([k, v]) => h('tr', null, h('th', {text: k}), h('td', {class: 'mono', text: v})))))) :
    rc.explanation ? h('div', {class: 'rule-ctx-sec', id: 'rule-ctx-why'}, h('h3', {text: 'Why it matched'}),
    h('p', {class: 'small'}, 'Condition: ', h('code', {id: 'rule-ctx-condition', text: (rc.explanation.condition || []).join(' | ')})),
    rc.explanation.selections.map((s) => h('div', {class: 'rule-ctx-sel', data: {selection: s.name, matched: s.matched}},
      h('div', {class: 'rule-ctx-selhead'}, h('span', {class: 'badge ' + (s.matched ? 'res-success' : 'res-neutral'), text: s.matched ? 'matches' : 'no match'}),
        h('code', {class: 'strong', text: s.name}), s.error ? h('span', {class: 'muted small', text: ' ' + s.error}) : null),
      h('table', {class: 'grid dense rule-ctx-fields'},
        h('thead', null, h('tr', null, h('th', {text: 'Field'}), h('th', {text: 'Rule values'}), h('th', {text: 'This event'}), h('th', {text: ''}))),
        h('tbody', null, s.fields.map((f) => h('tr', {data: {field: f.field, matched: f.matched}},
          h('td', {class: 'mono small', text: f.field}),
          h('td', {class: 'mono small'}, h('div', {class: 'val', text: (f.values || []).join('\n') + (f.more ? '\n… ' + f.more + ' more' : '')})),
          h('td', {class: 'mono small'}, f.keywords ? h('span', {class: 'muted', text: 'any value'}) :
            f.present ? h('div', {class: 'val', text: f.event}) : h('span', {class: 'muted', text: 'absent'})),
          h('td', {class: 'small', text: f.matched ? '✓' : '✗', title: f.skipped || (f.matched ? 'holds for this event' : 'does not hold')})))))))) :
    h('p', {class: 'muted', text: rc.loaded ? 'The rule file is no longer where it was loaded from.' : 'This rule is not in the current rule set; only its stored hit is known.'});
  replace(body,
    h('div', {class: 'rule-ctx-head'}, levelBadge(r.level), h('h2', {id: 'rule-ctx-title', text: r.title})),
    r.description ? h('p', {class: 'rule-ctx-desc', text: r.description}) : null,
    h('table', {class: 'kv-table small'}, h('tbody', null, meta.map(([k, v]) => h('tr', null, h('th', {text: k}), h('td', {class: 'mono', text: v}))))),
    list('References', r.references),
    list('False positives', r.false_positives),
    why,
    rc.loaded ? suppressForm(caseId, r, suppressChoices(rc), () => dlg.close()) : null,
    rc.yaml ? h('details', {class: 'rule-ctx-sec'}, h('summary', {text: 'Rule YAML'}), h('pre', {class: 'rule-yaml mono small', id: 'rule-ctx-yaml', text: rc.yaml})) : null);
}

// suppressChoices are the field values a suppression can be scoped to:
// the event's values of the fields the rule's matching selections test,
// then its computer.
function suppressChoices(rc) {
  const out = [];
  const seen = new Set();
  const add = (f, v) => { const k = f + '\u0000' + v; if (!seen.has(k) && v !== '') { seen.add(k); out.push([f, v]); } };
  for (const [k, v] of Object.entries(rc.fields || {})) add(k, v);
  for (const s of (rc.explanation && rc.explanation.selections) || []) {
    if (!s.matched) continue;
    for (const f of s.fields) if (f.present && !f.keywords) add(f.event_field || f.field.split('|')[0], f.event);
  }
  if (rc.computer) add('Computer', rc.computer);
  return out;
}
