// Detections: Sigma hits grouped by level and rule, with drill-down into
// the rule's events, and the case's choice of rule packs.

import {h, replace, num, ts, levelBadge, emptyRow, toast, LEVELS} from './dom.js';
import {api} from './api.js';

export const caseView = true;

export function mount(root, app) {
  const caseId = app.caseId;
  const filter = h('input', {type: 'search', class: 'filter-input', id: 'rule-filter', placeholder: 'Filter rules…'});
  const summary = h('div', {class: 'level-cards', id: 'level-cards'});
  const tbody = h('tbody');
  const table = h('table', {class: 'grid dense', id: 'sigma-table'},
    h('thead', null, h('tr', null,
      h('th', {text: 'Level'}), h('th', {text: 'Rule'}), h('th', {class: 'num', text: 'Events'}),
      h('th', {text: 'First seen (UTC)'}), h('th', {text: 'Last seen (UTC)'}), h('th', {text: 'Computers'}), h('th', {text: ''}))),
    tbody);
  const packsBox = h('div', {class: 'packs', id: 'rule-packs'});
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Detections'}),
      h('p', {class: 'muted', text: 'Sigma rule hits in this case, highest level first. Open a rule to see its events.'})),
    summary,
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Rule packs'}),
        h('span', {class: 'muted small', text: 'SigmaHQ packs this case runs; a change re-runs Sigma over the case.'})),
      packsBox),
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Sigma rules'}), h('span', {class: 'spacer'}), filter),
      h('div', {class: 'table-wrap'}, table)));

  let rules = [];
  let level = '';
  const render = () => {
    const f = filter.value.toLowerCase();
    const shown = rules.filter((r) => (!level || String(r.level).toLowerCase() === level) &&
      (!f || r.title.toLowerCase().includes(f) || r.rule_id.toLowerCase().includes(f) || (r.pack || '').includes(f) || (r.correlation && 'correlation'.includes(f)) ||
        (r.tags || []).some((t) => t.toLowerCase().includes(f))));
    if (!rules.length) { replace(tbody, emptyRow(7, 'No Sigma hits in this case yet.')); return; }
    if (!shown.length) { replace(tbody, emptyRow(7, 'No rules match.')); return; }
    const rows = [];
    let cur = null;
    for (const r of shown) {
      const l = String(r.level).toLowerCase();
      if (l !== cur) {
        cur = l;
        const n = shown.filter((x) => String(x.level).toLowerCase() === l);
        rows.push(h('tr', {class: 'group-row'}, h('td', {colspan: 7},
          levelBadge(l), h('span', {class: 'group-label', text: plural(n.length, 'rule') + ' · ' +
            plural(n.reduce((a, x) => a + x.count, 0), 'hit')}))));
      }
      const open = () => app.go('search', {q: 'sigma.rule:"' + r.rule_id.replace(/["\\]/g, '\\$&') + '"'});
      rows.push(h('tr', {class: 'clickable', tabindex: 0, data: {rule: r.rule_id}, onclick: open,
        onkeydown: (e) => { if (e.key === 'Enter') open(); }},
      h('td', null, levelBadge(r.level)),
      h('td', null, h('div', {class: 'rule-title', text: r.title},
        r.pack ? h('span', {class: 'badge pack pack-' + r.pack, text: r.pack}) : null,
        r.correlation ? h('span', {class: 'badge pack corr', title: 'Sigma correlation: its events are those of the groups that met it', text: 'correlation · ' + r.correlation}) : null),
        h('div', {class: 'mono small muted', text: r.rule_id + ((r.tags || []).length ? ' · ' + r.tags.join(' ') : '')})),
      h('td', {class: 'num strong', text: num(r.count)}),
      h('td', {class: 'mono small nowrap', text: ts(r.first_seen, false)}),
      h('td', {class: 'mono small nowrap', text: ts(r.last_seen, false)}),
      h('td', {class: 'small', title: (r.computers || []).join('\n'),
        text: (r.computers || []).slice(0, 3).join(', ') + ((r.computers || []).length > 3 ? ' +' + (r.computers.length - 3) : '')}),
      h('td', null, h('button', {type: 'button', class: 'btn btn-tiny', text: 'Events ›',
        onclick: (e) => { e.stopPropagation(); open(); }}))));
    }
    replace(tbody, ...rows);
  };
  const renderCards = () => {
    const cards = LEVELS.map((l) => {
      const rs = rules.filter((r) => String(r.level).toLowerCase() === l);
      const hits = rs.reduce((a, r) => a + r.count, 0);
      return h('button', {type: 'button', class: 'level-card lvl-card-' + l + (level === l ? ' on' : ''),
        'aria-pressed': level === l ? 'true' : 'false',
        onclick: () => { level = level === l ? '' : l; renderCards(); render(); }},
      h('span', {class: 'lc-level', text: l}),
      h('span', {class: 'lc-n', text: num(hits) + ' hits', title: 'Rule hits: one event can hit several rules (the top bar counts events)'}),
      h('span', {class: 'lc-sub', text: plural(rs.length, 'rule')}));
    });
    replace(summary, ...cards);
  };
  filter.addEventListener('input', render);
  const renderPacks = (rp) => {
    const boxes = [];
    const items = rp.packs.map((p) => {
      const cb = h('input', {type: 'checkbox', value: p.name, id: 'pack-' + p.name, checked: p.enabled,
        disabled: !p.optional || !app.can('analyst')});
      if (p.optional) boxes.push(cb);
      return h('label', {class: 'pack-choice', for: 'pack-' + p.name}, cb,
        h('span', {class: 'strong', text: ' ' + p.name}),
        h('span', {class: 'muted small', text: ' · ' + num(p.rules) + ' rules' + (p.optional ? (p.default ? ' · on by default' : ' · off by default') : ' · always on')}));
    });
    const apply = h('button', {type: 'button', class: 'btn btn-small needs-analyst', id: 'packs-apply', text: 'Apply',
      onclick: async () => {
        try {
          const res = await api.setRulePacks(caseId, boxes.filter((b) => b.checked).map((b) => b.value));
          toast(res.job && res.job.id ? 'Rule packs changed; re-running Sigma over the case' : 'Rule packs unchanged', 'ok', 3000);
          renderPacks(res);
        } catch (ex) { toast(ex.message, 'error'); }
      }});
    replace(packsBox, ...items, apply);
  };
  api.rulePacks(caseId).then(renderPacks).catch((ex) => replace(packsBox, h('span', {class: 'muted', text: 'Cannot load rule packs: ' + ex.message})));
  (async () => {
    try {
      rules = await api.sigma(caseId);
      const rank = (r) => { const i = LEVELS.indexOf(String(r.level).toLowerCase()); return i < 0 ? LEVELS.length : i; };
      rules.sort((a, b) => rank(a) - rank(b) || b.count - a.count);
    } catch (ex) {
      replace(tbody, emptyRow(7, 'Cannot load Sigma hits: ' + ex.message));
      return;
    }
    renderCards();
    render();
  })();
  return {};
}

function plural(n, word) { return num(n) + ' ' + word + (n === 1 ? '' : 's'); }
