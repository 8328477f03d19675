// observabilipy's page: metric charts from ./api/v1/series, health from ./healthz (the log
// tail is tail.js). Every URL is relative to the page, so it works under any mount prefix.
// Names, label values, messages and attributes are data: they reach the page only through
// textContent or the charts' canvas, never as HTML.
"use strict";

const OBS = (() => {
  const TOKEN_KEY = "observabilipy.token";
  const MAX_CHARTS = 8;
  const SERIES_PER_CHART = 10; // the endpoint keeps the largest: a family of 10,000 stays light
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const COLOURS = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b",
    "#6d4c41", "#3949ab", "#c0ca33", "#d81b60"];
  const state = { range: 900, live: true, charts: new Map(), dbPath: null, lastId: null };
  const tokenListeners = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  // fetch with the tab's token; a 401 asks for the token once and stops there.
  async function api(path, options = {}) {
    const headers = {};
    const saved = token();
    if (saved) headers.Authorization = "Bearer " + saved;
    const response = await fetch(path, { ...options, headers, cache: "no-store" });
    if (response.status === 401) {
      askForToken();
      const error = new Error("this server needs a token");
      error.name = "TokenNeeded";
      throw error;
    }
    return response;
  }

  function askForToken() {
    document.getElementById("token-form").hidden = false;
    document.getElementById("forget-token").hidden = true;
  }

  function onToken(listener) { tokenListeners.push(listener); }

  function setUpToken() {
    const form = document.getElementById("token-form");
    const forget = document.getElementById("forget-token");
    forget.hidden = !token();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("token");
      sessionStorage.setItem(TOKEN_KEY, input.value);
      input.value = "";
      form.hidden = true;
      forget.hidden = false;
      tokenListeners.forEach((listener) => listener());
    });
    forget.addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      location.reload();
    });
  }

  async function errorText(response) {
    try { return (await response.json()).error || response.statusText; }
    catch { return response.status + " " + response.statusText; }
  }

  // -- metric names --------------------------------------------------------------------
  let searchTimer = null;
  async function searchNames() {
    const match = document.getElementById("search").value;
    const list = document.getElementById("names");
    const query = new URLSearchParams({ match, limit: "60" });
    const response = await api("./api/v1/names?" + query);
    if (!response.ok) { list.replaceChildren(el("li", "note", await errorText(response))); return; }
    const body = await response.json();
    const items = body.names.map((family) => {
      const button = el("button", "", family.name);
      button.type = "button";
      button.title = family.help;
      button.append(el("span", "kind", family.kind));
      button.addEventListener("click", () => addChart(family.name));
      const item = el("li");
      item.append(button);
      return item;
    });
    if (body.truncated) items.push(el("li", "note", "… more: refine the search"));
    list.replaceChildren(...items);
  }

  // -- charts ----------------------------------------------------------------------------
  function labelText(name, labels) {
    const pairs = Object.entries(labels).filter(([key]) => key !== "le");
    return pairs.length ? pairs.map(([k, v]) => `${k}="${v}"`).join(", ") : name;
  }

  function timeText(ms) {
    const moment = new Date(ms);
    return state.range > 86400 ? moment.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit" })
      : moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: state.range <= 3600 ? "2-digit" : undefined });
  }

  function rates(points) {
    const out = [];
    for (let i = 1; i < points.length; i++) {
      const [t0, v0] = points[i - 1], [t1, v1] = points[i];
      if (t1 > t0) out.push({ x: t1 * 1000, y: Math.max(0, v1 - v0) / (t1 - t0) });
    }
    return out;
  }

  // Prometheus' histogram_quantile: linear within the bucket holding the rank.
  function quantile(q, buckets) {
    const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
    if (!(total > 0)) return null;
    const rank = q * total;
    for (let i = 0; i < buckets.length; i++) {
      const [le, count] = buckets[i];
      if (count < rank) continue;
      if (le === Infinity) return i > 0 ? buckets[i - 1][0] : null;
      const lower = i > 0 ? buckets[i - 1][0] : 0, below = i > 0 ? buckets[i - 1][1] : 0;
      return count > below ? lower + (le - lower) * (rank - below) / (count - below) : le;
    }
    return null;
  }

  function histogramSets(body) {
    const groups = new Map(); // label set -> time -> [[le, cumulative count]]
    for (const series of body.series) {
      if (!series.sample.endsWith("_bucket")) continue;
      const key = labelText(body.name, series.labels);
      const le = series.labels.le === "+Inf" ? Infinity : Number(series.labels.le);
      const times = groups.get(key) || new Map();
      groups.set(key, times);
      for (const [t, v] of series.points) {
        if (!times.has(t)) times.set(t, []);
        times.get(t).push([le, v]);
      }
    }
    const sets = [];
    for (const [key, times] of groups) {
      const moments = [...times.keys()].sort((a, b) => a - b);
      const lines = { p50: [], p90: [], p99: [] };
      for (let i = 1; i < moments.length; i++) {
        const before = new Map(times.get(moments[i - 1]));
        const delta = times.get(moments[i]).map(([le, v]) => [le, Math.max(0, v - (before.get(le) || 0))])
          .sort((a, b) => a[0] - b[0]);
        for (const [name, q] of [["p50", 0.5], ["p90", 0.9], ["p99", 0.99]]) {
          const value = quantile(q, delta);
          if (value !== null) lines[name].push({ x: moments[i] * 1000, y: value });
        }
      }
      for (const name of Object.keys(lines)) sets.push({ label: `${name} ${key}`, data: lines[name] });
    }
    return sets;
  }

  function datasets(body) {
    if (body.kind === "histogram") return { sets: histogramSets(body), unit: "seconds at p50/p90/p99" };
    if (body.kind === "summary") {
      const sums = new Map(body.series.filter((s) => s.sample.endsWith("_sum")).map((s) => [labelText(body.name, s.labels), s.points]));
      const sets = body.series.filter((s) => s.sample.endsWith("_count")).map((s) => {
        const key = labelText(body.name, s.labels);
        const count = rates(s.points), sum = rates(sums.get(key) || []);
        return { label: `mean ${key}`, data: count.map((c, i) => ({ x: c.x, y: c.y > 0 && sum[i] ? sum[i].y / c.y : 0 })) };
      });
      return { sets, unit: "mean per observation" };
    }
    const cumulative = body.kind === "counter";
    const sets = body.series.map((s) => ({
      label: labelText(body.name, s.labels),
      data: cumulative ? rates(s.points) : s.points.map(([t, v]) => ({ x: t * 1000, y: v })),
    }));
    return { sets, unit: cumulative ? "per second" : "value" };
  }

  function addChart(name, save = true) {
    if (!NAME.test(name) || state.charts.has(name) || state.charts.size >= MAX_CHARTS) return;
    const box = el("div", "chart");
    const head = el("header");
    const title = el("h3", "", name);
    const close = el("button", "", "×");
    close.type = "button";
    close.title = "Remove this chart";
    head.append(title, close);
    const note = el("div", "note", "loading…");
    const plot = el("div", "plot");
    const canvas = el("canvas");
    plot.append(canvas);
    box.append(head, note, plot);
    box.dataset.metric = name;
    document.getElementById("charts").append(box);
    const chart = new Chart(canvas, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false, parsing: false, normalized: true, responsive: true,
        maintainAspectRatio: false, spanGaps: true,
        elements: { point: { radius: 0, hitRadius: 6 }, line: { borderWidth: 1.5 } },
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: { x: { type: "linear", ticks: { maxTicksLimit: 6, maxRotation: 0, callback: timeText } },
                  y: { beginAtZero: true, ticks: { maxTicksLimit: 6 } } },
        plugins: { legend: { labels: { boxWidth: 10 } },
                   tooltip: { callbacks: { title: (items) => items.length ? timeText(items[0].parsed.x) : "" } } },
      },
    });
    const entry = { box, chart, note, title };
    state.charts.set(name, entry);
    close.addEventListener("click", () => {
      chart.destroy();
      box.remove();
      state.charts.delete(name);
      saveHash();
    });
    if (save) saveHash();
    refreshChart(name).catch(() => {});
  }

  async function refreshChart(name) {
    const entry = state.charts.get(name);
    if (!entry) return;
    const query = new URLSearchParams({ name, since: state.range + "s", limit: String(SERIES_PER_CHART) });
    const response = await api("./api/v1/series?" + query);
    if (!response.ok) { entry.note.textContent = await errorText(response); return; }
    const body = await response.json();
    const { sets, unit } = datasets(body);
    sets.forEach((set, i) => {
      set.borderColor = set.backgroundColor = COLOURS[i % COLOURS.length];
      set.pointRadius = set.data.length > 60 ? 0 : 2; // a lone point still shows
    });
    entry.title.title = body.help;
    entry.chart.data.datasets = sets;
    entry.chart.update("none");
    const last = sets.map((s) => s.data[s.data.length - 1]).find((p) => p);
    const shown = last ? `last ${Number(last.y.toPrecision(4))} ${unit === "per second" ? "/s" : ""}` : "waiting for a second snapshot";
    const more = body.truncated ? ` · the ${SERIES_PER_CHART} largest series` : "";
    entry.note.textContent = `${body.kind}, ${unit} · ${shown}${more}`;
  }

  function saveHash() {
    const names = [...state.charts.keys()];
    history.replaceState(null, "", names.length ? "#m=" + names.join(",") : location.pathname + location.search);
  }

  function refreshAll() {
    for (const name of state.charts.keys()) refreshChart(name).catch(() => {});
    refreshHealth().catch(() => {});
  }

  // -- health ----------------------------------------------------------------------------
  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
  }

  function seconds(s) {
    if (s === null || s === undefined) return "forever";
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) if (s >= size && s % size === 0) return s / size + unit;
    return s + "s";
  }

  function retentionText(r) {
    if (!r) return "–";
    const parts = [`logs ${seconds(r.max_age)}`];
    if (r.max_rows) parts.push(`at most ${r.max_rows} rows`);
    for (const [level, age] of Object.entries(r.max_age_by_level || {})) parts.push(`${level} ${seconds(age)}`);
    parts.push(`history ${seconds(r.history_max_age)}`);
    return parts.join(", ");
  }

  async function refreshHealth() {
    const pill = document.getElementById("status");
    let body;
    try {
      body = await (await api("./healthz")).json();
    } catch (error) {
      pill.textContent = "unreachable";
      pill.className = "pill down";
      return;
    }
    const s = body.storage || {};
    state.dbPath = s.path;
    state.lastId = s.last_id;
    pill.textContent = body.status;
    pill.className = "pill " + (body.status === "ok" ? "ok" : "degraded");
    const exporters = Object.entries(body.exporters || {}).map(([name, cursor]) => `${name}: ${JSON.stringify(cursor)}`);
    const rows = [
      ["status", body.status, body.status !== "ok"],
      ["reasons", (body.reasons || []).join("; ") || "none", (body.reasons || []).length > 0],
      ["writer", s.writer, s.writer !== "running"],
      ["buffer depth", s.buffered],
      ["dropped", s.dropped, s.dropped > 0],
      ["rejected", s.rejected, s.rejected > 0],
      ["write errors", s.write_errors, s.write_errors > 0],
      ["rows", s.rows],
      ["file size", bytes(s.file_bytes)],
      ["retention", retentionText(s.retention)],
      ["last id", s.last_id],
      ["exporters", exporters.join(", ") || "none"],
    ];
    const nodes = [];
    for (const [name, value, bad] of rows) {
      nodes.push(el("dt", "", name), el("dd", bad ? "bad" : "", value === undefined || value === null ? "–" : value));
    }
    document.getElementById("health-list").replaceChildren(...nodes);
  }

  // -- start -----------------------------------------------------------------------------
  let timer = null;
  function schedule() {
    clearInterval(timer);
    const every = state.range <= 900 ? 2000 : state.range <= 3600 ? 5000 : 30000;
    timer = setInterval(() => { if (state.live) refreshAll(); }, every);
  }

  function start() {
    setUpToken();
    onToken(() => { searchNames().catch(() => {}); refreshAll(); });
    document.getElementById("search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => searchNames().catch(() => {}), 150);
    });
    for (const button of document.querySelectorAll("#ranges button")) {
      button.addEventListener("click", () => {
        document.querySelectorAll("#ranges button").forEach((b) => b.classList.toggle("on", b === button));
        state.range = Number(button.dataset.range);
        schedule();
        refreshAll();
      });
    }
    document.getElementById("live").addEventListener("change", (event) => {
      state.live = event.target.checked;
    });
    const wanted = /^#m=(.*)$/.exec(location.hash);
    if (wanted) wanted[1].split(",").forEach((name) => addChart(name, false));
    searchNames().catch(() => {});
    refreshHealth().catch(() => {});
    schedule();
  }

  document.addEventListener("DOMContentLoaded", start);
  return { api, el, state, onToken, errorText, addChart, refreshHealth };
})();
