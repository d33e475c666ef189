// Aggregations: the top values of any field for the current search, in
// the facet column and as a table with bars; click a value to filter,
// alt-click or − to exclude, tick several to filter or exclude them
// together.

import {h, replace, num, toast} from './dom.js';
import {api} from './api.js';

// FIELD_HINTS are offered in the field box (any field name works).
export const FIELD_HINTS = ['TargetUserName', 'SubjectUserName', 'IpAddress', 'WorkstationName', 'LogonType', 'Image',
  'ParentImage', 'CommandLine', 'ParentCommandLine', 'User', 'TargetFilename', 'DestinationIp', 'DestinationPort',
  'SourceIp', 'QueryName', 'ServiceName', 'ImagePath', 'TaskName', 'ProcessName', 'ShareName', 'ObjectName',
  'TargetObject', 'Hashes', 'Status', 'SubStatus', 'AuthenticationPackageName', 'LogonProcessName', 'ProcessId',
  'ProcessGuid', 'TargetLogonId', 'SubjectLogonId', 'Computer', 'Channel', 'Provider', 'EventID', 'Level', 'user',
  'sigma.title', 'sigma.level', 'tag'];

// quote makes v one quoted value of the query language.
export function quote(v) {
  return '"' + String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// fieldName writes a field name for the query: names with spaces or
// syntax characters are quoted; UserData paths use their leaf.
export function fieldName(name) {
  const leaf = name.includes('.') && !/^(sigma|ioc|system)\./i.test(name) ? name.slice(name.lastIndexOf('.') + 1) : name;
  return /^[A-Za-z0-9_.]+$/.test(leaf) ? leaf : quote(leaf);
}

// valuesClause is field = any of values, negated when exclude.
export function valuesClause(field, values, exclude) {
  const f = fieldName(field);
  const body = values.length === 1 ? f + ':' + quote(values[0]) : f + ':(' + values.map(quote).join(' OR ') + ')';
  return (exclude ? '-' : '') + body;
}

// aggPanel is the facet column's "Top values" box. params() gives the
// current search's API parameters; addClause(clause) narrows the search.
export function aggPanel(caseId, params, addClause) {
  const input = h('input', {type: 'text', id: 'agg-field', class: 'agg-field', placeholder: 'Any field, e.g. TargetUserName',
    list: 'dl-agg-fields', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Field to count'});
  const dl = h('datalist', {id: 'dl-agg-fields'}, FIELD_HINTS.map((f) => h('option', {value: f})));
  const go = h('button', {type: 'submit', class: 'btn btn-small', id: 'agg-go', text: 'Count'});
  const chartBtn = h('button', {type: 'button', class: 'btn btn-small', id: 'agg-chart-btn', text: 'Chart', title: 'Show as a table with bars', hidden: true});
  const list = h('div', {id: 'agg-values', class: 'agg-values'});
  const actions = h('div', {class: 'agg-actions', hidden: true},
    h('button', {type: 'button', class: 'btn btn-tiny', id: 'agg-filter-sel', text: 'Filter selected', onclick: () => picked(false)}),
    h('button', {type: 'button', class: 'btn btn-tiny', id: 'agg-exclude-sel', text: 'Exclude selected', onclick: () => picked(true)}));
  const form = h('form', {class: 'agg-form'}, input, go, dl);
  const chart = h('div', {class: 'agg-chart card', id: 'agg-chart', hidden: true});
  const el = h('div', {class: 'facet agg', id: 'agg'}, h('h3', {text: 'Top values'}), form, list, actions, chartBtn);
  let last = null;
  let seq = 0;
  form.addEventListener('submit', (e) => { e.preventDefault(); run(); });
  chartBtn.addEventListener('click', () => {
    chart.hidden = !chart.hidden;
    chartBtn.textContent = chart.hidden ? 'Chart' : 'Hide chart';
    if (!chart.hidden && last) renderChart(last);
  });

  async function run() {
    const field = input.value.trim();
    if (!field) { last = null; replace(list); actions.hidden = true; chartBtn.hidden = true; chart.hidden = true; return; }
    const my = ++seq;
    list.classList.add('loading');
    let agg;
    try {
      agg = await api.aggregate(caseId, {...params(), field, size: '20'});
    } catch (ex) {
      if (my !== seq) return;
      list.classList.remove('loading');
      replace(list, h('p', {class: 'err-text small', text: ex.message}));
      return;
    }
    if (my !== seq) return;
    list.classList.remove('loading');
    last = agg;
    render(agg);
    if (!chart.hidden) renderChart(agg);
  }

  function pick(value, exclude) { addClause(valuesClause(last.field, [value], exclude)); }

  function picked(exclude) {
    const vals = [...list.querySelectorAll('input.agg-check:checked')].map((c) => c.dataset.value);
    if (!vals.length) { toast('Tick one or more values first', 'error'); return; }
    addClause(valuesClause(last.field, vals, exclude));
  }

  function render(agg) {
    const max = Math.max(1, ...agg.values.map((v) => v.count));
    const rows = agg.values.map((v) => {
      const bar = h('span', {class: 'agg-bar'});
      bar.style.width = Math.max(2, Math.round(100 * v.count / max)) + '%';
      return h('div', {class: 'agg-row', data: {value: v.value, count: v.count}},
        h('input', {type: 'checkbox', class: 'agg-check', 'aria-label': 'Select ' + v.value, data: {value: v.value}}),
        h('button', {type: 'button', class: 'facet-btn agg-pick', title: v.value + '\nclick: filter · alt-click: exclude',
          onclick: (e) => pick(v.value, e.altKey)},
        h('span', {class: 'facet-v', text: v.value}), h('span', {class: 'facet-n', text: num(v.count)})),
        h('button', {type: 'button', class: 'btn btn-tiny agg-x', title: 'Exclude ' + v.value, text: '−', onclick: () => pick(v.value, true)}),
        h('span', {class: 'agg-track'}, bar));
    });
    const foot = [];
    if (agg.other) foot.push(num(agg.other) + ' in ' + num(agg.distinct - agg.values.length) + ' other values');
    if (agg.missing) foot.push(num(agg.missing) + ' without ' + agg.field);
    if (agg.partial) foot.push('the top of ' + num(agg.distinct) + ' distinct values in the case; the rest not counted');
    replace(list, rows.length ? rows : h('p', {class: 'muted small', text: 'No ' + agg.field + ' values in these ' + num(agg.total) + ' events.'}),
      foot.length ? h('p', {class: 'muted small agg-foot', text: foot.join(' · ')}) : null);
    actions.hidden = !rows.length;
    chartBtn.hidden = !rows.length;
  }

  function renderChart(agg) {
    const max = Math.max(1, ...agg.values.map((v) => v.count));
    const rows = agg.values.map((v) => {
      const bar = h('span', {class: 'agg-bar'});
      bar.style.width = Math.max(1, Math.round(100 * v.count / max)) + '%';
      return h('tr', {data: {value: v.value}},
        h('td', {class: 'mono ellip agg-chart-v'}, h('button', {type: 'button', class: 'example', text: v.value,
          title: 'click: filter · alt-click: exclude', onclick: (e) => pick(v.value, e.altKey)})),
        h('td', {class: 'num', text: num(v.count)}),
        h('td', {class: 'num muted', text: agg.total ? (100 * v.count / agg.total).toFixed(1) + '%' : ''}),
        h('td', {class: 'agg-chart-bar'}, h('span', {class: 'agg-track wide'}, bar)),
        h('td', null, h('button', {type: 'button', class: 'btn btn-tiny', text: 'Exclude', onclick: () => pick(v.value, true)})));
    });
    replace(chart, h('div', {class: 'agg-chart-head'}, h('h3', {text: 'Top ' + agg.field + ' of ' + num(agg.total) + ' events'}),
      h('button', {type: 'button', class: 'icon-btn', title: 'Close', text: '×', onclick: () => chartBtn.click()})),
    h('table', {class: 'grid dense', id: 'agg-table'}, h('thead', null, h('tr', null, h('th', {text: agg.field}), h('th', {class: 'num', text: 'Events'}),
      h('th', {class: 'num', text: '%'}), h('th', {text: ''}), h('th', {text: ''}))), h('tbody', null, rows)));
  }

  return {el, chart, refresh: () => { if (input.value.trim()) run(); }, setField: (f) => { input.value = f; run(); }};
}
