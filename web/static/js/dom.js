// DOM helpers. Event data is hostile: every piece of text reaches the page
// through textContent or a Text node, never through HTML parsing, and no
// attribute that can carry a URL or code (href, src, style, on*) can be set
// through h().

const ATTRS = new Set([
  'id', 'type', 'title', 'placeholder', 'role', 'tabindex', 'for', 'name', 'min', 'max', 'step',
  'rows', 'cols', 'colspan', 'autocomplete', 'spellcheck', 'accept', 'multiple', 'maxlength',
  'list', 'scope', 'hidden', 'aria-label', 'aria-live', 'aria-expanded', 'aria-selected',
  'aria-pressed', 'aria-hidden', 'webkitdirectory', 'draggable', 'inputmode', 'enterkeyhint', 'open',
]);
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate']);

// h creates an element: h('td', {class: 'num', text: '42'}, child, ...).
// Children may be nodes, strings (as text), numbers, arrays, or null.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else if (ATTRS.has(k)) el.setAttribute(k, v === true ? '' : String(v));
      else throw new Error('h: attribute not allowed: ' + k);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// clear removes every child of el.
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// replace swaps el's children for the given ones.
export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function $(sel, root = document) { return root.querySelector(sel); }
export function $$(sel, root = document) { return Array.from(root.querySelectorAll(sel)); }

const nf = new Intl.NumberFormat('en-US');

export function num(n) { return n === undefined || n === null ? '–' : nf.format(n); }

export function bytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)) + ' ' + units[i];
}

// ts renders a time as UTC "2024-05-14 10:32:07.123"; empty for zero times.
export function ts(t, withMs = true) {
  if (!t || t.startsWith('0001-')) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const s = d.toISOString().replace('T', ' ').replace('Z', '');
  return withMs ? s : s.slice(0, 19);
}

export function ago(t) {
  if (!t || t.startsWith('0001-')) return '';
  const s = Math.round((Date.now() - new Date(t).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

// LEVELS are Sigma levels, highest first, as the UI orders them.
export const LEVELS = ['critical', 'high', 'medium', 'low', 'informational'];

export function levelBadge(level, count) {
  const l = String(level || '').toLowerCase();
  const cls = LEVELS.includes(l) ? l : 'informational';
  // Sigma's own spelling everywhere ("informational", lower case).
  return h('span', {class: 'badge lvl-' + cls, title: 'Sigma level ' + l}, count === undefined ? l : l + ' ' + num(count));
}

export function stateBadge(state) {
  return h('span', {class: 'badge st-' + String(state).replace(/[^a-z]/g, '')}, state);
}

// toast shows a transient message; kind is 'error', 'ok' or 'info'.
export function toast(message, kind = 'info', ms = 6000) {
  const box = document.getElementById('toasts');
  const t = h('div', {class: 'toast toast-' + kind, role: kind === 'error' ? 'alert' : 'status'},
    h('span', {class: 'toast-msg', text: message}),
    h('button', {type: 'button', class: 'toast-x', title: 'Dismiss', text: '×', onclick: () => t.remove()}));
  box.appendChild(t);
  while (box.children.length > 4) box.firstChild.remove();
  setTimeout(() => t.remove(), ms);
}

// poll runs fn now and then every ms after each run finishes, until the
// returned stop function is called. Runs pause while the tab is hidden.
export function poll(fn, ms) {
  let stopped = false;
  let timer = 0;
  const run = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try { await fn(); } catch (e) { /* shown by fn; keep polling */ }
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => { stopped = true; clearTimeout(timer); };
}

// debounce delays fn until ms have passed without another call.
export function debounce(fn, ms) {
  let t = 0;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

// field builds a labelled form control.
export function field(label, control, hint) {
  return h('label', {class: 'field'}, h('span', {class: 'field-label', text: label}), control,
    hint ? h('span', {class: 'field-hint', text: hint}) : null);
}

export function emptyRow(cols, text) {
  return h('tr', {class: 'empty-row'}, h('td', {colspan: cols, text}));
}

// progressBar is a <progress> with a text label beside it.
export function progressBar(cls) {
  const bar = h('progress', {class: 'bar ' + (cls || ''), max: 1});
  bar.value = 0;
  return bar;
}
