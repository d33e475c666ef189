// The JSON API client. Errors carry the server's readable reason.
//
// The session cookie is HttpOnly: scripts never see it. Requests that
// change state carry the session's CSRF token in X-CSRF-Token; the token
// comes from the login answer or GET /api/session and lives only here.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const auth = {
  csrf: '',
  // onUnauthorized is called when the server answers 401 (no session, or
  // it expired): the UI shows the login page.
  onUnauthorized: null,
};

// setCSRF records the session's CSRF token ('' after logout).
export function setCSRF(token) { auth.csrf = token || ''; }

// onUnauthorized sets the handler for 401 answers.
export function onUnauthorized(fn) { auth.onUnauthorized = fn; }

function unauthorized(status, path) {
  if (status === 401 && auth.onUnauthorized && path !== '/api/login' && path !== '/api/session') auth.onUnauthorized();
}

async function call(method, path, body) {
  const opts = {method, headers: {Accept: 'application/json'}, credentials: 'same-origin'};
  if (method !== 'GET' && auth.csrf) opts.headers['X-CSRF-Token'] = auth.csrf;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'cannot reach the casescope server');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    unauthorized(res.status, path);
    throw new ApiError(res.status, (data && data.error) || res.status + ' ' + res.statusText);
  }
  return data;
}

const c = (id) => '/api/cases/' + encodeURIComponent(id);
const u = (name) => '/api/users/' + encodeURIComponent(name);

export const api = {
  session: () => call('GET', '/api/session'),
  login: (name, password) => call('POST', '/api/login', {name, password}),
  logout: () => call('POST', '/api/logout'),
  changePassword: (current, next) => call('POST', '/api/session/password', {current, new: next}),
  users: () => call('GET', '/api/users'),
  createUser: (name, role) => call('POST', '/api/users', {name, role}),
  updateUser: (name, patch) => call('PATCH', u(name), patch),
  resetPassword: (name) => call('POST', u(name) + '/password'),
  audit: (before, limit) => call('GET', '/api/audit?' + new URLSearchParams({before: before || 0, limit: limit || 200}).toString()),
  system: () => call('GET', '/api/system'),
  job: (id) => call('GET', '/api/jobs/' + encodeURIComponent(id)),
  cases: () => call('GET', '/api/cases'),
  createCase: (name, description) => call('POST', '/api/cases', {name, description}),
  caseStats: (id) => call('GET', c(id)),
  files: (id) => call('GET', c(id) + '/files'),
  importPath: (id, path) => call('POST', c(id) + '/import', {path}),
  requeue: (id, fid) => call('POST', c(id) + '/files/' + fid + '/requeue'),
  hide: (id, fid, hidden) => call('POST', c(id) + '/files/' + fid + (hidden ? '/hide' : '/unhide')),
  deleteFile: (id, fid) => call('DELETE', c(id) + '/files/' + fid),
  search: (id, params) => call('GET', c(id) + '/search?' + new URLSearchParams(params).toString()),
  event: (id, docId) => call('GET', c(id) + '/events/' + encodeURIComponent(docId)),
  eventXML: (id, docId) => call('GET', c(id) + '/events/' + encodeURIComponent(docId) + '/xml'),
  tag: (id, docId, tag) => call('PUT', c(id) + '/events/' + encodeURIComponent(docId) + '/tag', tag),
  comments: (id, docId) => call('GET', c(id) + '/events/' + encodeURIComponent(docId) + '/comments'),
  addComment: (id, docId, text) => call('POST', c(id) + '/events/' + encodeURIComponent(docId) + '/comments', {text}),
  editComment: (id, docId, cid, text) => call('PATCH', c(id) + '/events/' + encodeURIComponent(docId) + '/comments/' + cid, {text}),
  deleteComment: (id, docId, cid) => call('DELETE', c(id) + '/events/' + encodeURIComponent(docId) + '/comments/' + cid),
  members: (id) => call('GET', c(id) + '/members'),
  setMember: (id, name, role) => call('PUT', c(id) + '/members/' + encodeURIComponent(name), {role}),
  removeMember: (id, name) => call('DELETE', c(id) + '/members/' + encodeURIComponent(name)),
  tagQuery: (id, query, tags, starred) => call('POST', c(id) + '/tag-query', {query, tags, starred}),
  sigma: (id) => call('GET', c(id) + '/sigma'),
  rulePacks: (id) => call('GET', c(id) + '/rule-packs'),
  setRulePacks: (id, packs) => call('PUT', c(id) + '/rule-packs', {packs}),
  iocs: (id) => call('GET', c(id) + '/iocs'),
  hosts: (id) => call('GET', c(id) + '/hosts'),
  accounts: (id) => call('GET', c(id) + '/accounts'),
  logons: (id) => call('GET', c(id) + '/logons'),
  metrics: (id) => call('GET', c(id) + '/metrics'),
  attack: (id) => call('GET', c(id) + '/attack'),
  suppressions: (id) => call('GET', c(id) + '/suppressions'),
  suppressed: (id) => call('GET', c(id) + '/suppressed'),
  addSuppression: (id, body) => call('POST', c(id) + '/suppressions', body),
  updateSuppression: (id, sid, patch) => call('PATCH', c(id) + '/suppressions/' + sid, patch),
  ruleContext: (id, docId, ruleId) => call('GET', c(id) + '/events/' + encodeURIComponent(docId) + '/rules/' + encodeURIComponent(ruleId)),
  addIOCs: (id, body) => call('POST', c(id) + '/iocs', body),
  updateIOC: (id, iocId, patch) => call('PATCH', c(id) + '/iocs/' + iocId, patch),
  deleteIOC: (id, iocId) => call('DELETE', c(id) + '/iocs/' + iocId),
  setCaseStatus: (id, status) => call('POST', c(id) + '/status', {status}),
  deleteCase: (id) => call('DELETE', c(id) + '/'),
  caseArchiveURL: (id) => c(id) + '/archive',
  aggregate: (id, params) => call('GET', c(id) + '/aggregate?' + new URLSearchParams(params).toString()),
  context: (id, docId, params) => call('GET', c(id) + '/events/' + encodeURIComponent(docId) + '/context?' + new URLSearchParams(params).toString()),
  history: (id) => call('GET', c(id) + '/history'),
  savedSearches: (id) => call('GET', c(id) + '/saved-searches'),
  savedSearch: (id, sid) => call('GET', c(id) + '/saved-searches/' + sid),
  saveSearch: (id, body) => call('POST', c(id) + '/saved-searches', body),
  updateSavedSearch: (id, sid, body) => call('PUT', c(id) + '/saved-searches/' + sid, body),
  deleteSavedSearch: (id, sid) => call('DELETE', c(id) + '/saved-searches/' + sid),
  templates: () => call('GET', '/api/search-templates'),
  template: (tid) => call('GET', '/api/search-templates/' + tid),
  addTemplate: (body) => call('POST', '/api/search-templates', body),
  updateTemplate: (tid, body) => call('PUT', '/api/search-templates/' + tid, body),
  deleteTemplate: (tid) => call('DELETE', '/api/search-templates/' + tid),
  prefs: () => call('GET', '/api/session/prefs'),
  setPrefs: (prefs) => call('PUT', '/api/session/prefs', prefs),
};

// importCaseArchive streams a case archive (the .tar a case export
// wrote) as the request body, reporting progress (loaded, total bytes);
// it resolves with the import's answer. The server verifies every member
// before it records anything.
export function importCaseArchive(file, as, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/case-archives?' + new URLSearchParams({as: as || ''}).toString());
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/x-tar');
    if (auth.csrf) xhr.setRequestHeader('X-CSRF-Token', auth.csrf);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        resolve(data);
      } else {
        unauthorized(xhr.status, '');
        reject(new ApiError(xhr.status, (data && data.error) || 'import failed (' + xhr.status + ')'));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'import interrupted (connection lost)')));
    xhr.send(file);
  });
}

// upload sends one file as a streamed multipart body and reports progress
// (loaded, total bytes). It resolves with the server's answer for the file
// and rejects with an ApiError carrying the reason. abort() cancels it.
export function upload(caseId, file, name, onProgress) {
  const xhr = new XMLHttpRequest();
  const p = new Promise((resolve, reject) => {
    xhr.open('POST', c(caseId) + '/upload');
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    if (auth.csrf) xhr.setRequestHeader('X-CSRF-Token', auth.csrf);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data && data.files && data.files.length) {
        resolve(data.files[0]);
      } else {
        unauthorized(xhr.status, '');
        reject(new ApiError(xhr.status, (data && data.error) || 'upload failed (' + xhr.status + ')'));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'upload interrupted (connection lost)')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'upload cancelled')));
    const fd = new FormData();
    fd.append('file', file, name);
    xhr.send(fd);
  });
  p.abort = () => xhr.abort();
  return p;
}

// exportURL is the address of a download (GET, the cookie authenticates
// it); the page navigates to it and the browser saves the attachment.
export function exportURL(path, params) {
  return path + '?' + new URLSearchParams(params).toString();
}
