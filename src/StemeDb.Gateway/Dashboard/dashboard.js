// The cluster dashboard: members (live from the event stream, applied by incarnation), the range map with
// leaders, sizes and load, the changes seen since the page opened. No build step and no CDN: it must work
// on a machine with no internet. Every data call sends the API key when the gateway wants one.
"use strict";

const palette = ["#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#ec4899", "#84cc16", "#f97316", "#6366f1"];
const rank = { alive: 0, suspect: 1, dead: 2, left: 2 };
const members = new Map();      // id -> member, the newest knowledge by incarnation
const seenKeys = new Set();      // event keys already applied
let ranges = [];                 // the last range snapshot
let apiKey = sessionStorage.getItem("stemedb-api-key") || "";
let lastEventId = null;

const $ = id => document.getElementById(id);

function headers() { return apiKey ? { "X-Api-Key": apiKey } : {}; }

async function api(path) {
  const response = await fetch(path, { headers: headers(), cache: "no-store" });
  if (response.status === 401) { askForKey(); throw new Error("API key required"); }
  if (!response.ok) { throw new Error(`${path}: ${response.status}`); }
  return response.json();
}

function askForKey() {
  const form = $("key-form");
  if (!form.hidden) { return; }
  form.hidden = false;
  form.onsubmit = e => {
    e.preventDefault();
    apiKey = $("key-input").value;
    sessionStorage.setItem("stemedb-api-key", apiKey);
    form.hidden = true;
    refresh();
    streamEvents();
  };
}

// SWIM's rule: a higher incarnation wins; at the same one alive < suspect < dead (so late news never revives).
function supersedes(next, known) {
  return !known || next.incarnation > known.incarnation
    || (next.incarnation === known.incarnation && (rank[next.state] ?? 0) > (rank[known.state] ?? 0));
}

function applyMember(m) {
  if (supersedes(m, members.get(m.id))) { members.set(m.id, m); return true; }
  return false;
}

function colourOf(node) {
  const ids = [...members.keys()].sort();
  const i = ids.indexOf(node);
  return i < 0 ? "#a0aec0" : palette[i % palette.length];
}

function text(value) { return value === null || value === undefined ? "–" : String(value); }

function bytes(n) {
  if (n === null || n === undefined) { return "–"; }
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function row(cells, attributes) {
  const tr = document.createElement("tr");
  for (const [k, v] of Object.entries(attributes || {})) { tr.setAttribute(k, v); }
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) { td.appendChild(cell); } else { td.textContent = text(cell); }
    tr.appendChild(td);
  }
  return tr;
}

function badge(state) {
  const span = document.createElement("span");
  span.className = `state ${state}`;
  span.textContent = state;
  return span;
}

function renderMembers() {
  const body = $("members").tBodies[0];
  body.replaceChildren();
  const leads = new Map();
  for (const r of ranges) { if (r.leader) { leads.set(r.leader, (leads.get(r.leader) || 0) + 1); } }
  for (const m of [...members.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    body.appendChild(row([m.id, badge(m.state), m.incarnation, m.httpAddress, m.swimAddress, leads.get(m.id) || 0],
      { "data-member": m.id, "data-state": m.state }));
  }
  $("stat-members").textContent = [...members.values()].filter(m => m.state === "alive").length;
}

function renderRanges() {
  const shards = ranges.length ? Math.max(...ranges.map(r => r.endShard)) : 0;
  $("shard-count").textContent = shards || "?";
  const map = $("range-map");
  map.replaceChildren();
  const body = $("ranges").tBodies[0];
  body.replaceChildren();
  let rate = 0, stored = 0;
  for (const r of ranges) {
    const cell = document.createElement("div");
    cell.style.flexGrow = String(r.endShard - r.startShard);
    cell.style.background = r.leader ? colourOf(r.leader) : "#cbd5e0";
    cell.title = `${r.id}: shards [${r.startShard}, ${r.endShard}), leader ${text(r.leader)}, ${bytes(r.sizeBytes)}, ${(r.requestRate ?? 0).toFixed(1)} req/s`;
    cell.setAttribute("data-range-cell", r.id);
    map.appendChild(cell);
    body.appendChild(row([r.id, `[${r.startShard}, ${r.endShard})`, r.generation, r.leader, r.replicas.join(", "), bytes(r.sizeBytes), (r.requestRate ?? 0).toFixed(1)],
      { "data-range": r.id, "data-leader": r.leader || "" }));
    rate += r.requestRate || 0;
    stored += r.sizeBytes || 0;
  }
  $("stat-ranges").textContent = ranges.length;
  $("stat-rate").textContent = rate.toFixed(1);
  $("stat-bytes").textContent = bytes(stored);
  const legend = $("legend");
  legend.replaceChildren();
  for (const id of [...members.keys()].sort()) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colourOf(id);
    item.append(swatch, id);
    legend.appendChild(item);
  }
}

function log(list, html, kind) {
  const li = document.createElement("li");
  li.setAttribute("data-change", kind);
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  li.appendChild(time);
  const what = document.createElement("span");
  what.innerHTML = html; // built below from ids and numbers only, each escaped
  li.appendChild(what);
  $(list).prepend(li);
  while ($(list).children.length > 200) { $(list).lastChild.remove(); }
}

function escape(s) { return String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); }

// Splits, merges and leader moves, as seen between two snapshots of the table.
function diffRanges(before, after) {
  if (!before.length) { return; }
  const old = new Map(before.map(r => [r.id, r]));
  const now = new Map(after.map(r => [r.id, r]));
  const gone = before.filter(r => !now.has(r.id) || now.get(r.id).startShard !== r.startShard || now.get(r.id).endShard !== r.endShard);
  const born = after.filter(r => !old.has(r.id) || old.get(r.id).startShard !== r.startShard || old.get(r.id).endShard !== r.endShard);
  for (const g of gone) {
    const parts = born.filter(b => b.startShard >= g.startShard && b.endShard <= g.endShard);
    if (parts.length > 1) {
      log("changes", `<b>split</b> ${escape(g.id)} [${g.startShard}, ${g.endShard}) into ${parts.map(p => `[${p.startShard}, ${p.endShard})`).join(" + ")}`, "split");
    }
  }
  for (const b of born) {
    const parts = gone.filter(g => g.startShard >= b.startShard && g.endShard <= b.endShard);
    if (parts.length > 1) {
      log("changes", `<b>merge</b> ${parts.map(p => `[${p.startShard}, ${p.endShard})`).join(" + ")} into ${escape(b.id)} [${b.startShard}, ${b.endShard})`, "merge");
    }
  }
  for (const r of after) {
    const o = old.get(r.id);
    if (o && o.startShard === r.startShard && o.endShard === r.endShard && o.leader && r.leader && o.leader !== r.leader) {
      log("changes", `<b>leader</b> of ${escape(r.id)} moved from ${escape(o.leader)} to ${escape(r.leader)}`, "leader");
    }
  }
}

async function refresh() {
  try {
    const [memberList, rangeList] = await Promise.all([api("/v1/cluster/members"), api("/v1/cluster/ranges")]);
    for (const m of memberList) { applyMember(m); }
    diffRanges(ranges, rangeList);
    ranges = rangeList;
    renderMembers();
    renderRanges();
    $("status").className = "status live";
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    $("status").className = "status down";
    $("status").textContent = `gateway unreachable (${e.message})`;
  }
}

// Server-sent events over fetch (EventSource cannot send the API key header); resumes with Last-Event-ID.
async function streamEvents() {
  for (;;) {
    try {
      const h = headers();
      if (lastEventId) { h["Last-Event-ID"] = lastEventId; }
      const response = await fetch("/v1/cluster/events", { headers: h, cache: "no-store" });
      if (response.status === 401) { askForKey(); return; }
      if (!response.ok || !response.body) { throw new Error(String(response.status)); }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) { break; }
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (e) {
      // the stream is optional: the periodic refresh keeps the view right meanwhile
    }
    await new Promise(resolve => setTimeout(resolve, 2000));
  }
}

function handle(block) {
  let id = null, data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id:")) { id = line.slice(3).trim(); }
    else if (line.startsWith("data:")) { data += line.slice(5).trim(); }
  }
  if (id) { lastEventId = id; }
  if (!data) { return; }
  const e = JSON.parse(data);
  if (seenKeys.has(e.key)) { return; }
  seenKeys.add(e.key);
  const member = { id: e.memberId, appId: e.appId, httpAddress: e.httpAddress, swimAddress: e.swimAddress, state: e.state, incarnation: e.incarnation };
  if (applyMember(member)) {
    log("events", `<b>${escape(e.kind)}</b> ${escape(e.memberId)} (incarnation ${Number(e.incarnation)}, seen by ${escape(e.observedBy)})`, e.kind);
    renderMembers();
  }
}

refresh();
setInterval(refresh, 2000);
streamEvents();
