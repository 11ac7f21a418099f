// heron dashboard: plain browser JavaScript over heron's REST API (no build step, no network
// beyond the server that serves this file). Views: collections, a point browser, a Query API
// playground with the explain diagram, and live optimizer progress.
"use strict";

const KEY_STORE = "heron-api-key";
const view = document.getElementById("view");
let pollTimer = null;

// --- small DOM helpers ------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function fmt(n) { return typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? "—"); }
function score(x) { return typeof x === "number" ? (Math.abs(x) >= 1000 ? x.toFixed(1) : x.toPrecision(4)) : "—"; }
function json(x) {
  // Indented JSON with arrays of numbers kept on one line (vectors stay readable).
  return JSON.stringify(x, null, 2).replace(/\[\s+([-\d.eE+,\s]+?)\s+\]/g, (_, inner) => `[${inner.trim().split(/\s*,\s*/).join(", ")}]`);
}
function errorBox(err) { return h("div", { class: "error", "data-testid": "error" }, String(err.message || err)); }

// --- the API, with the key the user gave -------------------------------------------------------
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { "content-type": "application/json" };
  const key = localStorage.getItem(KEY_STORE);
  if (key) headers["api-key"] = key;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (res.status === 401 || res.status === 403) {
    askKey(res.status === 401 ? "heron requires an API key for this." : "This key may not do that (read-only key?).");
  }
  if (!res.ok) {
    const msg = (data && data.status && data.status.error) || text || res.statusText;
    throw new ApiError(res.status, `${res.status}: ${msg}`);
  }
  return data ? data.result : null;
}

function askKey(reason) {
  const dialog = document.getElementById("key-dialog");
  document.getElementById("key-reason").textContent = reason || "Enter the API key of this server.";
  document.getElementById("key-input").value = localStorage.getItem(KEY_STORE) || "";
  if (!dialog.open) dialog.showModal();
}

document.getElementById("key-button").addEventListener("click", () => askKey());
document.getElementById("key-dialog").addEventListener("close", (ev) => {
  const choice = ev.target.returnValue;
  if (choice === "save") localStorage.setItem(KEY_STORE, document.getElementById("key-input").value.trim());
  if (choice === "forget") localStorage.removeItem(KEY_STORE);
  if (choice === "save" || choice === "forget") route();
});

// --- collection helpers --------------------------------------------------------------------
async function collectionNames() {
  const res = await api("GET", "/collections");
  return res.collections.map((c) => c.name).sort();
}

function vectorsOf(info) {
  // [{name, kind, text}] from CollectionInfo.config.params
  const params = info.config.params;
  const out = [];
  const v = params.vectors || {};
  const one = (name, p) => {
    const multi = p.multivector_config ? ` multi(${p.multivector_config.comparator})` : "";
    const q = p.quantization_config ? ` ${Object.keys(p.quantization_config)[0]}-quantized` : "";
    out.push({ name, kind: "dense", size: p.size, text: `${p.size}d ${p.distance}${multi}${q}`, multi: !!p.multivector_config });
  };
  if (typeof v.size === "number") one("", v);
  else for (const [name, p] of Object.entries(v)) one(name, p);
  for (const [name, p] of Object.entries(params.sparse_vectors || {})) {
    out.push({ name, kind: "sparse", text: `sparse${p.modifier && p.modifier !== "none" ? " " + p.modifier : ""}` });
  }
  return out;
}

function collectionPicker(current, onPick) {
  const sel = h("select", { "data-testid": "collection-select", onchange: (e) => onPick(e.target.value) });
  collectionNames().then((names) => {
    for (const n of names) sel.append(h("option", { value: n, selected: n === current }, n));
    if (!current && names.length) onPick(names[0]);
  }).catch((e) => sel.after(errorBox(e)));
  return sel;
}

// --- views ---------------------------------------------------------------------------------
async function collectionsView() {
  const table = h("table", { "data-testid": "collections-table" },
    h("thead", {}, h("tr", {}, ["Name", "Status", "Points", "Segments", "Indexed vectors", "Vectors", "Payload indexes", ""].map((t) => h("th", { class: /Points|Segments|Indexed/.test(t) ? "num" : "" }, t)))));
  const body = h("tbody");
  table.append(body);
  view.append(h("h1", {}, "Collections"), table);
  const names = await collectionNames();
  if (!names.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No collections yet.")));
  for (const name of names) {
    const info = await api("GET", `/collections/${encodeURIComponent(name)}`);
    const vectors = vectorsOf(info).map((v) => h("span", { class: "tag" }, `${v.name || "(default)"}: ${v.text}`));
    const indexes = Object.entries(info.payload_schema || {}).map(([k, p]) => h("span", { class: "tag" }, `${k}: ${p.data_type} (${fmt(p.points)})`));
    const link = `#/collection/${encodeURIComponent(name)}`;
    body.append(h("tr", { "data-collection": name },
      h("td", {}, h("a", { href: link }, name)),
      h("td", { "data-testid": "status" }, h("span", { class: `dot ${info.status}` }), info.status),
      h("td", { class: "num", "data-testid": "points" }, fmt(info.points_count)),
      h("td", { class: "num" }, fmt(info.segments_count)),
      h("td", { class: "num" }, fmt(info.indexed_vectors_count)),
      h("td", {}, vectors),
      h("td", {}, indexes.length ? indexes : h("span", { class: "muted" }, "none")),
      h("td", {}, h("a", { href: `#/points/${encodeURIComponent(name)}` }, "points"), " · ",
        h("a", { href: `#/query/${encodeURIComponent(name)}` }, "query"))));
  }
}

async function collectionView(name) {
  const info = await api("GET", `/collections/${encodeURIComponent(name)}`);
  const cards = h("div", { class: "cards" },
    [["status", h("span", {}, h("span", { class: `dot ${info.status}` }), info.status)], ["points", fmt(info.points_count)],
     ["segments", fmt(info.segments_count)], ["indexed vectors", fmt(info.indexed_vectors_count)],
     ["update queue", fmt(info.update_queue ? info.update_queue.length : 0)]]
      .map(([label, value]) => h("div", { class: "card" }, h("b", {}, value), h("span", {}, label))));
  const vectors = h("table", {}, h("tr", {}, h("th", {}, "Vector"), h("th", {}, "Kind"), h("th", {}, "Config")),
    vectorsOf(info).map((v) => h("tr", {}, h("td", {}, v.name || "(default)"), h("td", {}, v.kind), h("td", {}, v.text))));
  const schema = Object.entries(info.payload_schema || {});
  const indexes = schema.length
    ? h("table", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Type"), h("th", { class: "num" }, "Points")),
        schema.map(([k, p]) => h("tr", {}, h("td", {}, k), h("td", {}, p.data_type), h("td", { class: "num" }, fmt(p.points)))))
    : h("p", { class: "muted" }, "No payload indexes.");
  const progress = h("div", { "data-testid": "optimizer-panel" }, h("p", { class: "muted" }, "loading…"));
  view.append(
    h("h1", {}, `Collection ${name}`),
    h("div", { class: "row" }, h("a", { href: `#/points/${encodeURIComponent(name)}` }, "Browse points"), " · ",
      h("a", { href: `#/query/${encodeURIComponent(name)}` }, "Query playground")),
    cards,
    h("div", { class: "grid2" },
      h("div", { class: "panel" }, h("h2", {}, "Vectors"), vectors, h("h2", {}, "Payload indexes"), indexes),
      h("div", { class: "panel" }, h("h2", {}, "Optimizer"), progress)),
    h("div", { class: "panel" }, h("h2", {}, "Config"), h("pre", {}, json(info.config))));
  poll(() => renderOptimizations(name, progress));
}

function bar(done, total) {
  const pct = total ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return h("div", { class: "bar", title: `${done}/${total}` }, h("span", { style: `width:${pct}%` }), h("em", {}, `${fmt(done)} / ${fmt(total)} (${pct}%)`));
}

function progressRows(tree, depth = 0) {
  const rows = [];
  for (const step of tree.children || []) {
    rows.push(h("tr", { "data-step": step.name },
      h("td", { style: `padding-left:${8 + depth * 16}px` }, step.name),
      h("td", {}, step.total !== undefined && step.total !== null ? bar(step.done || 0, step.total) : (step.finished_at ? "done" : "…")),
      h("td", { class: "num" }, step.duration_sec !== undefined ? `${step.duration_sec.toFixed(2)} s` : "")));
    rows.push(...progressRows(step, depth + 1));
  }
  return rows;
}

async function renderOptimizations(name, target) {
  const res = await api("GET", `/collections/${encodeURIComponent(name)}/optimizations?with=queued,completed&completed_limit=5`);
  const parts = [];
  const sum = res.summary;
  parts.push(h("p", { class: "muted" }, `queued: ${sum.queued_optimizations} optimization(s) over ${sum.queued_segments} segment(s), ${fmt(sum.queued_points)} points · idle segments: ${sum.idle_segments}`));
  if (!res.running.length) parts.push(h("p", { "data-testid": "optimizer-idle" }, "No optimization running."));
  for (const opt of res.running) {
    const points = opt.segments.reduce((a, seg) => a + seg.points_count, 0);
    parts.push(h("div", { "data-testid": "running-optimization" },
      h("b", {}, `${opt.optimizer}`), ` over ${opt.segments.length} segment(s), ${fmt(points)} points`,
      h("table", {}, progressRows(opt.progress))));
  }
  if (res.queued && res.queued.length) {
    parts.push(h("h2", {}, "Queued"), h("ul", {}, res.queued.map((q) => h("li", {}, `${q.optimizer}: ${q.segments.map((x) => fmt(x.points_count)).join(" + ")} points`))));
  }
  if (res.completed && res.completed.length) {
    parts.push(h("h2", {}, "Recently finished"), h("table", {},
      h("tr", {}, h("th", {}, "Optimizer"), h("th", {}, "Status"), h("th", { class: "num" }, "Points"), h("th", { class: "num" }, "Took")),
      res.completed.map((o) => h("tr", {},
        h("td", {}, o.optimizer), h("td", {}, typeof o.status === "string" ? o.status : json(o.status)),
        h("td", { class: "num" }, fmt(o.segments.reduce((a, seg) => a + seg.points_count, 0))),
        h("td", { class: "num" }, o.progress.duration_sec !== undefined ? `${o.progress.duration_sec.toFixed(2)} s` : "")))));
  }
  target.replaceChildren(...parts);
}

async function optimizerView() {
  view.append(h("h1", {}, "Optimizer"), h("p", { class: "muted" }, "Live: refreshed every second."));
  const names = await collectionNames();
  const panels = names.map((n) => {
    const body = h("div", {}, "loading…");
    view.append(h("div", { class: "panel", "data-collection": n }, h("h2", {}, h("a", { href: `#/collection/${encodeURIComponent(n)}` }, n)), body));
    return [n, body];
  });
  if (!names.length) view.append(h("p", { class: "muted" }, "No collections yet."));
  poll(() => Promise.all(panels.map(([n, body]) => renderOptimizations(n, body))));
}

function poll(fn) {
  const tick = async () => {
    try { await fn(); } catch (e) { console.warn(e); }
    pollTimer = setTimeout(tick, 1000);
  };
  tick();
}

// --- point browser ---------------------------------------------------------------------------
function pointsView(name) {
  if (!name) {
    view.append(h("h1", {}, "Points"), h("p", {}, "Collection: ", collectionPicker(null, (n) => { location.hash = `#/points/${encodeURIComponent(n)}`; })));
    return;
  }
  const filter = h("textarea", { rows: 4, "data-testid": "scroll-filter", placeholder: '{"must": [{"key": "city", "match": {"value": "Berlin"}}]}' });
  const limit = h("input", { type: "number", value: 20, min: 1, max: 1000, style: "width:80px" });
  const out = h("div", { "data-testid": "scroll-results" });
  let offset = null;
  const run = async (fresh) => {
    if (fresh) offset = null;
    const body = { limit: Number(limit.value) || 20, with_payload: true, with_vector: false };
    if (offset !== null) body.offset = offset;
    try {
      if (filter.value.trim()) body.filter = JSON.parse(filter.value);
      const res = await api("POST", `/collections/${encodeURIComponent(name)}/points/scroll`, body);
      offset = res.next_page_offset ?? null;
      const table = h("table", {}, h("tr", {}, h("th", {}, "Id"), h("th", {}, "Payload"), h("th", {}, "Vectors")));
      for (const p of res.points) table.append(pointRow(name, p));
      out.replaceChildren(h("p", { class: "muted" }, `${res.points.length} point(s)`), table,
        offset !== null ? h("button", { class: "secondary", "data-testid": "next-page", onclick: () => run(false) }, "Next page") : "");
    } catch (e) { out.replaceChildren(errorBox(e)); }
  };
  view.append(
    h("h1", {}, "Points"),
    h("div", { class: "panel" },
      h("div", { class: "row" }, "Collection: ", collectionPicker(name, (n) => { location.hash = `#/points/${encodeURIComponent(n)}`; }), " Limit: ", limit),
      h("p", { class: "muted" }, "Filter (Qdrant filter JSON, optional):"), filter,
      h("div", { class: "row" }, h("button", { "data-testid": "scroll-run", onclick: () => run(true) }, "Scroll"))),
    out);
  run(true);
}

function pointRow(name, p) {
  const cell = h("td", {});
  const button = h("button", { class: "secondary", "data-testid": "show-vectors", onclick: async () => {
    try {
      const got = await api("POST", `/collections/${encodeURIComponent(name)}/points`, { ids: [p.id], with_vector: true, with_payload: false });
      cell.replaceChildren(h("pre", { "data-testid": "vectors" }, json(got[0] ? got[0].vector : null)));
    } catch (e) { cell.replaceChildren(errorBox(e)); }
  } }, "show");
  cell.append(button);
  return h("tr", { "data-point": String(p.id) }, h("td", {}, String(p.id)), h("td", {}, h("pre", {}, json(p.payload))), cell);
}

// --- query playground and the explain view --------------------------------------------------
function exampleVector(dim, shift = 0) {
  const start = [0.01, 0.45, 0.67];
  return Array.from({ length: dim }, (_, i) => (i < 3 && !shift ? start[i] : Number((((i + shift) * 37) % 100 / 100 + 0.01).toFixed(2))));
}

function hybridExample(info) {
  // The guide's hybrid query (RRF over a sparse and a dense prefetch), fitted to this collection.
  const vectors = vectorsOf(info);
  const sparse = vectors.find((v) => v.kind === "sparse");
  const dense = vectors.filter((v) => v.kind === "dense" && !v.multi);
  const prefetch = [];
  if (sparse) prefetch.push({ query: { indices: [1, 42], values: [0.22, 0.8] }, using: sparse.name, limit: 20 });
  if (dense.length) prefetch.push({ query: exampleVector(dense[0].size), using: dense[0].name || undefined, limit: 20 });
  if (prefetch.length < 2 && dense.length) prefetch.push({ query: exampleVector(dense[dense.length - 1].size, 5), using: dense[dense.length - 1].name || undefined, limit: 20 });
  return { prefetch, query: { fusion: "rrf" }, limit: 10, with_payload: true };
}

function queryView(name) {
  if (!name) {
    view.append(h("h1", {}, "Query"), h("p", {}, "Collection: ", collectionPicker(null, (n) => { location.hash = `#/query/${encodeURIComponent(n)}`; })));
    return;
  }
  const editor = h("textarea", { rows: 12, "data-testid": "query-editor", spellcheck: "false" });
  const explain = h("input", { type: "checkbox", checked: true, "data-testid": "explain-toggle" });
  const results = h("div", { "data-testid": "query-results" });
  const diagram = h("div", { "data-testid": "explain-view" });
  const example = async () => {
    const info = await api("GET", `/collections/${encodeURIComponent(name)}`);
    editor.value = json(hybridExample(info));
  };
  const run = async () => {
    let body;
    try { body = JSON.parse(editor.value); } catch (e) { results.replaceChildren(errorBox(`JSON: ${e.message}`)); return; }
    results.replaceChildren(h("p", { class: "muted" }, "running…"));
    diagram.replaceChildren();
    try {
      const started = performance.now();
      const res = await api("POST", `/collections/${encodeURIComponent(name)}/points/query${explain.checked ? "?explain=true" : ""}`, body);
      showResults(res, body, results, diagram, performance.now() - started);
    } catch (e) { results.replaceChildren(errorBox(e)); }
  };
  view.append(
    h("h1", {}, "Query playground"),
    h("div", { class: "panel" },
      h("div", { class: "row" }, "Collection: ", collectionPicker(name, (n) => { location.hash = `#/query/${encodeURIComponent(n)}`; }),
        h("button", { class: "secondary", "data-testid": "load-example", onclick: example }, "Hybrid example (guide)"),
        h("label", {}, explain, " explain")),
      h("p", { class: "muted" }, "A Query API request body (POST /collections/{name}/points/query):"),
      editor,
      h("div", { class: "row" }, h("button", { "data-testid": "run-query", onclick: run }, "Run"))),
    h("div", { class: "panel" }, h("h2", {}, "Explain"), diagram),
    h("div", { class: "panel" }, h("h2", {}, "Results"), results));
  example().catch((e) => results.replaceChildren(errorBox(e)));
}

function showResults(res, body, results, diagram, ms) {
  const points = res.points || [];
  const stages = res.explain ? res.explain.stages : null;
  let selected = points.length ? points[0] : null;
  const rows = points.map((p, i) => h("tr", { class: "clickable", "data-point": String(p.id), onclick: () => select(p) },
    h("td", { class: "num" }, i), h("td", {}, String(p.id)), h("td", { class: "num" }, score(p.score)),
    h("td", {}, h("pre", {}, p.payload ? JSON.stringify(p.payload) : ""))));
  const table = h("table", { "data-testid": "results-table" },
    h("tr", {}, h("th", { class: "num" }, "Rank"), h("th", {}, "Id"), h("th", { class: "num" }, "Score"), h("th", {}, "Payload")), rows);
  const perStage = h("div", { "data-testid": "point-stages" });
  function select(p) {
    selected = p;
    rows.forEach((r) => r.classList.toggle("selected", r.dataset.point === String(p.id)));
    if (stages) {
      diagram.replaceChildren(
        h("p", { class: "legend" }, `Prefetch tree: data flows left to right into root. Selected point: ${p.id} (click a result to choose another).`),
        explainSvg(stages, p, body));
      perStage.replaceChildren(h("h2", {}, `Point ${p.id} in every stage`), h("table", {},
        h("tr", {}, h("th", {}, "Stage"), h("th", {}, "Kind"), h("th", { class: "num" }, "Rank"), h("th", { class: "num" }, "Score")),
        stages.map((st) => {
          const hit = (p.explain || {})[st.stage];
          return h("tr", { "data-stage": st.stage }, h("td", {}, st.stage), h("td", {}, st.kind),
            h("td", { class: "num" }, hit ? hit.rank : "—"), h("td", { class: "num" }, hit ? score(hit.score) : "not returned"));
        })));
    }
  }
  results.replaceChildren(h("p", { class: "muted" }, `${points.length} point(s) in ${ms.toFixed(1)} ms`), table, perStage);
  if (!stages) diagram.replaceChildren(h("p", { class: "muted" }, "Run with explain to see the stages."));
  if (selected) select(selected);
  else if (stages) diagram.replaceChildren(explainSvg(stages, null, body));
}

function requestNodes(body) {
  // Stage label -> the request object it came from (for "using" and "limit").
  const out = new Map();
  const walk = (node, label) => {
    if (!node || typeof node !== "object") return;
    out.set(label, node);
    const pre = node.prefetch === undefined ? [] : Array.isArray(node.prefetch) ? node.prefetch : [node.prefetch];
    pre.forEach((child, i) => walk(child, `${label}.prefetch[${i}]`));
  };
  walk(body, "root");
  return out;
}

function parentOf(label) {
  const i = label.lastIndexOf(".prefetch[");
  return i < 0 ? null : label.slice(0, i);
}

function explainSvg(stages, point, body) {
  // Lay the prefetch tree out left to right: leaves in the first column, root in the last.
  const W = 250, H = 118, GX = 70, GY = 18, PAD = 16;
  const requests = requestNodes(body || {});
  const byLabel = new Map(stages.map((st) => [st.stage, { ...st, children: [] }]));
  let root = null;
  for (const node of byLabel.values()) {
    const parent = byLabel.get(parentOf(node.stage));
    if (parent) parent.children.push(node); else if (!root || node.stage === "root") root = node;
  }
  const depth = (n) => (n.children.length ? 1 + Math.max(...n.children.map(depth)) : 0);
  const maxDepth = depth(root);
  let nextY = 0;
  const place = (n, level) => {
    n.x = PAD + (maxDepth - level) * (W + GX);
    if (!n.children.length) { n.y = PAD + nextY * (H + GY); nextY += 1; } else {
      n.children.forEach((c) => place(c, level + 1));
      n.y = (n.children[0].y + n.children[n.children.length - 1].y) / 2;
    }
  };
  place(root, 0);
  const width = PAD * 2 + (maxDepth + 1) * W + maxDepth * GX;
  const height = PAD * 2 + Math.max(1, nextY) * (H + GY) - GY;
  const svg = s("svg", { class: "explain", width, height, viewBox: `0 0 ${width} ${height}`, "data-testid": "explain-diagram" },
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8aa4cf" }))));
  const colors = { nearest: "#1f6feb", rescore: "#8250df", rrf: "#bf3989", dbsf: "#bc4c00", order_by: "#1a7f37", by_id: "#57606a" };
  const draw = (n) => {
    for (const c of n.children) {
      const x1 = c.x + W, y1 = c.y + H / 2, x2 = n.x, y2 = n.y + H / 2, mx = (x1 + x2) / 2;
      svg.append(s("path", { class: "edge", d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2 - 2} ${y2}`, "marker-end": "url(#arrow)" }));
      draw(c);
    }
    const hit = point && point.explain ? point.explain[n.stage] : undefined;
    const cls = point ? (hit ? "stage hit" : "stage miss") : "stage";
    const short = n.stage === "root" ? "root" : n.stage.slice(n.stage.lastIndexOf(".") + 1);
    const kindWidth = 8 + 7 * n.kind.length;
    svg.append(s("g", { class: cls, "data-stage": n.stage, "data-kind": n.kind, transform: `translate(${n.x},${n.y})` },
      s("title", {}, n.stage),
      s("rect", { width: W, height: H, rx: 7 }),
      s("text", { class: "title", x: 10, y: 19 }, short),
      s("rect", { class: "kind", x: W - kindWidth - 8, y: 6, width: kindWidth, height: 18, rx: 9, style: `fill:${colors[n.kind] || "#57606a"}` }),
      s("text", { class: "kind", x: W - kindWidth / 2 - 8, y: 19, "text-anchor": "middle" }, n.kind),
      s("text", { class: "using", x: 10, y: 40 }, usingText(requests.get(n.stage))),
      s("text", { class: "counts", x: 10, y: 60 }, `candidates ${fmt(n.candidates)} → results ${fmt(n.results)}`),
      s("text", { class: "time", x: 10, y: 78 }, `time ${n.time_ms} ms`),
      s("text", { class: "rank", x: 10, y: 104 },
        point ? (hit ? `point ${point.id}: rank ${hit.rank}, score ${score(hit.score)}` : `point ${point.id}: not returned`) : "")));
  };
  draw(root);
  return svg;
}

function usingText(req) {
  if (!req) return "";
  const parts = [];
  if (req.using) parts.push(`using ${req.using}`);
  if (req.filter) parts.push("filtered");
  if (req.limit !== undefined) parts.push(`limit ${req.limit}`);
  return parts.join(" · ");
}

// --- routing -------------------------------------------------------------------------------
async function route() {
  clearTimeout(pollTimer);
  view.replaceChildren();
  const [, page = "collections", arg] = (location.hash || "#/collections").split("/");
  const name = arg ? decodeURIComponent(arg) : null;
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === (page === "collection" ? "collections" : page)));
  try {
    if (page === "collection" && name) await collectionView(name);
    else if (page === "points") pointsView(name);
    else if (page === "query") queryView(name);
    else if (page === "optimizer") await optimizerView();
    else await collectionsView();
  } catch (e) {
    view.append(errorBox(e));
  }
}

async function serverInfo() {
  try {
    const res = await fetch("/", { headers: localStorage.getItem(KEY_STORE) ? { "api-key": localStorage.getItem(KEY_STORE) } : {} });
    if (res.ok) { const info = await res.json(); document.getElementById("server-info").textContent = `Qdrant API ${info.version}`; }
  } catch (_) { /* the views show errors */ }
}

window.addEventListener("hashchange", route);
serverInfo();
route();
