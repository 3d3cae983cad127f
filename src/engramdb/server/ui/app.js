// engramdb dashboard: a small single-page app over the /v1 JSON API. No build step, no dependencies.
"use strict";

const KEY_STORE = "engramdb.api_key";
const SCOPE_STORE = "engramdb.scope";
const PAGE_SIZE = 20;
const SCOPE_FIELD = { user: "user_id", agent: "agent_id", run: "run_id" };

const $ = (sel) => document.querySelector(sel);
const state = { scopes: [], offset: 0, query: "", rows: [] };

// ---- helpers -----------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function toast(text, isError = false) {
  const t = $("#toast");
  t.textContent = text;
  t.className = isError ? "error" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const key = sessionStorage.getItem(KEY_STORE);
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try { message = (await r.json()).error.message || message; } catch (_) { /* not JSON */ }
    if (r.status === 401) logout(message);
    throw new ApiError(r.status, message);
  }
  const type = r.headers.get("content-type") || "";
  return type.includes("application/json") ? r.json() : r.text();
}

function scopeParams(scope) {
  return scope ? { [SCOPE_FIELD[scope.kind]]: scope.id } : {};
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) p.set(k, v);
  return p.toString();
}

function currentScope() {
  try { return JSON.parse(sessionStorage.getItem(SCOPE_STORE)); } catch (_) { return null; }
}

function setScope(scope) {
  sessionStorage.setItem(SCOPE_STORE, JSON.stringify(scope));
}

// ---- login ---------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  const key = $("#api_key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORE, key);
  sessionStorage.removeItem(SCOPE_STORE);
  try {
    await api("GET", "/v1/stats");
  } catch (e) {
    sessionStorage.removeItem(KEY_STORE);
    $("#login-error").textContent = `Sign-in failed: ${e.message}`;
    return;
  }
  $("#api_key").value = "";
  $("#login-error").textContent = "";
  if (location.hash.startsWith("#/")) route(); else location.hash = "#/memories";
}

function logout(reason) {
  sessionStorage.removeItem(KEY_STORE);
  sessionStorage.removeItem(SCOPE_STORE);
  $("#login-error").textContent = typeof reason === "string" ? reason : "";
  route();
}

// ---- routing -------------------------------------------------------------------------------

function show(page) {
  for (const s of document.querySelectorAll(".page")) s.hidden = s.id !== `page-${page}`;
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.page === page || (page === "memory" && a.dataset.page === "memories"));
  }
}

async function route() {
  const key = sessionStorage.getItem(KEY_STORE);
  $("#login").hidden = Boolean(key);
  $("#nav").hidden = !key;
  $("#logout").hidden = !key;
  $("#whoami").textContent = key ? `key ${key.slice(0, 8)}…` : "";
  if (!key) {
    show("none");
    $("#api_key").focus();
    return;
  }
  const [, page = "memories", arg] = location.hash.match(/^#\/([a-z]+)\/?(.*)$/) || [];
  try {
    if (page === "scopes") await showScopes();
    else if (page === "memory" && arg) await showMemory(decodeURIComponent(arg));
    else if (page === "observability") await showObservability();
    else if (page === "graph") await showGraph(arg ? decodeURIComponent(arg) : null);
    else await showMemories();
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
}

async function loadScopes() {
  state.scopes = (await api("GET", "/v1/scopes")).results;
  let scope = currentScope();
  const known = scope && state.scopes.some((s) => s.kind === scope.kind && s.id === scope.id);
  if (!known) {
    const first = state.scopes.find((s) => s.kind === "user") || state.scopes[0];
    scope = first ? { kind: first.kind, id: first.id } : null;
    setScope(scope);
  }
  return scope;
}

function fillScopeSelect(select, scope) {
  select.replaceChildren(
    ...state.scopes.map((s) => el("option", {
      value: `${s.kind}:${s.id}`,
      selected: scope && s.kind === scope.kind && s.id === scope.id,
    }, `${s.kind}: ${s.id} (${s.memories})`)),
  );
  if (!state.scopes.length) select.append(el("option", { value: "" }, "no scopes yet"));
}

function scopeFromSelect(select) {
  const v = select.value;
  if (!v) return null;
  const i = v.indexOf(":");
  return { kind: v.slice(0, i), id: v.slice(i + 1) };
}

// ---- scopes --------------------------------------------------------------------------------

async function showScopes() {
  show("scopes");
  await loadScopes();
  $("#scopes-empty").hidden = state.scopes.length > 0;
  $("#scopes-body").replaceChildren(...state.scopes.map((s) => el("tr", {
    class: "link",
    onclick: () => { setScope({ kind: s.kind, id: s.id }); location.hash = "#/memories"; },
  },
  el("td", {}, el("span", { class: `badge kind-${s.kind}` }, s.kind)),
  el("td", {}, s.id),
  el("td", { class: "num" }, s.memories),
  el("td", {}, fmtTime(s.last_activity)))));
}

// ---- memories ------------------------------------------------------------------------------

function filtersFromForm() {
  const f = new FormData($("#filter-form"));
  const filters = {};
  if (f.get("memory_type")) filters.memory_type = f.get("memory_type");
  const range = {};
  if (f.get("from")) range.gte = `${f.get("from")}T00:00:00Z`;
  if (f.get("to")) range.lte = `${f.get("to")}T23:59:59.999999Z`;
  if (Object.keys(range).length) filters.created_at = range;
  const category = String(f.get("category") || "").trim();
  if (category) filters.categories = { contains: category };
  const meta = String(f.get("meta") || "").trim();
  if (meta) {
    const i = meta.indexOf("=");
    if (i < 1) throw new ApiError(0, "metadata filter must look like key=value");
    const raw = meta.slice(i + 1).trim();
    let value = raw;
    if (/^(true|false|null|-?\d+(\.\d+)?)$/.test(raw)) value = JSON.parse(raw);
    filters[`metadata.${meta.slice(0, i).trim()}`] = value;
  }
  return { filters, status: f.get("status") };
}

async function showMemories() {
  show("memories");
  const scope = await loadScopes();
  fillScopeSelect($("#scope-select"), scope);
  $("#forget").textContent = scope ? `Forget ${scope.kind}…` : "Forget…";
  $("#forget").disabled = !scope;
  $("#export").disabled = !scope;
  $("#q").value = state.query;
  await loadMemories(scope);
}

async function loadMemories(scope) {
  const body = $("#mem-body");
  if (!scope) {
    body.replaceChildren();
    $("#mem-info").textContent = "No memories in this tenant yet.";
    $("#prev").disabled = $("#next").disabled = true;
    return;
  }
  const { filters, status } = filtersFromForm();
  let rows;
  let paged = true;
  if (state.query) {
    const res = await api("POST", "/v1/search", {
      query: state.query,
      ...scopeParams(scope),
      filters: Object.keys(filters).length ? filters : undefined,
      limit: 50,
    });
    rows = res.results;
    paged = false;
    $("#mem-info").textContent = `${rows.length} result(s) for “${state.query}” (hybrid search, best first)`;
  } else if (status === "superseded") {
    // get_all lists valid memories only; superseded and deleted ones come from the export.
    const text = await api("GET", `/v1/export?${qs({ ...scopeParams(scope), include_history: false, include_episodes: false, include_graph: false, include_feedback: false })}`);
    rows = text.split("\n").filter(Boolean).map((l) => JSON.parse(l))
      .filter((r) => r.type === "memory" && r.status !== "active" && r.status !== "archived")
      .filter((r) => !filters.memory_type || r.memory_type === filters.memory_type)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    paged = false;
    $("#mem-info").textContent = `${rows.length} superseded memor${rows.length === 1 ? "y" : "ies"}, newest first (from the export; only the type filter applies)`;
  } else {
    const params = { ...scopeParams(scope), limit: PAGE_SIZE + 1, offset: state.offset };
    const archived = status === "archived";
    // Archived memories are listed only on request; the status filter keeps just those.
    if (archived) {
      params.include_archived = true;
      filters.status = "archived";
    }
    if (Object.keys(filters).length) params.filters = JSON.stringify(filters);
    rows = (await api("GET", `/v1/memories?${qs(params)}`)).results;
    $("#mem-info").textContent = archived
      ? `Archived memories of ${scope.kind} ${scope.id} (consolidated away), newest first; open one to restore it`
      : `Valid memories of ${scope.kind} ${scope.id}, newest first`;
  }
  const more = paged && rows.length > PAGE_SIZE;
  if (paged) rows = rows.slice(0, PAGE_SIZE);
  state.rows = rows;
  $(".pager").hidden = !paged;
  $("#prev").disabled = !paged || state.offset === 0;
  $("#next").disabled = !more;
  $("#page-label").textContent = paged
    ? `${rows.length ? state.offset + 1 : 0}–${state.offset + rows.length}` : "";
  $("#score-head").hidden = $("#fb-head").hidden = !state.query;
  body.replaceChildren(...rows.map((r) => el("tr", {
    class: "link", "data-id": r.id,
    onclick: () => { location.hash = `#/memory/${encodeURIComponent(r.id)}`; },
  },
  el("td", { class: "memcell" }, r.memory),
  el("td", {}, r.memory_type || "—"),
  el("td", { class: "small" }, [r.user_id && `user ${r.user_id}`, r.agent_id && `agent ${r.agent_id}`, r.run_id && `run ${r.run_id}`].filter(Boolean).join(" · ")),
  el("td", { class: "small nowrap" }, fmtTime(r.created_at)),
  el("td", {}, el("span", { class: `badge st-${r.status || "active"}` }, r.status || "active")),
  state.query ? el("td", { class: "num" }, r.score.toFixed(3)) : null,
  state.query ? feedbackCell(r) : null)));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "Nothing found.")));
}

// Feedback on a search result applies to this query and similar ones (the server re-ranks).
async function sendFeedback(id, signal, query) {
  if (signal === "wrong" && !window.confirm("Flag this memory as wrong? It leaves search and listings.")) return null;
  const body = query ? { signal, query } : { signal };
  const res = await api("POST", `/v1/memories/${encodeURIComponent(id)}/feedback`, body);
  toast(res.status === "flagged" ? "Flagged as wrong" : `Marked ${signal.replace("_", " ")} · importance ${res.importance.toFixed(2)}`);
  return res;
}

function feedbackCell(r) {
  const button = (signal, label, title) => el("button", {
    type: "button", class: "ghost fb", "data-signal": signal, title,
    onclick: guard(async (e) => {
      e.stopPropagation();
      if (await sendFeedback(r.id, signal, state.query)) await loadMemories(currentScope());
    }),
  }, label);
  return el("td", { class: "nowrap" },
    button("useful", "👍", "useful for this search"),
    button("not_useful", "👎", "not useful for this search"),
    button("wrong", "✗", "wrong: flag it"));
}

async function exportScope() {
  const scope = currentScope();
  if (!scope) return;
  const r = await fetch(`/v1/export?${qs(scopeParams(scope))}`, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORE)}` },
  });
  if (!r.ok) { toast(`export failed: ${r.status}`, true); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: `engramdb-${scope.kind}-${scope.id}.jsonl` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function forgetScope() {
  const scope = currentScope();
  if (!scope) return;
  const ok = window.confirm(
    `Delete EVERY memory of ${scope.kind} "${scope.id}"? History rows are kept, the memories are not.`,
  );
  if (!ok) return;
  const res = await api("DELETE", `/v1/memories?${qs(scopeParams(scope))}`);
  toast(`${res.deleted} memor${res.deleted === 1 ? "y" : "ies"} deleted`);
  sessionStorage.removeItem(SCOPE_STORE);
  await showMemories();
}

// ---- one memory ----------------------------------------------------------------------------

async function showMemory(id) {
  show("memory");
  $("#edit-form").hidden = true;
  let rec;
  let history;
  try {
    [rec, history] = await Promise.all([
      api("GET", `/v1/memories/${encodeURIComponent(id)}`),
      api("GET", `/v1/memories/${encodeURIComponent(id)}/history`),
    ]);
  } catch (e) {
    if (e.status !== 404) throw e;
    state.memory = null;
    $("#md-title").textContent = "Memory not found";
    $("#md-text").textContent = `No memory with id ${id} is visible to this API key.`;
    $("#md-status").hidden = true;
    $("#page-memory .cols").hidden = true;
    for (const sel of ["#md-fields", "#md-history", "#md-episodes"]) $(sel).replaceChildren();
    $("#md-meta").textContent = "";
    $("#edit").disabled = $("#delete").disabled = true;
    $("#restore").hidden = true;
    for (const b of document.querySelectorAll("#md-feedback button")) b.disabled = true;
    $("#md-entities").replaceChildren();
    $("#md-relations").replaceChildren();
    $("#md-graph-link").hidden = true;
    return;
  }
  state.memory = rec;
  $("#md-status").hidden = false;
  $("#page-memory .cols").hidden = false;
  $("#md-title").textContent = `Memory ${rec.id.slice(0, 8)}…`;
  $("#md-text").textContent = rec.memory;
  $("#md-status").textContent = rec.status || "active";
  $("#md-status").className = `badge st-${rec.status || "active"}`;
  const fields = [
    ["id", rec.id], ["user", rec.user_id], ["agent", rec.agent_id], ["run", rec.run_id],
    ["type", rec.memory_type], ["role", rec.role],
    ["categories", (rec.categories || []).join(", ")],
    ["created", fmtTime(rec.created_at)], ["updated", fmtTime(rec.updated_at)],
    ["valid from", rec.valid_at ? fmtTime(rec.valid_at) : "—"],
    ["valid until", rec.invalid_at ? fmtTime(rec.invalid_at) : "still valid"],
  ];
  $("#md-fields").replaceChildren(...fields.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("#md-meta").textContent = JSON.stringify(rec.metadata || {}, null, 2);
  $("#md-history").replaceChildren(...history.map((h) => el("li", { class: `ev-${h.event}` },
    el("div", { class: "row" },
      el("span", { class: `badge ev ev-${h.event}` }, h.event),
      el("span", { class: "small muted" }, fmtTime(h.created_at)),
      h.actor ? el("span", { class: "small muted" }, `by ${h.actor}`) : null),
    h.old_memory && h.new_memory && h.old_memory !== h.new_memory
      ? el("div", { class: "change" }, el("del", {}, h.old_memory), el("span", { class: "arrow" }, " → "), el("ins", {}, h.new_memory))
      : el("div", { class: "change" }, h.new_memory || h.old_memory || ""),
    h.reason ? el("div", { class: "small muted" }, h.reason) : null)));
  $("#restore").hidden = rec.status !== "archived";
  await Promise.all([showEpisodes(rec), showMemoryGraph(rec)]);
  $("#edit").disabled = $("#delete").disabled = rec.status === "deleted";
  for (const b of document.querySelectorAll("#md-feedback button")) b.disabled = rec.status !== "active";
}

async function showEpisodes(rec) {
  const box = $("#md-episodes");
  const ids = (rec.metadata && rec.metadata.episode_ids) || [];
  if (!ids.length) {
    box.textContent = "None recorded (stored verbatim, imported or edited by hand).";
    return;
  }
  const scope = rec.user_id ? { user_id: rec.user_id } : rec.agent_id ? { agent_id: rec.agent_id } : { run_id: rec.run_id };
  const res = await api("GET", `/v1/episodes?${qs({ ...scope, ids: ids.join(","), limit: 1000 })}`);
  if (!res.results.length) { box.textContent = `Episode ${ids.join(", ")} is no longer stored.`; return; }
  box.replaceChildren(...res.results.map((e) => el("div", { class: "episode" },
    el("div", { class: "small muted" }, `${e.role || "message"} · ${fmtTime(e.created_at)} · extraction ${e.status}`),
    el("div", {}, typeof e.content === "string" ? e.content : JSON.stringify(e.content)))));
}

function memoryScope(rec) {
  if (rec.user_id) return { kind: "user", id: rec.user_id };
  if (rec.agent_id) return { kind: "agent", id: rec.agent_id };
  return rec.run_id ? { kind: "run", id: rec.run_id } : null;
}

// A memory's neighbourhood in its scope's graph: the relations it states, their ends, and the
// entities its text names (an entity linked without a relation has no edge to find it by).
function memoryNeighbourhood(graph, rec) {
  const edges = graph.edges.filter((e) => (e.memory_ids || []).includes(rec.id));
  const ids = new Set(edges.flatMap((e) => [e.source_id, e.target_id]));
  const text = (rec.memory || "").toLowerCase();
  for (const n of graph.nodes) if (n.name && text.includes(n.name.toLowerCase())) ids.add(n.id);
  return { nodes: graph.nodes.filter((n) => ids.has(n.id)), edges };
}

async function fetchGraph(scope, includeInvalid) {
  return api("GET", `/v1/graph?${qs({ ...scopeParams(scope), limit: 500, include_invalid: includeInvalid })}`);
}

async function showMemoryGraph(rec) {
  const scope = memoryScope(rec);
  $("#md-graph-link").hidden = !scope;
  $("#md-graph-link").href = `#/graph/${encodeURIComponent(rec.id)}`;
  if (!scope) { $("#md-entities").textContent = "No scope."; return; }
  const near = memoryNeighbourhood(await fetchGraph(scope, true), rec);
  $("#md-entities").replaceChildren(...(near.nodes.length
    ? near.nodes.map((n) => el("span", { class: `chip kind-${n.kind}`, title: `${n.kind} · named in ${n.memories} memor${n.memories === 1 ? "y" : "ies"}` }, n.name))
    : [el("span", { class: "muted" }, "No entities found in this memory.")]));
  $("#md-relations").replaceChildren(...near.edges.map(relationItem));
}

function relationItem(r) {
  return el("li", { class: r.invalid_at ? "ended" : null },
    el("b", {}, r.source), " — ", el("span", { class: "rel" }, r.relationship.replaceAll("_", " ")), " → ", el("b", {}, r.target),
    el("span", { class: "small muted" }, ` · valid from ${fmtTime(r.valid_at)}${r.invalid_at ? ` until ${fmtTime(r.invalid_at)}` : ", still valid"}`));
}

async function restoreMemory() {
  await api("POST", `/v1/memories/${encodeURIComponent(state.memory.id)}/restore`);
  toast("Memory restored");
  await showMemory(state.memory.id);
}

async function saveEdit(event) {
  event.preventDefault();
  const text = $("#edit-text").value.trim();
  if (!text) return;
  await api("PUT", `/v1/memories/${encodeURIComponent(state.memory.id)}`, { text });
  toast("Memory updated");
  await showMemory(state.memory.id);
}

async function deleteMemory() {
  if (!window.confirm("Delete this memory? Its history is kept.")) return;
  await api("DELETE", `/v1/memories/${encodeURIComponent(state.memory.id)}`);
  toast("Memory deleted");
  location.hash = "#/memories";
}

// ---- graph ---------------------------------------------------------------------------------

const KINDS = ["person", "place", "organisation", "thing", "date"];
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, text) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

// A small force layout: nodes repel each other (inverse square), relations pull their ends
// together like springs, a weak pull keeps everything near the centre. Positions start on a
// circle in a fixed order, so the same graph is always drawn the same way.
function layout(nodes, edges, W, H) {
  const n = nodes.length;
  const pos = new Map();
  nodes.forEach((node, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, n);
    pos.set(node.id, { x: W / 2 + (W / 3) * Math.cos(a), y: H / 2 + (H / 3) * Math.sin(a) });
  });
  if (n < 2) { if (n === 1) pos.set(nodes[0].id, { x: W / 2, y: H / 2 }); return pos; }
  const ideal = Math.min(170, Math.sqrt((W * H) / n) * 0.75);
  const pts = nodes.map((node) => pos.get(node.id));
  const links = edges.map((e) => [pos.get(e.source_id), pos.get(e.target_id)]).filter(([a, b]) => a && b && a !== b);
  let step = ideal / 2;
  // Each round costs n² pairs: fewer rounds for big graphs keep the page responsive.
  const rounds = n > 150 ? 100 : 300;
  for (let iter = 0; iter < rounds; iter++) {
    const force = pts.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pts[i].x - pts[j].x, dy = pts[i].y - pts[j].y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) { dx = 0.1 * (i - j); dy = 0.1; d2 = dx * dx + dy * dy; }
        const d = Math.sqrt(d2);
        const f = (ideal * ideal) / d;
        force[i].x += (dx / d) * f; force[i].y += (dy / d) * f;
        force[j].x -= (dx / d) * f; force[j].y -= (dy / d) * f;
      }
    }
    const index = new Map(pts.map((p, i) => [p, i]));
    for (const [a, b] of links) {
      const dx = a.x - b.x, dy = a.y - b.y;
      const d = Math.max(0.1, Math.sqrt(dx * dx + dy * dy));
      const f = (d * d) / ideal;
      const ia = index.get(a), ib = index.get(b);
      force[ia].x -= (dx / d) * f; force[ia].y -= (dy / d) * f;
      force[ib].x += (dx / d) * f; force[ib].y += (dy / d) * f;
    }
    pts.forEach((p, i) => {
      force[i].x += (W / 2 - p.x) * 0.05 * ideal / 10;
      force[i].y += (H / 2 - p.y) * 0.05 * ideal / 10;
      const len = Math.sqrt(force[i].x ** 2 + force[i].y ** 2) || 1;
      // Each node moves at most `step` per round; the step cools so the layout settles.
      p.x += (force[i].x / len) * Math.min(len, step);
      p.y += (force[i].y / len) * Math.min(len, step);
    });
    step = Math.max(1, step * 0.97);
  }
  // Fit the result into the drawing with a margin for labels.
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const m = 70;
  const sx = (W - 2 * m) / Math.max(1, x1 - x0), sy = (H - 2 * m) / Math.max(1, y1 - y0);
  const s = Math.min(sx, sy, 1.5);
  const ox = (W - s * (x1 - x0)) / 2, oy = (H - s * (y1 - y0)) / 2;
  for (const p of pts) { p.x = ox + (p.x - x0) * s; p.y = oy + (p.y - y0) * s; }
  return pos;
}

function drawGraph(graph, focus) {
  const W = 1000, H = 560;
  const pos = layout(graph.nodes, graph.edges, W, H);
  const radius = (node) => 9 + 3 * Math.sqrt(node.memories || 1);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "graph", role: "img", "aria-label": "entity graph" });
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
  defs.append(marker);
  svg.append(defs);
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  // Parallel relations between one pair get their labels stacked, not drawn on top of each other.
  const seen = new Map();
  for (const e of graph.edges) {
    const a = pos.get(e.source_id), b = pos.get(e.target_id);
    if (!a || !b) continue;
    const pair = [e.source_id, e.target_id].sort().join("|");
    const k = seen.get(pair) || 0;
    seen.set(pair, k + 1);
    const dx = b.x - a.x, dy = b.y - a.y, d = Math.max(1, Math.hypot(dx, dy));
    const ra = radius(byId.get(e.source_id)), rb = radius(byId.get(e.target_id)) + 2;
    const g = svgEl("g", { class: `edge${e.invalid_at ? " ended" : ""}${focus && focus.edges.has(e.id) ? " focus" : ""}`, "data-id": e.id, "data-source": e.source_id, "data-target": e.target_id });
    g.append(svgEl("line", { x1: a.x + (dx / d) * ra, y1: a.y + (dy / d) * ra, x2: b.x - (dx / d) * rb, y2: b.y - (dy / d) * rb, "marker-end": "url(#arrow)" }));
    g.append(svgEl("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4 + k * 14, "text-anchor": "middle" }, e.relationship.replaceAll("_", " ")));
    g.append(svgEl("title", {}, `${e.source} — ${e.relationship} → ${e.target}${e.invalid_at ? " (ended)" : ""}`));
    svg.append(g);
  }
  for (const node of graph.nodes) {
    const p = pos.get(node.id);
    const g = svgEl("g", { class: `node kind-${KINDS.includes(node.kind) ? node.kind : "thing"}${focus && focus.nodes.has(node.id) ? " focus" : ""}`, "data-id": node.id, "data-name": node.name, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`, tabindex: 0 });
    g.append(svgEl("circle", { r: radius(node) }));
    // The name sits right of the circle, where no arrowhead ends.
    g.append(svgEl("text", { x: radius(node) + 5, y: 4 }, node.name));
    g.append(svgEl("title", {}, `${node.name} (${node.kind}) · ${node.memories} memor${node.memories === 1 ? "y" : "ies"}`));
    g.addEventListener("click", guard(() => selectNode(node)));
    g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") guard(() => selectNode(node))(); });
    svg.append(g);
  }
  return svg;
}

function legend() {
  return KINDS.map((k) => el("span", { class: "legend-item" },
    el("span", { class: `dot kind-${k}` }), k));
}

async function showGraph(memoryId) {
  show("graph");
  // Nothing of an earlier graph (maybe another key's) stays on screen if a load fails.
  for (const sel of ["#graph-draw", "#graph-relations", "#graph-info", "#graph-selected"]) $(sel).replaceChildren();
  let scope = await loadScopes();
  fillScopeSelect($("#graph-scope"), scope);
  let focusRec = null;
  let missing = false;
  if (memoryId) {
    try {
      focusRec = await api("GET", `/v1/memories/${encodeURIComponent(memoryId)}`);
    } catch (e) {
      if (e.status !== 404) throw e;
      missing = true;
    }
    const own = focusRec && memoryScope(focusRec);
    if (own) { scope = own; setScope(own); }
  }
  fillScopeSelect($("#graph-scope"), scope);
  state.graphFocus = focusRec;
  await loadGraph(scope);
  if (missing) {
    $("#graph-info").prepend(el("span", { class: "error" }, `No memory with id ${memoryId} is visible to this API key. `));
  }
}

async function loadGraph(scope) {
  $("#graph-legend").replaceChildren(...legend());
  $("#graph-selected").replaceChildren("Click an entity in the drawing.");
  $("#graph-sel-title").textContent = "Entity";
  const box = $("#graph-draw");
  if (!scope) {
    box.replaceChildren(el("p", { class: "muted" }, "No memories in this tenant yet."));
    $("#graph-relations").replaceChildren();
    $("#graph-info").textContent = "";
    return;
  }
  // Only the newest load draws: a slow answer for a scope left since must not overwrite it.
  const ticket = (state.graphLoad = (state.graphLoad || 0) + 1);
  const graph = await fetchGraph(scope, $("#graph-invalid").checked);
  if (ticket !== state.graphLoad) return;
  state.graph = graph;
  state.graphScope = scope;
  let focus = null;
  const rec = state.graphFocus;
  if (rec) {
    const near = memoryNeighbourhood(graph, rec);
    focus = { nodes: new Set(near.nodes.map((n) => n.id)), edges: new Set(near.edges.map((e) => e.id)) };
  }
  const ended = graph.edges.filter((e) => e.invalid_at).length;
  $("#graph-info").replaceChildren(
    `${graph.nodes.length} entit${graph.nodes.length === 1 ? "y" : "ies"} and ${graph.edges.length} relation${graph.edges.length === 1 ? "" : "s"}${ended ? ` (${ended} ended)` : ""} of ${scope.kind} ${scope.id}`,
    rec ? el("span", {}, " · highlighted: the entities of memory ",
      el("a", { href: `#/memory/${encodeURIComponent(rec.id)}` }, `“${rec.memory.length > 60 ? rec.memory.slice(0, 57) + "…" : rec.memory}”`),
      " ", el("a", { href: "#/graph", class: "small" }, "(clear)")) : "");
  box.replaceChildren(graph.nodes.length
    ? drawGraph(graph, focus)
    : el("p", { class: "muted empty" }, "No entities in this scope yet: memories naming people, places or things add them."));
  $("#graph-relations").replaceChildren(...(graph.edges.length
    ? graph.edges.map(relationItem)
    : [el("li", { class: "muted" }, "No relations.")]));
}

// The relations touching one entity (from GET /v1/relations) and the memories stating them.
async function selectNode(node) {
  for (const g of document.querySelectorAll("#graph-draw .node")) g.classList.toggle("selected", g.dataset.id === node.id);
  for (const g of document.querySelectorAll("#graph-draw .edge")) {
    g.classList.toggle("selected", g.dataset.source === node.id || g.dataset.target === node.id);
  }
  $("#graph-sel-title").textContent = `${node.name} · ${node.kind}`;
  const params = { ...scopeParams(state.graphScope), entity: node.id, include_invalid: $("#graph-invalid").checked, limit: 100 };
  const ticket = (state.nodeLoad = (state.nodeLoad || 0) + 1);
  const rels = (await api("GET", `/v1/relations?${qs(params)}`)).results;
  const ids = [...new Set(rels.flatMap((r) => r.memory_ids || []))].slice(0, 10);
  const mems = (await Promise.all(ids.map((id) => api("GET", `/v1/memories/${encodeURIComponent(id)}`).catch(() => null)))).filter(Boolean);
  if (ticket !== state.nodeLoad) return;
  $("#graph-selected").replaceChildren(
    el("p", { class: "small muted" }, `Named in ${node.memories} memor${node.memories === 1 ? "y" : "ies"}; ${rels.length} relation${rels.length === 1 ? "" : "s"}.`),
    el("ul", { id: "graph-node-relations", class: "relations" }, ...(rels.length ? rels.map(relationItem) : [el("li", { class: "muted" }, "No relations.")])),
    mems.length ? el("h3", {}, "Memories") : "",
    el("ul", { id: "graph-node-memories", class: "memlinks" }, ...mems.map((r) => el("li", {},
      el("a", { href: `#/memory/${encodeURIComponent(r.id)}` }, r.memory),
      r.status && r.status !== "active" ? el("span", { class: `badge st-${r.status}` }, r.status) : ""))));
}

// ---- observability -------------------------------------------------------------------------

async function showObservability() {
  show("observability");
  const [stats, scope] = await Promise.all([api("GET", "/v1/stats"), loadScopes()]);
  const usage = stats.usage || {};
  const byStatus = { active: 0, superseded: 0, ...(stats.by_status || {}) };
  const cards = [
    ["Memories", stats.memories],
    ...Object.entries(byStatus).map(([k, v]) => [k === "active" ? "Valid" : k[0].toUpperCase() + k.slice(1), v]),
    ["Users", stats.users], ["Agents", stats.agents], ["History rows", stats.history_rows],
    ["LLM calls", usage.llm_calls || 0], ["Prompt tokens", usage.prompt_tokens || 0],
    ["Completion tokens", usage.completion_tokens || 0],
  ];
  $("#stat-cards").replaceChildren(...cards.map(([k, v]) => el("div", { class: "stat" },
    el("div", { class: "value" }, Number(v).toLocaleString("en")), el("div", { class: "label" }, k))),
  el("div", { class: "stat wide" }, el("div", { class: "label" }, `embedder ${stats.embedder} · extractor ${stats.extractor} · LLM usage counted since the server started`)));
  fillScopeSelect($("#obs-scope"), scope);
  await Promise.all([drawChart(scope), drawTraffic()]);
}

async function drawChart(scope) {
  const box = $("#chart");
  if (!scope) { box.textContent = "No memories yet."; return; }
  const perDay = new Map();
  for (let offset = 0; offset < 5000; offset += 1000) {
    const page = (await api("GET", `/v1/memories?${qs({ ...scopeParams(scope), limit: 1000, offset })}`)).results;
    for (const r of page) {
      const day = (r.created_at || "").slice(0, 10);
      perDay.set(day, (perDay.get(day) || 0) + 1);
    }
    if (page.length < 1000) break;
  }
  const days = [...perDay.keys()].sort().slice(-30);
  if (!days.length) { box.textContent = "No memories in this scope."; return; }
  box.replaceChildren(barChart(days.map((d) => [d.slice(5), perDay.get(d), d]), "memories added per day"));
}

// One bar per point: points are [tick label, value, hover label]; null values draw no bar.
function barChart(points, label, unit = "", W = 720, H = 200) {
  const values = points.map((p) => p[1]).filter((v) => v !== null && v !== undefined);
  const max = Math.max(0, ...values) || 1;
  const pad = 56, bw = Math.min(48, (W - pad * 2) / Math.max(1, points.length));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) + unit;
  add("line", { x1: pad, y1: H - pad, x2: W - pad / 2, y2: H - pad, class: "axis" });
  if (values.some((v) => v > 0)) add("text", { x: pad - 6, y: pad, class: "tick", "text-anchor": "end" }, fmt(max));
  add("text", { x: pad - 6, y: H - pad, class: "tick", "text-anchor": "end" }, "0");
  points.forEach(([tick, v, hover], i) => {
    const x = pad + 6 + i * bw;
    if (v !== null && v !== undefined) {
      const h = ((H - pad * 2) * v) / max;
      const bar = add("rect", { x, y: H - pad - h, width: Math.max(2, bw - 6), height: h, class: "bar" });
      const title = document.createElementNS(ns, "title");
      title.textContent = `${hover || tick}: ${fmt(v)}`;
      bar.append(title);
      if (points.length <= 16) add("text", { x: x + (bw - 6) / 2, y: H - pad - h - 4, class: "tick", "text-anchor": "middle" }, fmt(v));
    }
    if (points.length <= 10 || i % Math.ceil(points.length / 10) === 0) {
      add("text", { x: x + (bw - 6) / 2, y: H - pad + 14, class: "tick", "text-anchor": "middle" }, tick);
    }
  });
  return svg;
}

// Requests, latency and LLM use of this tenant over time, from GET /v1/metrics.
async function drawTraffic() {
  const bucket = $("#obs-bucket").value;
  const since = new Date(Date.now() - { minute: 3600e3, hour: 86400e3, day: 30 * 86400e3 }[bucket]).toISOString();
  const { series } = await api("GET", `/v1/metrics?${qs({ bucket, since })}`);
  const box = $("#traffic");
  if (!series.length) { box.replaceChildren(el("p", { class: "muted" }, "No API traffic recorded in this period.")); return; }
  const tick = (at) => (bucket === "day" ? at.slice(5, 10) : at.slice(11, 16));
  const charts = [
    ["Adds", "add", ""], ["Searches", "search", ""], ["Errors (4xx/5xx)", "error", ""],
    ["Mean search latency", "search_ms", " ms"], ["Mean add latency", "add_ms", " ms"],
    ["LLM calls", "llm_calls", ""], ["LLM tokens", "tokens", ""],
  ];
  box.replaceChildren(...charts.map(([title, key, unit]) => el("div", { class: "plot", "data-metric": key },
    el("h3", {}, title),
    barChart(series.map((p) => [tick(p.at), p[key], p.at]), `${title} per ${bucket}`, unit, 380, 170))));
}

// ---- wiring --------------------------------------------------------------------------------

function guard(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((e) => { if (e.status !== 401) toast(e.message, true); });
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", () => logout());
  $("#search-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    state.query = $("#q").value.trim();
    state.offset = 0;
    await loadMemories(currentScope());
  }));
  $("#clear-search").addEventListener("click", guard(async () => {
    $("#q").value = "";
    state.query = "";
    state.offset = 0;
    await loadMemories(currentScope());
  }));
  $("#filter-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    state.offset = 0;
    await loadMemories(currentScope());
  }));
  $("#scope-select").addEventListener("change", guard(async () => {
    setScope(scopeFromSelect($("#scope-select")));
    state.offset = 0;
    await showMemories();
  }));
  $("#obs-bucket").addEventListener("change", guard(drawTraffic));
  $("#obs-scope").addEventListener("change", guard(async () => {
    const scope = scopeFromSelect($("#obs-scope"));
    setScope(scope);
    await drawChart(scope);
  }));
  $("#prev").addEventListener("click", guard(async () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    await loadMemories(currentScope());
  }));
  $("#next").addEventListener("click", guard(async () => {
    state.offset += PAGE_SIZE;
    await loadMemories(currentScope());
  }));
  $("#export").addEventListener("click", guard(exportScope));
  $("#forget").addEventListener("click", guard(forgetScope));
  $("#edit").addEventListener("click", () => {
    $("#edit-text").value = state.memory.memory;
    $("#edit-form").hidden = false;
    $("#edit-text").focus();
  });
  $("#edit-cancel").addEventListener("click", () => { $("#edit-form").hidden = true; });
  $("#edit-form").addEventListener("submit", guard(saveEdit));
  $("#delete").addEventListener("click", guard(deleteMemory));
  $("#restore").addEventListener("click", guard(restoreMemory));
  $("#graph-scope").addEventListener("change", guard(async () => {
    const scope = scopeFromSelect($("#graph-scope"));
    setScope(scope);
    state.graphFocus = null;
    if (location.hash !== "#/graph") history.replaceState(null, "", "#/graph");
    await loadGraph(scope);
  }));
  $("#graph-invalid").addEventListener("change", guard(() => loadGraph(state.graphScope)));
  for (const b of document.querySelectorAll("#md-feedback button")) {
    b.addEventListener("click", guard(async () => {
      if (await sendFeedback(state.memory.id, b.dataset.signal)) await showMemory(state.memory.id);
    }));
  }
  window.addEventListener("hashchange", route);
  route();
});
