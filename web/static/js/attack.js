// ATT&CK: the case's Sigma hits laid out as a tactics × techniques matrix
// from the rules' tags (counts are events), and each host's techniques.
// A technique opens a search for the events of the rules behind it.

import {h, replace, num, emptyRow} from './dom.js';
import {api} from './api.js';
import {q, clickRow, head, counts} from './triage.js';

export const caseView = true;

// rulesQuery finds the events of any of the rules.
function rulesQuery(rules) { return rules.map((r) => 'sigma.rule:' + q(r.rule_id)).join(' OR '); }

export function mount(root, app) {
  const matrix = h('div', {class: 'attack-matrix', id: 'attack-matrix'}, h('p', {class: 'muted', text: 'Counting…'}));
  const note = h('p', {class: 'muted', id: 'attack-note'});
  const tbody = h('tbody');
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'MITRE ATT&CK'}),
      h('p', {class: 'muted', text: 'Tactics and techniques from the tags of the Sigma rules that fired in this case. Numbers are events; open a technique to search them.'})),
    h('section', {class: 'card'}, h('h2', {class: 'card-title', text: 'Tactics × techniques'}), note, h('div', {class: 'table-wrap'}, matrix)),
    h('section', {class: 'card'}, h('h2', {class: 'card-title', text: 'Techniques by host'}),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'attack-hosts'}, head('Computer', 'num:Techniques', 'Techniques (events)'), tbody))));
  (async () => {
    let a;
    try {
      a = await api.attack(app.caseId);
    } catch (ex) {
      replace(matrix, h('p', {class: 'muted', text: 'Cannot load ATT&CK: ' + ex.message}));
      return;
    }
    const cols = a.tactics.filter((t) => t.techniques.length || t.events);
    note.textContent = cols.length ? (a.untagged ? num(a.untagged) + ' events have Sigma hits without an ATT&CK technique tag.' : '') :
      'No Sigma hit in this case carries an ATT&CK tag.';
    replace(matrix, a.tactics.map((t) => h('div', {class: 'attack-col' + (t.techniques.length ? '' : ' attack-empty'), data: {tactic: t.tactic}},
      h('div', {class: 'attack-head', title: t.id},
        h('span', {class: 'attack-name', text: t.name}), h('span', {class: 'attack-n', text: t.events ? num(t.events) : ''})),
      t.techniques.map((c) => h('button', {type: 'button', class: 'attack-cell', data: {technique: c.technique, events: c.events},
        title: c.rules.map((r) => r.title).join('\n'),
        onclick: () => app.go('search', {q: rulesQuery(c.rules)})},
      h('span', {class: 'mono', text: c.technique}), h('span', {class: 'attack-n', text: num(c.events)}),
      h('span', {class: 'attack-rule small muted', text: c.rules[0].title + (c.rules.length > 1 ? ' +' + (c.rules.length - 1) : '')}))))));
    if (!a.hosts.length) { replace(tbody, emptyRow(3, 'No techniques.')); return; }
    replace(tbody, a.hosts.map((x) => h('tr', clickRow({data: {computer: x.computer}}, () => app.go('search', {q: 'Computer:' + q(x.computer) + ' AND sigma:*'})),
      h('td', {class: 'strong', text: x.computer}), h('td', {class: 'num', text: num(Object.keys(x.techniques).length)}),
      h('td', {class: 'small'}, counts(x.techniques, 12)))));
  })();
  return {};
}
