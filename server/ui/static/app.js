// retune dashboard: draws a page's charts with uPlot from the server's downsampled data,
// and keeps a study page current from its change stream. Every chart records how many
// points it drew in data-points; the body gets data-ready once every chart has drawn.
"use strict";
(function () {
  // Okabe–Ito: distinguishable with every common colour-vision deficiency.
  const C = { blue: "#0072B2", orange: "#E69F00", green: "#009E73", red: "#D55E00", purple: "#CC79A7", sky: "#56B4E9", grey: "#6e7781" };
  const stateColor = { COMPLETE: C.green, PRUNED: C.orange, FAIL: C.red, RUNNING: C.blue, WAITING: C.grey };
  const fmt = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });

  function width(el) { return Math.max(260, Math.floor(el.getBoundingClientRect().width || el.parentElement.clientWidth || 400)); }

  // plot draws a uPlot chart into el (replacing any), with aligned data [xs, ...ys].
  function plot(el, series, data, opts) {
    if (el._plot) { el._plot.destroy(); }
    el.textContent = "";
    const o = Object.assign({
      width: width(el), height: 240, series: [{}].concat(series), legend: { show: true },
      cursor: { points: { show: false } },
      axes: [{ stroke: "#4a5561", grid: { stroke: "#eef1f4" } }, { stroke: "#4a5561", grid: { stroke: "#eef1f4" }, size: 60, values: (u, vs) => vs.map((v) => v == null ? "" : fmt.format(v)) }],
    }, opts || {});
    el._plot = new uPlot(o, data, el);
    return el._plot;
  }

  const dots = (color) => ({ stroke: color, fill: color + "99", paths: uPlot.paths.points(), points: { show: true, size: 5, stroke: color, fill: color + "99" } });

  // union merges several sorted x arrays and returns [xs, ys...] aligned to it (null where
  // a series has no point).
  function align(list) {
    const all = new Set();
    list.forEach((s) => s.x.forEach((x) => all.add(x)));
    const xs = Array.from(all).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const out = [xs];
    list.forEach((s) => {
      const ys = new Array(xs.length).fill(null);
      s.x.forEach((x, i) => { ys[index.get(x)] = s.y[i]; });
      out.push(ys);
    });
    return out;
  }

  function setPoints(el, n) { el.dataset.points = String(n); }

  function drawCharts(root, d) {
    const hist = document.getElementById("chart-history");
    const note = document.getElementById("history-note");
    note.textContent = d.downsampled ? "(" + fmt.format(d.complete) + " trials; extremes of each bucket shown)" : "";
    plot(hist, [Object.assign(dots(C.blue), { label: d.objective }), { label: "best so far", stroke: C.red, width: 2, spanGaps: true, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
      align([d.history, d.best]), { scales: { x: { time: false } } });
    setPoints(hist, d.history.x.length);

    const ecdf = document.getElementById("chart-ecdf");
    plot(ecdf, [{ label: "fraction ≤ value", stroke: C.blue, width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
      [d.ecdf.x, d.ecdf.y], { scales: { x: { time: false } } });
    setPoints(ecdf, d.ecdf.x.length);

    const curves = document.getElementById("chart-curves");
    if (d.curves.length === 0) {
      if (curves._plot) { curves._plot.destroy(); curves._plot = null; }
      curves.textContent = "No intermediate values reported yet.";
      setPoints(curves, 0);
    } else {
      plot(curves, d.curves.map((c) => ({ label: "#" + c.number, stroke: stateColor[c.state] || C.grey, width: 1, spanGaps: true, points: { show: false } })),
        align(d.curves.map((c) => c.steps)), { scales: { x: { time: false } }, legend: { show: false } });
      setPoints(curves, d.curves.reduce((n, c) => n + c.steps.x.length, 0));
    }

    const par = document.getElementById("pareto");
    par.textContent = "";
    (d.pareto ? d.pareto.pairs : []).forEach((p, k) => {
      const fig = document.createElement("figure");
      const cap = document.createElement("figcaption");
      cap.textContent = "Pareto front: " + p.names[0] + " and " + p.names[1];
      const el = document.createElement("div");
      el.className = "chart pareto";
      el.dataset.pair = String(k);
      el.setAttribute("role", "img");
      el.setAttribute("aria-label", "trials by " + p.names[0] + " and " + p.names[1] + ", the non-dominated ones highlighted");
      fig.append(cap, el);
      par.append(fig);
      const xAxis = { stroke: "#4a5561", grid: { stroke: "#eef1f4" }, label: p.names[0] };
      plot(el, [Object.assign(dots(C.grey), { label: "dominated" }), Object.assign(dots(C.red), { label: "front" })], align([p.others, p.front]), {
        scales: { x: { time: false } },
        axes: [xAxis, { stroke: "#4a5561", grid: { stroke: "#eef1f4" }, size: 60, label: p.names[1], values: (u, vs) => vs.map((v) => v == null ? "" : fmt.format(v)) }],
      });
      setPoints(el, p.front.x.length + p.others.x.length);
      el.dataset.front = String(p.front.x.length);
    });

    const slices = document.getElementById("slices");
    slices.textContent = "";
    d.slices.forEach((s) => {
      const fig = document.createElement("figure");
      const cap = document.createElement("figcaption");
      cap.textContent = "Slice: " + s.param + (s.log ? " (log scale)" : "");
      const el = document.createElement("div");
      el.className = "chart slice";
      el.dataset.param = s.param;
      el.setAttribute("role", "img");
      el.setAttribute("aria-label", "objective value by " + s.param);
      fig.append(cap, el);
      slices.append(fig);
      const xAxis = { stroke: "#4a5561", grid: { stroke: "#eef1f4" } };
      if (s.labels) { xAxis.values = (u, vs) => vs.map((v) => s.labels[v] !== undefined && Number.isInteger(v) ? s.labels[v] : ""); }
      plot(el, [Object.assign(dots(C.purple), { label: d.objective })], [s.x, s.y], {
        scales: { x: { time: false, distr: s.log ? 3 : 1 } },
        axes: [xAxis, { stroke: "#4a5561", grid: { stroke: "#eef1f4" }, size: 60, values: (u, vs) => vs.map((v) => v == null ? "" : fmt.format(v)) }],
      });
      setPoints(el, s.x.length);
    });
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) {
      let detail = r.status + " " + r.statusText;
      throw new Error(detail);
    }
    return r.json();
  }

  async function drawImportance(root) {
    const box = document.getElementById("importance");
    const method = document.getElementById("importance-method").value;
    const base = "/studies/" + encodeURIComponent(root.dataset.study);
    try {
      const res = await getJSON(base + "/importance?method=" + method + "&objective=" + root.dataset.objective);
      box.textContent = "";
      res.params.forEach((p) => {
        const row = document.createElement("div");
        row.className = "bar";
        const name = document.createElement("span");
        name.textContent = p.name;
        const track = document.createElement("span");
        track.className = "track";
        const fill = document.createElement("span");
        fill.className = "fill";
        fill.style.display = "block";
        fill.style.width = (100 * p.importance).toFixed(1) + "%";
        track.append(fill);
        const v = document.createElement("span");
        v.className = "v";
        v.textContent = (100 * p.importance).toFixed(1) + "%";
        row.append(name, track, v);
        box.append(row);
      });
      const n = document.createElement("p");
      n.className = "hint";
      n.textContent = "From " + fmt.format(res.used) + " complete trials" + (res.skipped ? " (" + fmt.format(res.skipped) + " others left out)" : "") + ".";
      box.append(n);
      box.dataset.points = String(res.params.length);
    } catch (e) {
      box.textContent = "Not available: " + (e.message.startsWith("404") ? "too few complete trials yet." : e.message);
      box.dataset.points = "0";
    }
  }

  async function studyPage(root) {
    const base = "/studies/" + encodeURIComponent(root.dataset.study);
    const load = async () => {
      const d = await getJSON(base + "/charts?objective=" + root.dataset.objective);
      drawCharts(root, d);
    };
    await Promise.all([load(), drawImportance(root)]);
    document.body.dataset.ready = "true";
    document.getElementById("importance-method").addEventListener("change", () => drawImportance(root));

    // Live: on each change, refresh the counts, the latest trials and the charts (at most
    // one refresh in flight, another queued behind it).
    let busy = false, again = false, updates = 0;
    const refresh = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try {
        const r = await fetch(base + "/recent", { credentials: "same-origin" });
        if (r.ok) { document.getElementById("live").innerHTML = await r.text(); }
        const svg = await fetch(base + "/svg" + location.search, { credentials: "same-origin" });
        if (svg.ok) { document.getElementById("svg-charts").innerHTML = await svg.text(); }
        await load();
        updates++;
        document.body.dataset.updates = String(updates);
      } catch (e) {
        console.warn("refresh failed", e);
      } finally {
        busy = false;
        if (again) { again = false; refresh(); }
      }
    };
    const es = new EventSource(base + "/events");
    ["trial.created", "trial.started", "trial.finished", "resync"].forEach((name) => es.addEventListener(name, refresh));
    es.addEventListener("hello", () => { document.body.dataset.live = "true"; });
  }

  function trialPage() {
    const el = document.getElementById("chart-curve");
    if (el) {
      const c = JSON.parse(el.dataset.curve);
      plot(el, [{ label: "value", stroke: C.blue, width: 2, points: { show: c.x.length < 60 } }], [c.x, c.y], { scales: { x: { time: false } } });
      setPoints(el, c.x.length);
    }
    document.body.dataset.ready = "true";
  }

  // Charts follow the width of their box.
  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      document.querySelectorAll(".chart").forEach((el) => {
        if (el._plot) { el._plot.setSize({ width: 1, height: 240 }); }
      });
      document.querySelectorAll(".chart").forEach((el) => {
        if (el._plot) { el._plot.setSize({ width: width(el), height: 240 }); }
      });
      document.body.dataset.width = String(window.innerWidth);
    }, 100);
  });

  window.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("study");
    document.body.dataset.width = String(window.innerWidth);
    const done = (p) => p.catch((e) => { console.error(e); document.body.dataset.ready = "error"; });
    if (root) { done(studyPage(root)); } else { trialPage(); }
  });
})();
