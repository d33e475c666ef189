// Dashboard: the engine's memory budget and use, workers, admission
// throttling, queue, ingest rate and re-hunt jobs, live.

import {h, replace, num, bytes, ts, poll, emptyRow} from './dom.js';
import {api} from './api.js';

export const caseView = false;

const HISTORY = 90; // samples kept for the rate chart

export function mount(root) {
  const rates = [];
  const cards = h('div', {class: 'dash-grid', id: 'dash'});
  const canvas = h('canvas', {class: 'rate-chart', id: 'rate-chart'});
  const jobs = h('tbody');
  const inv = h('div', {class: 'invariants', id: 'invariants'});
  replace(root,
    h('div', {class: 'view-head'}, h('h1', {text: 'Dashboard'}),
      h('p', {class: 'muted', text: 'Live engine state, refreshed every 1.5 s.'})),
    cards,
    h('section', {class: 'card'}, h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Ingest rate (events/s)'})), canvas),
    inv,
    h('section', {class: 'card'}, h('div', {class: 'card-head'}, h('h2', {class: 'card-title', text: 'Re-hunt jobs'})),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid dense', id: 'jobs-table'},
        h('thead', null, h('tr', null, h('th', {class: 'num', text: '#'}), h('th', {class: 'num', text: 'Case'}),
          h('th', {text: 'Kind'}), h('th', {text: 'State'}), h('th', {text: 'Files'}), h('th', {class: 'num', text: 'Events'}),
          h('th', {class: 'num', text: 'Changed'}), h('th', {text: 'Started (UTC)'}), h('th', {text: 'Error'}))),
        jobs))));

  const stop = poll(async () => {
    let s;
    try {
      s = await api.system();
    } catch (ex) {
      replace(cards, h('div', {class: 'card err-text', text: 'Cannot read engine status: ' + ex.message}));
      return;
    }
    rates.push(s.events_per_second || 0);
    if (rates.length > HISTORY) rates.shift();
    const budget = s.memory_budget_bytes || 0;
    replace(cards,
      card('Memory', [
        meter('Heap in use', s.heap_inuse_bytes, budget),
        meter('Process RSS', s.rss_bytes, budget),
        kv('Budget', budget ? bytes(budget) : 'not set'),
        kv('System available', s.system_available_bytes ? bytes(s.system_available_bytes) : '–'),
      ]),
      card('Workers', [
        big(num(s.active_workers) + ' / ' + num(s.max_workers), 'active / max'),
        kv('Waiting for memory', num(s.waiting_files)),
        kv('Admission', s.throttled ? 'THROTTLED' : 'open', s.throttled ? 'bad' : 'good'),
        kv('Files admitted since start', num(s.admitted_files)),
      ]),
      card('Queue', [
        big(num(s.pending_files), 'files with work left'),
        kv('Queued', num(s.queued_files)),
        kv('Intake', s.paused ? 'PAUSED' : 'open', s.paused ? 'bad' : 'good'),
        kv('Disk free', s.disk_free_bytes ? bytes(s.disk_free_bytes) + ' (reserve ' + bytes(s.disk_reserve_bytes || 0) + ')' : '–'),
        kv('Goroutines', num(s.goroutines)),
      ]),
      card('Ingest', [
        big(num(Math.round(s.events_per_second || 0)), 'events / second (10 s window)'),
        kv('Version', s.version || '–'),
        kv('Server time (UTC)', ts(s.time, false)),
      ]));
    drawRates(canvas, rates);
    const bad = s.invariant_errors || [];
    const startup = s.startup_problems || [];
    const p = s.paused;
    replace(inv,
      ...(p ? [h('section', {class: 'card alert', id: 'intake-paused'},
        h('h2', {class: 'card-title', text: p.write_failed ? 'Intake stopped: a write failed' : 'Intake paused: not enough disk space'}),
        h('p', {class: 'mono small', text: p.reason}),
        h('p', {class: 'small', text: 'Since ' + ts(p.since, false) + '. Files stay queued; nothing is lost. Free space on ' + p.path +
          ' (needed ' + bytes(p.need_bytes || 0) + ', free ' + bytes(p.free_bytes || 0) + '): intake resumes by itself. Searches keep working.'}))] : []),
      ...(bad.length ? [h('section', {class: 'card alert'}, h('h2', {class: 'card-title', text: 'Invariant violations'}),
        h('ul', null, bad.map((b) => h('li', {class: 'mono small', text: b}))))] : []),
      h('section', {class: startup.length ? 'card alert' : 'card', id: 'startup-check'},
        h('h2', {class: 'card-title', text: 'Start-up check (ledger, disk, index)'}),
        startup.length
          ? h('ul', null, startup.map((p) => h('li', {class: 'mono small', text: '[' + p.case + '] ' + p.kind + ': ' + p.detail + ' (fix: ' + p.fix + ')'})))
          : h('p', {class: 'small', text: 'Clean: every file record points at its file and nothing was left mid-work.'})));
    const js = (s.jobs || []).slice().reverse();
    replace(jobs, ...(js.length ? js.map((j) => h('tr', null,
      h('td', {class: 'num', text: j.id}), h('td', {class: 'num', text: j.case_id}), h('td', {text: j.kind}),
      h('td', null, h('span', {class: 'badge st-' + (j.state === 'done' ? 'completed' : j.state === 'running' ? 'indexing' : 'failed'), text: j.state})),
      h('td', null, h('progress', {class: 'bar', max: 1, value: j.files ? j.files_done / j.files : (j.state === 'done' ? 1 : 0)}),
        h('span', {class: 'small muted', text: ' ' + num(j.files_done) + '/' + num(j.files)})),
      h('td', {class: 'num', text: num(j.events)}), h('td', {class: 'num', text: num(j.changed)}),
      h('td', {class: 'mono small', text: ts(j.started, false)}), h('td', {class: 'err-text small', text: j.error || ''}))) :
      [emptyRow(9, 'No re-hunts since the server started.')]));
  }, 1500);
  return {unmount: stop};
}

function card(title, children) {
  return h('section', {class: 'card dash-card'}, h('h2', {class: 'card-title', text: title}), children);
}

function kv(k, v, cls) {
  return h('div', {class: 'dash-kv'}, h('span', {class: 'muted', text: k}), h('span', {class: 'dash-v' + (cls ? ' ' + cls + '-text' : ''), text: v}));
}

function big(v, sub) {
  return h('div', {class: 'dash-big'}, h('span', {class: 'dash-big-v', text: v}), h('span', {class: 'muted small', text: sub}));
}

function meter(label, used, budget) {
  const frac = budget ? Math.min(1, (used || 0) / budget) : 0;
  const bar = h('progress', {class: 'bar meter' + (frac > 0.9 ? ' hot' : frac > 0.7 ? ' warm' : ''), max: 1, value: frac});
  return h('div', {class: 'dash-meter'},
    h('div', {class: 'dash-kv'}, h('span', {class: 'muted', text: label}),
      h('span', {class: 'dash-v', text: used ? bytes(used) + (budget ? ' · ' + Math.round(frac * 100) + '% of budget' : '') : '–'})),
    bar);
}

// drawRates plots the recent rate samples on a canvas.
function drawRates(canvas, rates) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  const hgt = canvas.clientHeight || 120;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, hgt);
  const css = getComputedStyle(document.documentElement);
  const line = css.getPropertyValue('--accent').trim() || '#4fb3ff';
  const grid = css.getPropertyValue('--line').trim() || '#333';
  const text = css.getPropertyValue('--muted').trim() || '#888';
  const max = Math.max(10, ...rates);
  g.strokeStyle = grid;
  g.lineWidth = 1;
  for (let i = 1; i < 4; i++) {
    const y = Math.round(hgt * i / 4) + 0.5;
    g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke();
  }
  g.fillStyle = text;
  g.font = '11px system-ui, sans-serif';
  g.fillText(num(Math.round(max)) + ' ev/s', 4, 12);
  if (rates.length < 2) return;
  const step = w / (HISTORY - 1);
  const x0 = w - step * (rates.length - 1);
  g.beginPath();
  rates.forEach((r, i) => {
    const x = x0 + i * step;
    const y = hgt - 2 - (hgt - 16) * r / max;
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.strokeStyle = line;
  g.lineWidth = 2;
  g.stroke();
  g.lineTo(x0 + (rates.length - 1) * step, hgt);
  g.lineTo(x0, hgt);
  g.closePath();
  g.globalAlpha = 0.15;
  g.fillStyle = line;
  g.fill();
  g.globalAlpha = 1;
}
