// The admin page: a client of the API and nothing more. Every action is an
// API call made with the token the admin pasted, and casbin decides it;
// what the page shows comes from GET /permissions and the caller's OpenAPI
// document, so it offers exactly what the API allows. Values from the
// database are only ever set as text (textContent), never parsed as HTML.
'use strict';

(function () {
  const api = document.body.dataset.api; // the API prefix, e.g. "/api"
  const tokenKey = 'autoapi-admin-token';
  const pageSize = 20;

  const state = {
    perms: {}, // resource -> {action: "all" | "own"}
    doc: null, // the caller's OpenAPI document
    resource: null,
    meta: null, // what the document says of the resource (see describe)
    view: 'live',
    sort: '',
    filter: '',
    cursors: [], // the cursors of the pages before this one ('' for the first)
    cursor: '',
    next: '',
    rows: [],
    selected: new Set(),
  };

  const $ = (id) => document.getElementById(id);

  // el makes an element: attrs are set as properties (so text is always
  // text), children are nodes or strings.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else if (k.startsWith('aria-') || k.startsWith('data-')) node.setAttribute(k, v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  function token() { return sessionStorage.getItem(tokenKey) || ''; }

  // call makes one API request and returns {status, ok, body}.
  async function call(method, path, params) {
    const url = new URL(api + path, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== '' && v !== undefined && v !== null) url.searchParams.set(k, v);
    }
    const headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = 'Bearer ' + token();
    let res;
    try {
      res = await fetch(url, { method, headers, cache: 'no-store' });
    } catch (err) {
      return { status: 0, ok: false, body: { detail: 'the server did not answer' } };
    }
    let body = null;
    try { body = await res.json(); } catch (err) { body = null; }
    return { status: res.status, ok: res.ok, body };
  }

  function detail(res) {
    if (res.body && res.body.detail) return res.body.detail;
    return 'the server answered ' + res.status;
  }

  function say(message, isError) {
    const s = $('status');
    s.textContent = message;
    s.classList.toggle('error', !!isError);
  }

  // ---- Sign-in ----

  function showSignedIn() {
    const signed = token() !== '';
    $('signin').hidden = signed;
    $('signedin').hidden = !signed;
  }

  // A new caller starts afresh: what the last one looked at may mean
  // nothing to them.
  function forget() {
    state.resource = null;
    state.rows = [];
    state.perms = {};
    $('resources').replaceChildren();
    $('rows').tBodies[0].replaceChildren();
    $('browser').hidden = true;
    $('purge').hidden = true;
    state.filter = '';
    state.sort = '';
    $('filter').value = '';
    $('filter-error').hidden = true;
  }

  $('signin').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    if (!t) return;
    sessionStorage.setItem(tokenKey, t);
    forget();
    showSignedIn();
    load();
  });

  $('signout').addEventListener('click', () => {
    sessionStorage.removeItem(tokenKey);
    forget();
    showSignedIn();
    load();
    $('token').focus();
  });

  // ---- What the caller may do ----

  function can(resource, action) {
    const p = state.perms[resource];
    return !!(p && p[action]);
  }

  async function load() {
    say('Loading…');
    document.body.setAttribute('aria-busy', 'true');
    const [perms, doc] = await Promise.all([call('GET', '/permissions'), call('GET', '/openapi.json')]);
    if (!perms.ok) {
      say(perms.status === 401 ? 'These credentials were refused: ' + detail(perms) : detail(perms), true);
      state.perms = {};
      state.doc = null;
    } else {
      state.perms = perms.body.data || {};
      state.doc = doc.ok ? doc.body : null;
      if (!doc.ok) say('The OpenAPI document could not be read: ' + detail(doc), true);
      else say('');
    }
    renderResources();
    renderPurge();
    const readable = Object.keys(state.perms).filter((r) => can(r, 'read'));
    if (state.resource && readable.includes(state.resource)) open(state.resource);
    else if (readable.length > 0) open(readable[0]);
    else {
      state.resource = null;
      $('browser').hidden = true;
    }
    document.body.removeAttribute('aria-busy');
  }

  function renderResources() {
    const list = $('resources');
    list.replaceChildren();
    const names = Object.keys(state.perms).filter((r) => can(r, 'read')).sort();
    for (const name of names) {
      const b = el('button', { type: 'button', 'data-resource': name, onclick: () => open(name) }, name,
        can(name, 'read_deleted') ? el('span', { class: 'tag' }, 'trash') : null);
      if (name === state.resource) b.setAttribute('aria-current', 'true');
      list.append(el('li', {}, b));
    }
    $('no-resources').hidden = names.length > 0;
  }

  // ---- The document ----

  function resolve(ref) {
    if (!ref || !ref.$ref) return ref;
    return ref.$ref.replace(/^#\//, '').split('/').reduce((o, k) => (o ? o[k] : undefined), state.doc);
  }

  function path(p) { return (state.doc && state.doc.paths && state.doc.paths[api + p]) || null; }

  // describe reads what the page needs of a resource from the document:
  // its columns (the fields a list may return), the sortable ones, its
  // key, its deletion fields, and which dry runs exist.
  function describe(name) {
    const list = path('/' + name);
    const get = list && list.get;
    const meta = { columns: [], sortable: new Set(), key: 'id', deletion: {}, props: {} };
    if (!get) return meta;
    for (const p of get.parameters || []) {
      const param = resolve(p);
      const items = param.schema && param.schema.items;
      if (param.name === 'fields' && items && items.enum) meta.columns = items.enum.slice();
      if (param.name === 'sort' && items && items.enum) {
        for (const s of items.enum) if (!s.startsWith('-')) meta.sortable.add(s);
      }
    }
    const ok = get.responses && resolve(get.responses['200']);
    const body = ok && ok.content && resolve(ok.content['application/json'].schema);
    const data = body && body.properties && body.properties.data;
    const record = data && resolve(data.items);
    meta.props = (record && record.properties) || {};
    for (const [field, schema] of Object.entries(meta.props)) {
      if (schema['x-autoapi-key']) meta.key = field;
      if (schema['x-autoapi-deletion']) meta.deletion[schema['x-autoapi-deletion']] = field;
    }
    meta.restorePreview = !!path('/' + name + '/{id}/restore/dry-run');
    meta.bulkRestorePreview = !!path('/' + name + '/restore/dry-run');
    meta.deletePreview = !!path('/' + name + '/{id}/deletion/dry-run');
    return meta;
  }

  function isDeleted(row) {
    const d = state.meta.deletion;
    const marker = d.at || d.flag;
    if (!marker) return false;
    const v = row[marker];
    return v !== null && v !== undefined && v !== false && v !== 0 && v !== '';
  }

  // ---- A resource's rows ----

  function open(name) {
    if (state.resource !== name) {
      state.view = 'live';
      state.sort = '';
      state.filter = '';
      $('filter').value = '';
    }
    state.resource = name;
    state.meta = describe(name);
    state.cursors = [];
    state.cursor = '';
    state.selected.clear();
    for (const b of $('resources').querySelectorAll('button')) {
      if (b.dataset.resource === name) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
    $('resource-title').textContent = name;
    const trash = can(name, 'read_deleted');
    for (const label of $('views').querySelectorAll('[data-trash]')) label.hidden = !trash;
    if (!trash) state.view = 'live';
    for (const input of $('views').querySelectorAll('input')) input.checked = input.value === state.view;
    $('restore-selected').hidden = !can(name, 'restore');
    $('delete-selected').hidden = !can(name, 'hard_delete');
    $('selection').hidden = !can(name, 'restore') && !can(name, 'hard_delete');
    $('browser').hidden = false;
    fetchRows();
  }

  for (const input of $('views').querySelectorAll('input')) {
    input.addEventListener('change', () => {
      state.view = input.value;
      state.cursors = [];
      state.cursor = '';
      state.selected.clear();
      fetchRows();
    });
  }

  $('filter-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.filter = $('filter').value.trim();
    state.cursors = [];
    state.cursor = '';
    state.selected.clear();
    fetchRows();
  });

  $('next').addEventListener('click', () => {
    state.cursors.push(state.cursor);
    state.cursor = state.next;
    fetchRows();
  });

  $('prev').addEventListener('click', () => {
    state.cursor = state.cursors.pop() || '';
    fetchRows();
  });

  function listParams() {
    const p = { limit: String(pageSize), count: 'false', sort: state.sort, filter: state.filter, cursor: state.cursor };
    if (state.view === 'all') p.includeDeleted = 'true';
    if (state.view === 'trash') p.onlyDeleted = 'true';
    return p;
  }

  let fetching = 0; // the number of the latest list request
  async function fetchRows() {
    const name = state.resource;
    const n = ++fetching;
    $('rows').setAttribute('aria-busy', 'true');
    const res = await call('GET', '/' + name, listParams());
    if (n !== fetching) return; // a later request replaces this one
    $('rows').removeAttribute('aria-busy');
    const err = $('filter-error');
    if (!res.ok) {
      state.rows = [];
      state.next = '';
      if (res.status === 400 && state.filter) {
        err.textContent = detail(res);
        err.hidden = false;
        $('filter').setAttribute('aria-invalid', 'true');
      } else {
        say(detail(res), true);
      }
      renderRows();
      return;
    }
    err.hidden = true;
    $('filter').removeAttribute('aria-invalid');
    state.rows = res.body.data || [];
    state.next = (res.body.meta && res.body.meta.nextCursor) || '';
    renderRows();
  }

  function format(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  // instant matches the RFC 3339 times the API writes; the table shows
  // them to the second, with the whole value as the cell's title.
  const instant = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

  function shown(v) {
    const m = typeof v === 'string' && v.match(instant);
    return m ? m[1] + ' ' + m[2] + (m[4] === 'Z' ? ' UTC' : ' ' + m[4]) : format(v);
  }

  function keyOf(row) { return row[state.meta.key]; }

  function renderRows() {
    const name = state.resource;
    const meta = state.meta;
    const columns = meta.columns.length > 0 ? meta.columns
      : Object.keys(state.rows[0] || {}).filter((k) => typeof state.rows[0][k] !== 'object' || state.rows[0][k] === null);
    const selectable = can(name, 'restore') || can(name, 'hard_delete');
    const head = el('tr');
    if (selectable) {
      const all = el('input', { type: 'checkbox', 'aria-label': 'Select every row on this page' });
      all.checked = state.rows.length > 0 && state.rows.every((r) => state.selected.has(String(keyOf(r))));
      all.addEventListener('change', () => {
        for (const r of state.rows) {
          if (all.checked) state.selected.add(String(keyOf(r)));
          else state.selected.delete(String(keyOf(r)));
        }
        renderRows();
      });
      head.append(el('th', { scope: 'col' }, all));
    }
    // The actions come first, where they are in reach at any width.
    head.append(el('th', { scope: 'col' }, 'Actions'));
    for (const col of columns) {
      const th = el('th', { scope: 'col' });
      if (meta.sortable.has(col)) {
        const dir = state.sort === col ? 'ascending' : state.sort === '-' + col ? 'descending' : '';
        if (dir) th.setAttribute('aria-sort', dir);
        th.append(el('button', {
          type: 'button',
          title: 'Sort by ' + col,
          onclick: () => {
            state.sort = state.sort === col ? '-' + col : col;
            state.cursors = [];
            state.cursor = '';
            fetchRows();
          },
        }, col + (dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '')));
      } else {
        th.textContent = col;
      }
      head.append(th);
    }
    $('rows').tHead.replaceChildren(head);

    const body = $('rows').tBodies[0];
    body.replaceChildren();
    for (const row of state.rows) {
      const key = String(keyOf(row));
      const deleted = isDeleted(row);
      const tr = el('tr', { class: deleted ? 'deleted' : '', 'data-key': key });
      if (selectable) {
        const box = el('input', { type: 'checkbox', 'aria-label': 'Select ' + name + ' ' + key });
        box.checked = state.selected.has(key);
        box.addEventListener('change', () => {
          if (box.checked) state.selected.add(key);
          else state.selected.delete(key);
          renderSelection();
        });
        tr.append(el('td', {}, box));
      }
      const actions = el('div', { class: 'actions' });
      if (deleted && can(name, 'restore')) {
        actions.append(el('button', { type: 'button', 'data-action': 'restore', 'aria-label': 'Restore ' + name + ' ' + key, onclick: () => restore([row]) }, 'Restore'));
      }
      if (can(name, 'hard_delete')) {
        actions.append(el('button', { type: 'button', class: 'danger', 'data-action': 'delete', 'aria-label': 'Delete ' + name + ' ' + key + ' permanently', onclick: () => erase([row]) }, 'Delete permanently'));
      }
      tr.append(el('td', {}, actions));
      for (const col of columns) {
        // Long text wraps; keys, numbers and times stay on one line.
        const long = typeof row[col] === 'string' && row[col].length > 32 && !instant.test(row[col]);
        const td = el('td', { class: long ? 'text' : '' }, shown(row[col]));
        if (instant.test(row[col])) td.title = row[col];
        if (col === meta.key && deleted) td.append(el('span', { class: 'badge' }, 'deleted'));
        tr.append(td);
      }
      body.append(tr);
    }
    const view = { live: 'live rows', all: 'live and deleted rows', trash: 'deleted rows' }[state.view];
    $('rows-caption').textContent = state.rows.length === 0 ? 'No ' + view + ' match.'
      : state.rows.length + ' ' + view + (state.cursors.length > 0 ? ', page ' + (state.cursors.length + 1) : '');
    $('prev').disabled = state.cursors.length === 0;
    $('next').disabled = !state.next;
    renderSelection();
  }

  function selectedRows() {
    return state.rows.filter((r) => state.selected.has(String(keyOf(r))));
  }

  function renderSelection() {
    const rows = selectedRows();
    $('selected-count').textContent = rows.length + ' selected';
    $('restore-selected').disabled = rows.filter(isDeleted).length === 0;
    $('delete-selected').disabled = rows.length === 0;
  }

  $('restore-selected').addEventListener('click', () => restore(selectedRows().filter(isDeleted)));
  $('delete-selected').addEventListener('click', () => erase(selectedRows()));

  // ---- Confirmations ----

  // confirm shows the dialog and resolves true when the admin confirms.
  // With no confirmLabel, the dialog only informs.
  function confirm(title, body, confirmLabel) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-body').replaceChildren(...body);
    const ok = $('confirm-ok');
    ok.hidden = !confirmLabel;
    ok.textContent = confirmLabel || '';
    $('confirm-cancel').textContent = confirmLabel ? 'Cancel' : 'Close';
    return new Promise((resolve) => {
      const done = (answer) => {
        ok.onclick = null;
        $('confirm-cancel').onclick = null;
        dialog.onclose = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      ok.onclick = () => done(true);
      $('confirm-cancel').onclick = () => done(false);
      dialog.onclose = () => done(false);
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  // effects lists the rows a dry run reports.
  function effects(rows) {
    const list = el('ul', { class: 'effects' });
    for (const r of rows) {
      const ids = r.ids ? ': ' + r.ids.map(String).join(', ') : '';
      list.append(el('li', { 'data-resource': r.resource }, r.resource + ' ×' + r.count + ids));
    }
    return list;
  }

  // conflict explains a 409 from a restore: the field whose unique value
  // a live row holds, and that row when the caller may see it.
  async function conflict(res, rows) {
    const out = [el('p', { class: 'error', 'data-problem': String(res.status) }, detail(res))];
    const field = res.body && res.body.errors && res.body.errors[0] && res.body.errors[0].field;
    if (field && rows.length === 1 && rows[0][field] !== undefined) {
      const value = rows[0][field];
      const holder = await call('GET', '/' + state.resource, { [field]: format(value), limit: '1', count: 'false' });
      if (holder.ok && holder.body.data && holder.body.data.length > 0) {
        const live = holder.body.data[0];
        out.push(el('p', { 'data-holder': String(keyOf(live)) },
          'The live ' + state.resource + ' ' + format(keyOf(live)) + ' holds ' + field + ' ' + format(value) + '.'));
      } else {
        out.push(el('p', {}, 'A live row you cannot see holds ' + field + ' ' + format(value) + '.'));
      }
    }
    return out;
  }

  function label(rows) {
    const name = state.resource;
    return rows.length === 1 ? name + ' ' + format(keyOf(rows[0])) : rows.length + ' ' + name;
  }

  // item is the path of a row. The API refuses keys that a path would
  // have to escape, or that clients drop from paths ("." and ".."), so the
  // key goes in as it is, escaped only for safety.
  function item(row) {
    return '/' + state.resource + '/' + encodeURIComponent(format(keyOf(row)));
  }

  // dryRuns asks a dry run per call ([path, params]) and merges what they
  // report by resource; the first refusal stops it, with the index of the
  // call refused.
  async function dryRuns(calls) {
    const merged = new Map();
    for (let i = 0; i < calls.length; i++) {
      const dry = await call('POST', calls[i][0], calls[i][1]);
      if (!dry.ok) return { refused: dry, at: i };
      for (const r of dry.body.data.rows) {
        const m = merged.get(r.resource) || { resource: r.resource, count: 0, ids: [] };
        m.count += r.count;
        m.ids = m.ids && r.ids ? m.ids.concat(r.ids) : undefined;
        merged.set(r.resource, m);
      }
    }
    return { rows: [...merged.values()] };
  }

  async function restore(rows) {
    if (rows.length === 0) return;
    const name = state.resource;
    // A selection is restored in one request, by its keys, unless a key
    // holds a comma, which would split it in the filter's list.
    const bulk = rows.length > 1 && !rows.some((r) => format(keyOf(r)).includes(','));
    const calls = bulk
      ? [['/' + name + '/restore', { [state.meta.key + '[in]']: rows.map((r) => format(keyOf(r))).join(',') }]]
      : rows.map((r) => [item(r) + '/restore', {}]);
    const previewable = bulk ? state.meta.bulkRestorePreview : state.meta.restorePreview;
    const body = [];
    if (previewable) {
      const dry = await dryRuns(calls.map(([p, q]) => [p + '/dry-run', q]));
      if (dry.refused && dry.refused.status === 403) {
        // A dry run needs read_deleted as well; the restore may still be
        // the caller's to make.
        body.push(el('p', {}, 'Your grants do not let you preview this restore (' + detail(dry.refused) + '); its effects cannot be listed beforehand.'));
      } else if (dry.refused) {
        const one = bulk ? rows : [rows[dry.at]];
        await confirm('Cannot restore ' + label(one), dry.refused.status === 409
          ? await conflict(dry.refused, one)
          : [el('p', { class: 'error', 'data-problem': String(dry.refused.status) }, detail(dry.refused))]);
        return;
      } else {
        body.push(el('p', {}, 'Restoring makes these rows live again:'), effects(dry.rows));
      }
    } else {
      body.push(el('p', {}, 'This restore runs custom code on the server; its effects cannot be listed beforehand.'));
    }
    if (!await confirm('Restore ' + label(rows) + '?', body, 'Restore')) return;
    for (let i = 0; i < calls.length; i++) {
      const res = await call('POST', calls[i][0], calls[i][1]);
      if (res.status === 409) {
        await confirm('Cannot restore ' + label(bulk ? rows : [rows[i]]), await conflict(res, bulk ? rows : [rows[i]]));
        break;
      } else if (!res.ok) {
        say(detail(res), true);
        break;
      } else if (i === calls.length - 1) {
        say('Restored ' + label(rows) + '.');
      }
    }
    state.selected.clear();
    fetchRows();
  }

  async function erase(rows) {
    if (rows.length === 0) return;
    const body = [el('p', {}, 'This cannot be undone.')];
    if (state.meta.deletePreview) {
      const dry = await dryRuns(rows.map((r) => [item(r) + '/deletion/dry-run', { permanent: 'true' }]));
      if (dry.refused && dry.refused.status === 403) {
        body.push(el('p', {}, 'Your grants do not let you preview this delete (' + detail(dry.refused) + '); its effects cannot be listed beforehand.'));
      } else if (dry.refused) {
        await confirm('Cannot delete ' + label([rows[dry.at]]) + ' permanently',
          [el('p', { class: 'error', 'data-problem': String(dry.refused.status) }, detail(dry.refused))]);
        return;
      } else {
        body.push(el('p', {}, 'These rows will be erased:'), effects(dry.rows));
      }
    } else {
      body.push(el('p', {}, 'This delete runs custom code on the server; its effects cannot be listed beforehand.'));
    }
    if (!await confirm('Delete ' + label(rows) + ' permanently?', body, 'Delete permanently')) return;
    const failures = [];
    for (const r of rows) {
      const res = await call('DELETE', item(r), { permanent: 'true' });
      if (!res.ok) failures.push(detail(res));
    }
    if (failures.length > 0) say(failures.join('; '), true);
    else say('Deleted ' + label(rows) + ' permanently.');
    state.selected.clear();
    fetchRows();
  }

  // ---- Purge ----

  function renderPurge() {
    $('purge').hidden = !path('/purge');
    $('purge-result').replaceChildren();
  }

  function purgeTable(resources, dryRun) {
    const head = el('tr', {}, el('th', { scope: 'col' }, 'Resource'),
      el('th', { scope: 'col' }, dryRun ? 'Would remove' : 'Removed'),
      dryRun ? null : el('th', { scope: 'col' }, 'Kept (still referenced)'));
    const rows = resources.map((r) => el('tr', { 'data-resource': r.resource }, el('td', {}, r.resource),
      el('td', {}, String(r.removed)), dryRun ? null : el('td', {}, String(r.kept))));
    return el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)));
  }

  $('purge-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const age = $('purge-age').value.trim();
    const out = $('purge-result');
    const dry = await call('POST', '/purge', { olderThan: age, dryRun: 'true' });
    if (!dry.ok) {
      out.replaceChildren(el('p', { class: 'error', role: 'alert' }, detail(dry)));
      return;
    }
    const total = dry.body.data.resources.reduce((n, r) => n + r.removed, 0);
    const purge = el('button', { type: 'button', class: 'danger', id: 'purge-run', disabled: total === 0 }, 'Purge ' + total + ' rows');
    out.replaceChildren(el('p', {}, 'Deleted longer ago than ' + age + ':'), purgeTable(dry.body.data.resources, true), purge);
    purge.addEventListener('click', async () => {
      const ok = await confirm('Purge ' + total + ' rows?', [
        el('p', {}, 'Rows deleted longer ago than ' + age + ' are removed for good. Rows other rows still refer to are kept.'),
        purgeTable(dry.body.data.resources, true),
      ], 'Purge');
      if (!ok) return;
      const res = await call('POST', '/purge', { olderThan: age });
      if (!res.ok) {
        out.replaceChildren(el('p', { class: 'error', role: 'alert' }, detail(res)));
        return;
      }
      out.replaceChildren(el('p', {}, 'Purged:'), purgeTable(res.body.data.resources, false));
      if (state.resource) fetchRows();
    });
  });

  showSignedIn();
  load();
}());
