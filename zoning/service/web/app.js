// 三线一单 site pre-screening page: plain JS over the service's JSON API.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const state = { industries: [], byCode: {}, children: {}, selected: [], open: {}, packs: [], vocab: null };
  const hasLeaflet = typeof window.L !== "undefined";
  let map = null, drawn = null, unitsLayer = null, resultLayer = null, eligLayer = null, layerControl = null;

  // The server's error ({error, detail, request_id}) as a sentence a person reads: detail is a
  // message, an object with a message, or a list of field problems ({loc, msg}).
  function errorText(detail, fallback) {
    if (typeof detail === "string" && detail) return detail;
    if (Array.isArray(detail)) {
      const parts = detail.map((d) => (d && typeof d === "object" ? [(d.loc || []).filter((x) => x !== "body").join("."), d.msg || d.message || ""].filter(Boolean).join(": ") : String(d)));
      if (parts.some(Boolean)) return parts.filter(Boolean).join("; ");
    }
    if (detail && typeof detail === "object" && typeof detail.message === "string") return detail.message;
    return fallback;
  }
  async function getJSON(url, opts) {
    const r = await fetch(url, opts);
    const body = await r.json().catch(() => null);
    if (!r.ok || body === null) {
      const b = body && typeof body === "object" ? body : {};
      const e = new Error(errorText(b.detail, `服务器返回 the server answered HTTP ${r.status} ${r.statusText}`));
      e.body = { error: b.error || `http_${r.status}`, request_id: b.request_id || r.headers.get("x-request-id") };
      throw e;
    }
    return body;
  }

  // ------------------------------------------------------------------ labels (GET /v1/vocabulary, zoning/vocab.py)
  const V = (table, key) => (state.vocab && state.vocab[table] && state.vocab[table][key]) || "";
  const verdictLabel = (v) => `${V("verdicts", v) || v} ${String(v).replace("_", " ")}`;
  const effectLabel = (e) => `${V("effects", e) || e} ${String(e).replace("_", " ")}`;
  const attr = (key) => (state.vocab && state.vocab.attributes && state.vocab.attributes[key]) || null;
  const attrLabel = (key) => (attr(key) ? attr(key).label : key);

  // ------------------------------------------------------------------ map
  function setupMap() {
    if (!hasLeaflet) { $("map").textContent = "地图组件未安装：pip 安装的 zoning 自带，请重装 wheel；源码目录运行 make web — map assets missing: reinstall the zoning wheel (it carries them), or run make web in a checkout; paste a site instead."; return; }
    map = L.map("map", { zoomControl: true }).setView([30.7, 120.0], 9);
    drawn = new L.FeatureGroup().addTo(map);
    if (L.Control && L.Control.Draw) {
      map.addControl(new L.Control.Draw({
        edit: { featureGroup: drawn, remove: true },
        draw: { circle: false, circlemarker: false, rectangle: true, polygon: true, polyline: true, marker: true },
      }));
      map.on(L.Draw.Event.CREATED, (e) => {
        drawn.clearLayers(); drawn.addLayer(e.layer);
        $("site-text").value = JSON.stringify(e.layer.toGeoJSON().geometry);
        $("coords").value = "wgs84";
      });
      map.on(L.Draw.Event.EDITED, () => { const ls = drawn.getLayers(); if (ls.length) $("site-text").value = JSON.stringify(ls[0].toGeoJSON().geometry); });
      map.on(L.Draw.Event.DELETED, () => { $("site-text").value = ""; });
    }
  }

  // Basemaps from GET /v1/page-config: none by default (the page works offline), OpenStreetMap,
  // and 天地图 矢量/影像 (CGCS2000 _w tiles with their annotation) when the server has a key.
  function setupBasemaps(basemaps) {
    if (!map) return;
    const none = L.layerGroup().addTo(map);
    const bases = { "无底图（离线） no basemap (offline)": none };
    for (const b of basemaps || []) {
      const layers = b.tiles.map((t) => L.tileLayer(t.url, { subdomains: t.subdomains || "abc", maxZoom: t.max_zoom || 18, attribution: t.attribution, className: `basemap-${b.id}` }));
      bases[b.id === "osm" ? "OpenStreetMap（在线 online）" : b.name] = layers.length === 1 ? layers[0] : L.layerGroup(layers);
    }
    layerControl = L.control.layers(bases, null, { position: "topright" }).addTo(map);
  }
  async function loadPageConfig() {
    let cfg = { basemaps: [], upload: null };
    try { cfg = await getJSON("/v1/page-config"); } catch (e) { /* an older server: no basemaps, no upload hint */ }
    setupBasemaps(cfg.basemaps);
    if (cfg.upload && cfg.upload.suffixes) {
      const suffixes = Object.keys(cfg.upload.suffixes);
      $("site-file").accept = suffixes.join(",");
      $("upload-types").textContent = "可上传 accepted: " + Object.entries(cfg.upload.suffixes).map(([k, d]) => `${k} ${d}`).join("; ") +
        (cfg.upload.max_bytes ? ` · 最大 at most ${(cfg.upload.max_bytes / 1048576).toFixed(0)} MiB` : "");
    }
  }

  const CAT_COLOURS = { priority: "#27ae60", key: "#e67e22", general: "#7f8c8d" };
  async function showPackUnits(packId) {
    if (!map) return;
    const fc = await getJSON(`/v1/packs/${encodeURIComponent(packId)}/units`);
    if (unitsLayer) map.removeLayer(unitsLayer);
    unitsLayer = L.geoJSON(fc, {
      style: (f) => ({ color: CAT_COLOURS[f.properties.category] || "#555", weight: 1, fillOpacity: 0.12 }),
      onEachFeature: (f, layer) => layer.bindTooltip(`${esc(f.properties.unit_code)} ${esc(f.properties.unit_name)}`),
    }).addTo(map);
    const b = unitsLayer.getBounds(); if (b.isValid()) map.fitBounds(b);
  }

  // ------------------------------------------------------------------ packs & vocab
  async function loadPacks() {
    const out = await getJSON("/v1/packs");
    state.packs = out.packs;
    $("pack").innerHTML = out.packs.map((p) => `<option value="${esc(p.latest === false ? p.ref : p.id)}">${esc(p.name)} · ${esc(p.version)}${p.latest === false ? " (旧版 older)" : ""}</option>`).join("");
    $("pack").value = out.default;
    $("pack").addEventListener("change", () => { clearEligibility(); showPackUnits($("pack").value).catch(() => {}); });
    showPackUnits(out.default).catch(() => {});
  }

  async function loadVocabulary() {
    const v = await getJSON("/v1/vocabulary");
    state.vocab = v;
    document.querySelectorAll("label[data-attr]").forEach((l) => {
      const a = (v.attributes || {})[l.dataset.attr];
      if (a) { l.firstElementChild.textContent = `${a.label} ${a.en}`; l.title = a.supply; }
    });
    $("construction").innerHTML = `<option value="">未填 not given</option>` + Object.entries(v.construction).map(([k, zh]) => `<option value="${esc(k)}">${esc(zh)} ${esc(k)}</option>`).join("");
    $("construction").value = "new";
    $("activity").innerHTML = `<option value="">无 none</option>` + Object.entries(v.activity).map(([k, zh]) => `<option value="${esc(k)}">${esc(zh)} ${esc(k)}</option>`).join("");
    const em = $("emissions");
    for (const [k, zh] of Object.entries(v.pollutants)) {
      em.insertAdjacentHTML("beforeend", `<label title="${esc(attr("emissions." + k) ? attr("emissions." + k).supply : "")}">${esc(k)} ${esc(zh)} <input data-pollutant="${esc(k)}" type="number" min="0" step="any"></label>`);
    }
    const fu = $("fuels");
    for (const [k, zh] of Object.entries(v.fuel)) {
      fu.insertAdjacentHTML("beforeend", `<label><input type="checkbox" data-fuel="${esc(k)}"> ${esc(zh)}</label>`);
    }
    fu.insertAdjacentHTML("beforeend", `<label><input type="checkbox" id="fuel-none"> 不燃烧燃料 burns nothing</label>`);
  }

  // ------------------------------------------------------------------ industry tree
  async function loadIndustries() {
    const out = await getJSON("/v1/industries");
    state.industries = out.industries;
    for (const r of out.industries) {
      state.byCode[r.code] = r;
      (state.children[r.parent || ""] = state.children[r.parent || ""] || []).push(r);
    }
    renderTree();
    $("industry-search").addEventListener("input", renderTree);
  }
  const depth = (r) => (/^[A-Z]$/.test(r.code) ? 1 : r.code.length - 0);
  function li(r, cls) {
    const kids = state.children[r.code] || [];
    const tog = kids.length ? (state.open[r.code] ? "▾" : "▸") : "";
    return `<li class="${cls}" data-code="${esc(r.code)}"><span class="tog" data-toggle="${kids.length ? esc(r.code) : ""}">${tog}</span>${esc(r.code)} ${esc(r.name)}</li>`;
  }
  function renderTree() {
    const q = $("industry-search").value.trim().toLowerCase();
    const ul = $("industry-list");
    let html = "";
    if (q) {
      const hits = state.industries.filter((r) => r.code.toLowerCase().startsWith(q) || r.name.toLowerCase().includes(q)).slice(0, 200);
      html = hits.map((r) => li(r, "l" + Math.min(depth(r), 4))).join("") || `<li>无匹配 no match</li>`;
    } else {
      const walk = (parent, level) => {
        for (const r of state.children[parent] || []) {
          html += li(r, "l" + level);
          if (state.open[r.code]) walk(r.code, level + 1);
        }
      };
      walk("", 1);
    }
    ul.innerHTML = html;
  }
  function renderSelected() {
    $("industry-selected").innerHTML = state.selected.map((c) => `<span data-code="${esc(c)}" title="点击移除 click to remove">${esc(c)} ${esc((state.byCode[c] || {}).name)} ×</span>`).join("");
  }
  function setupIndustryClicks() {
    $("industry-list").addEventListener("click", (e) => {
      const t = e.target.closest("[data-toggle]");
      if (t && t.dataset.toggle) { state.open[t.dataset.toggle] = !state.open[t.dataset.toggle]; renderTree(); return; }
      const item = e.target.closest("li[data-code]");
      if (item && !state.selected.includes(item.dataset.code)) { state.selected.push(item.dataset.code); renderSelected(); }
    });
    $("industry-selected").addEventListener("click", (e) => {
      const s = e.target.closest("span[data-code]");
      if (s) { state.selected = state.selected.filter((c) => c !== s.dataset.code); renderSelected(); }
    });
  }

  // ------------------------------------------------------------------ screening
  function siteGeometry() {
    const text = $("site-text").value.trim();
    if (!text) throw new Error("请先绘制或输入场址 — draw, paste or type a site first");
    const m = text.match(/^\s*([-+]?\d+(?:\.\d*)?)\s*[,，\s]\s*([-+]?\d+(?:\.\d*)?)\s*$/);
    if (m) return { geometry: { type: "Point", coordinates: [parseFloat(m[1]), parseFloat(m[2])] }, properties: {} };
    let obj;
    try { obj = JSON.parse(text); } catch (e) { throw new Error("场址不是 lon,lat 也不是 GeoJSON — the site is neither lon,lat nor GeoJSON"); }
    if (obj.type === "FeatureCollection") {
      const fs = obj.features || [];
      if (fs.length === 1) obj = fs[0];
      else {
        const parts = fs.map((f) => f.geometry).filter(Boolean);
        const kind = parts.length && parts[0].type.replace("Multi", "");
        const coords = [];
        for (const g of parts) { if (g.type.startsWith("Multi")) coords.push(...g.coordinates); else coords.push(g.coordinates); }
        return { geometry: { type: "Multi" + kind, coordinates: coords }, properties: {} };
      }
    }
    if (obj.type === "Feature") return { geometry: obj.geometry, properties: obj.properties || {} };
    return { geometry: obj, properties: {} };
  }
  function projectFromForm(base) {
    const p = Object.assign({}, base);
    const name = $("name").value.trim(); if (name) p.name = name;
    if (state.selected.length) p.industry = state.selected.slice();
    if ($("construction").value) p.construction = $("construction").value;
    if ($("activity").value) p.activity = $("activity").value;
    const em = {};
    document.querySelectorAll("[data-pollutant]").forEach((i) => { if (i.value !== "") em[i.dataset.pollutant] = parseFloat(i.value); });
    if (Object.keys(em).length) p.emissions = em;
    const fuels = [...document.querySelectorAll("[data-fuel]")].filter((i) => i.checked).map((i) => i.dataset.fuel);
    if (fuels.length) p.fuel = fuels; else if ($("fuel-none") && $("fuel-none").checked) p.fuel = [];
    for (const k of ["water_m3", "coal_t", "land_ha", "energy_tce"]) if ($(k).value !== "") p[k] = parseFloat($(k).value);
    if ($("groundwater").value) p.groundwater = $("groundwater").value === "true";
    return p;
  }
  function showError(e) {
    const box = $("error");
    box.hidden = false;
    box.dataset.code = (e.body && e.body.error) || "";
    box.innerHTML = `<b>出错了 Error:</b> <span class="message">${esc(e.message)}</span>` +
      (e.body && (e.body.error || e.body.request_id) ? `<br><small>${e.body.error ? "代码 code " + esc(e.body.error) : ""}${e.body.request_id ? " · 请求 request " + esc(e.body.request_id) : ""}</small>` : "");
  }
  function screeningQuery() {
    const qs = new URLSearchParams({ pack: $("pack").value });
    if ($("coords").value === "gcj02") qs.set("gcj02", "true");
    if ($("coords").value === "bd09") qs.set("bd09", "true");
    return qs;
  }
  // POST /v1/screen/file: the chosen file and the project of the form (a JSON `project` field).
  async function screenFile(file) {
    const qs = screeningQuery();
    const crs = $("site-crs").value.trim();
    if (crs) qs.set("crs", crs);
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("project", JSON.stringify(projectFromForm({})));
    return getJSON(`/v1/screen/file?${qs}`, { method: "POST", body: form });
  }
  async function submit(ev) {
    ev.preventDefault();
    $("error").hidden = true;
    const banner = $("verdict-banner");
    banner.className = "banner empty"; banner.textContent = "预判中… screening…"; delete banner.dataset.verdict;
    try {
      const file = $("site-file").files && $("site-file").files[0];
      let v;
      if (file) v = await screenFile(file);
      else {
        const site = siteGeometry();
        const feature = { type: "Feature", geometry: site.geometry, properties: projectFromForm(site.properties) };
        v = await getJSON(`/v1/screen?${screeningQuery()}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(feature) });
      }
      showVerdict(v);
    } catch (e) {
      banner.className = "banner empty"; banner.textContent = "未能预判 — could not screen";
      showError(e);
    }
  }
  // The verdict, then the findings that decided it (clause text, the place, the overlap measured),
  // then what is missing (Chinese labels and what to supply), obligations, the other findings and
  // what the site touches.
  const DECIDES = { prohibit: "prohibited", needs_information: "needs_information", condition: "conditional" };
  const num = (x, d) => Number(x).toLocaleString("zh-CN", { maximumFractionDigits: d == null ? 0 : d });
  const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;
  function measured(e) {
    if (e.overlap_m2 != null) return `重叠 overlap ${num(e.overlap_m2)} m²，占场址 of the site ${pct(e.overlap_share)}`;
    if (e.overlap_m != null) return `重叠 overlap ${num(e.overlap_m)} m，占线路 of the line ${pct(e.overlap_share)}`;
    return "场址点位于其中 the point lies in it";
  }
  function places(v) {
    const at = {};
    const put = (id, html) => { if (id != null && !(id in at)) at[id] = html; };
    for (const u of v.units || []) put(u.unit_code, `${esc(V("categories", u.category) || u.category)} <b>${esc(u.unit_code)}</b> ${esc(u.unit_name)} — ${measured(u)}`);
    for (const r of v.red_line || []) put(r.redline_id, `生态保护红线 red line <b>${esc(r.redline_id)}</b> ${esc(r.name)} — ${measured(r)}`);
    for (const z of v.zones || []) put(z.zone_id, `${esc(V("zone_types", z.zone_type) || z.zone_type)} <b>${esc(z.zone_id)}</b> ${esc(z.name)} — ${measured(z)}`);
    for (const n of v.near || []) put(n.id, `<b>${esc(n.id)}</b> ${esc(n.name || "")} — 距场址 distance ${num(n.distance_m, 1)} m`);
    for (const r of v.rasters || []) put(r.name, `<b>${esc(r.name)}</b> ${esc(r.pollutant || "")} ${esc(r.statistic)} ${num(r.value, 1)}${r.unit ? " " + esc(r.unit) : ""}，标准 standard ${num(r.standard, 1)}${r.exceeds ? "（超标 exceeds）" : ""}`);
    return at;
  }
  function quotaText(f, v) {
    const [, scope, resource] = String(f.clause_id).split(":");
    const q = (v.quotas || []).find((r) => r.scope === scope && r.resource === resource);
    if (!q) return "";
    const unit = attr(resource) ? attr(resource).unit : "";
    return `${esc(attrLabel(resource))}：需求 demand ${q.demand == null ? "未知 unknown" : num(q.demand, 1) + " " + esc(unit)}，剩余 remaining ${num(q.remaining, 1)} ${esc(unit)}`;
  }
  function findingItem(f, v, at) {
    const where = f.where != null ? (at[f.where] || `<b>${esc(f.where)}</b>`) : "";
    const quota = String(f.clause_id).startsWith("quota:") ? quotaText(f, v) : "";
    return `<li class="finding" data-clause="${esc(f.clause_id)}" data-effect="${esc(f.effect)}">` +
      `<span class="eff ${esc(f.effect)}">${esc(effectLabel(f.effect))}</span><b>${esc(f.clause_id)}</b> <span class="text">${esc(f.text)}</span>` +
      `<div class="where">${where ? "位置 where: " + where : ""}${quota ? (where ? "<br>" : "") + quota : ""}</div>` +
      `<small>${esc(V("tiers", f.tier) || f.tier)} · ${esc(V("dimensions", f.dimension) || f.dimension)}${f.source ? " · 依据 source: " + esc(f.source) : ""}<br>${esc(f.because)}` +
      `${f.missing && f.missing.length ? "<br>需补充 needs: " + f.missing.map((m) => esc(attrLabel(m))).join("、") : ""}</small></li>`;
  }
  function showVerdict(v) {
    const banner = $("verdict-banner");
    banner.className = "banner " + v.verdict;
    banner.dataset.verdict = v.verdict;
    banner.textContent = `${v.verdict_zh || V("verdicts", v.verdict)} ${v.verdict.replace("_", " ")}`;
    const at = places(v);
    const list = (items, f, id) => (items && items.length ? `<ul${id ? ` id="${id}"` : ""}>${items.map(f).join("")}</ul>` : "<p>—</p>");
    const deciding = (v.findings || []).filter((f) => DECIDES[f.effect] === v.verdict);
    const others = (v.findings || []).filter((f) => DECIDES[f.effect] !== v.verdict);
    let html = `<section id="deciding" class="${esc(v.verdict)}"><h3>决定结论的条款 Findings that decide the verdict</h3>` +
      (deciding.length ? list(deciding, (f) => findingItem(f, v, at)) : `<p>没有禁止、限制或需补充信息的条款适用 — no clause prohibits, conditions or asks for more here.</p>`) + `</section>`;
    if (v.missing && v.missing.length) {
      const asking = (key) => (v.findings || []).filter((f) => (f.missing || []).includes(key)).map((f) => f.clause_id);
      html += `<section id="missing"><h3>待补充信息 Information to supply</h3>` +
        (v.verdict === "prohibited" ? `<p class="small">已有条款禁止，补充后结论仍为禁止准入，但审查需要这些信息 — a clause already prohibits: supplying these will not lift it, but completes the review.</p>` : "") +
        list(v.missing, (m) => `<li data-key="${esc(m)}"><b>${esc(attrLabel(m))}</b>${attr(m) ? " — " + esc(attr(m).supply) : ""} <code>${esc(m)}</code>` +
          `<br><small>条款 clauses: ${esc(asking(m).join(", "))}</small></li>`) + `</section>`;
    }
    if (v.obligations && v.obligations.length) html += `<h3>义务 Obligations</h3>` + list(v.obligations, (o) => `<li>${esc(o.text)}${o.amount_t != null ? ` — ${esc(attrLabel("emissions." + o.pollutant).replace(" (t/a)", ""))} ${esc(o.pollutant)} ${num(o.amount_t, 3)} t/a` : ""}</li>`);
    if (others.length) html += `<section id="other-findings"><h3>其他条款 Other findings</h3>` + list(others, (f) => findingItem(f, v, at)) + `</section>`;
    html += `<h3>管控单元 Units</h3>` + list(v.units, (u) => `<li>${esc(u.unit_code)} ${esc(u.unit_name)}（${esc(V("categories", u.category) || u.category)} ${esc(u.category)}）— ${measured(u)}</li>`);
    if (v.red_line && v.red_line.length) html += `<h3>生态保护红线 Red lines</h3>` + list(v.red_line, (r) => `<li>${esc(r.redline_id)} ${esc(r.name)} — ${measured(r)}</li>`);
    if (v.zones && v.zones.length) html += `<h3>要素管控分区 Element zones</h3>` + list(v.zones, (z) => `<li>${esc(z.zone_id)} ${esc(z.name)}（${esc(V("zone_types", z.zone_type) || z.zone_type)}）— ${measured(z)}</li>`);
    if (v.warnings && v.warnings.length) html += `<h3>提示 Warnings</h3>` + list(v.warnings, (w) => `<li>${esc(w)}</li>`);
    html += `<p class="small">数据 ${esc(v.pack.id)} ${esc(v.pack.version)} · ${esc(v.pack.digest.slice(0, 19))}… · 记录 record <a href="/v1/screenings/${esc(v.screening_id)}" target="_blank">${esc(v.screening_id)}</a> · <a href="/v1/screenings/${esc(v.screening_id)}/map" target="_blank">地图 map</a></p>`;
    $("details").innerHTML = html;
    drawResult(v);
  }
  async function drawResult(v) {
    if (!map) return;
    if (resultLayer) map.removeLayer(resultLayer);
    resultLayer = L.featureGroup().addTo(map);
    const colour = { prohibited: "#c0392b", needs_information: "#d68910", conditional: "#2874a6", permitted: "#1e8449" }[v.verdict];
    try {
      const rec = await getJSON(`/v1/screenings/${encodeURIComponent(v.screening_id)}`);
      L.geoJSON(rec.request.site, { style: { color: colour, weight: 3, fillOpacity: 0.35 }, pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 8, color: colour }) }).addTo(resultLayer);
      for (const u of v.units) {
        const f = await getJSON(`/v1/units/${encodeURIComponent(u.unit_code)}?pack=${encodeURIComponent(v.pack.id)}`);
        L.geoJSON(f, { style: { color: "#6c3483", weight: 2, dashArray: "4", fillOpacity: 0.05 } }).bindTooltip(`${esc(u.unit_code)} ${esc(u.unit_name)}`).addTo(resultLayer);
      }
      const b = resultLayer.getBounds(); if (b.isValid()) map.fitBounds(b, { maxZoom: 15 });
    } catch (e) { /* the verdict is shown; the map is a bonus */ }
  }

  // ------------------------------------------------------------------ where could it go? (POST /v1/eligibility)
  const VERDICT_ORDER = ["prohibited", "needs_information", "conditional", "permitted"];
  const km2 = (m2) => (m2 / 1e6).toLocaleString("zh-CN", { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  const ids = (s) => (s ? s.split(";").filter(Boolean) : []);

  function clearEligibility() {
    if (eligLayer && map) map.removeLayer(eligLayer);
    eligLayer = null;
    const legend = $("eligibility-legend");
    legend.hidden = true; legend.innerHTML = ""; delete legend.dataset.state;
  }
  async function showEligibility() {
    $("error").hidden = true;
    const legend = $("eligibility-legend"), button = $("eligibility");
    clearEligibility();
    legend.hidden = false; legend.dataset.state = "loading";
    legend.textContent = "正在计算可选区域… computing where the project could go… (省级数据包首次约需一分钟 a province pack takes about a minute the first time)";
    button.disabled = true;
    try {
      let base = {};
      try { if ($("site-text").value.trim()) base = siteGeometry().properties || {}; } catch (e) { /* the site is not needed here */ }
      const qs = new URLSearchParams({ pack: $("pack").value });
      const fc = await getJSON(`/v1/eligibility?${qs}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(projectFromForm(base)) });
      drawEligibility(fc);
    } catch (e) {
      clearEligibility();
      showError(e);
    } finally { button.disabled = false; }
  }
  function eligibilityTip(p, clauses, withText) {
    const block = ids(p.blocking).map((id) => withText && clauses[id] ? `<li><b>${esc(id)}</b> ${esc(clauses[id])}</li>` : (withText ? `<li><b>${esc(id)}</b></li>` : esc(id)));
    let html = `<b>${esc(p.verdict_zh)} ${esc(p.verdict.replace("_", " "))}</b><br>面积 area ${km2(p.area_m2)} km²`;
    if (block.length) html += withText ? `<br>决定条款 deciding clauses:<ul>${block.join("")}</ul>` : `<br>决定条款 clauses: ${block.join(", ")}`;
    if (p.missing) html += `<br>待补充 missing: ${ids(p.missing).map((m) => esc(attrLabel(m))).join("、")}`;
    return html;
  }
  function drawEligibility(fc) {
    const colours = fc.colors || {};
    const legend = $("eligibility-legend");
    const total = VERDICT_ORDER.reduce((a, v) => a + (fc.areas_m2[v] || 0), 0) || 1;
    const counts = {};
    for (const f of fc.features) counts[f.properties.verdict] = (counts[f.properties.verdict] || 0) + 1;
    const rows = VERDICT_ORDER.map((v) => `<tr data-verdict="${v}"><td><span class="swatch" style="background:${esc(colours[v])}"></span></td>` +
      `<td>${esc(verdictLabel(v))}</td><td class="num">${km2(fc.areas_m2[v] || 0)} km²</td>` +
      `<td class="num">${(100 * (fc.areas_m2[v] || 0) / total).toFixed(1)}%</td><td class="num small">${counts[v] || 0} 块 polygons</td></tr>`).join("");
    legend.innerHTML = `<b>可选区域 Where could it go?</b> ${fc.project && fc.project.name ? esc(fc.project.name) : ""}` +
      `<table><tr class="small"><td></td><td>结果 verdict</td><td class="num">面积 area</td><td class="num">占比 share</td><td></td></tr>${rows}</table>` +
      `<p class="small">图形按 ${esc(fc.simplified_m)} m 简化显示，面积按未简化的多边形计算 · shapes simplified by ${esc(fc.simplified_m)} m for display, areas of the exact polygons. ` +
      `场址任一点（距边界 1 m 以上）的预判结果即所在区域的结果 · a point site anywhere inside an area gets its verdict. ` +
      `数据 ${esc(fc.pack.id)} ${esc(fc.pack.version)}${fc.cached ? " · 缓存 cached" : ""}</p>` +
      (fc.warnings && fc.warnings.length ? `<p class="small">提示 ${fc.warnings.map(esc).join("; ")}</p>` : "") +
      `<button id="eligibility-clear" type="button">清除 Clear</button>`;
    legend.dataset.state = "shown";
    $("eligibility-clear").addEventListener("click", clearEligibility);
    if (!map) return;
    eligLayer = L.geoJSON(fc, {
      style: (f) => ({ color: colours[f.properties.verdict] || "#555", fillColor: colours[f.properties.verdict] || "#555", weight: 1, opacity: 0.9,
        fillOpacity: 0.45, className: `elig elig-${f.properties.verdict}` }),
      onEachFeature: (f, layer) => {
        layer.bindTooltip(eligibilityTip(f.properties, fc.clauses || {}, false), { sticky: true, className: "elig-tip" });
        layer.bindPopup(eligibilityTip(f.properties, fc.clauses || {}, true), { maxWidth: 380 });
      },
    }).addTo(map);
    if (resultLayer) resultLayer.bringToFront();
    const b = eligLayer.getBounds(); if (b.isValid()) map.fitBounds(b);
  }

  // ------------------------------------------------------------------ start
  function setupUpload() {
    const input = $("site-file"), clear = $("site-file-clear");
    const sync = () => {
      const file = input.files && input.files[0];
      clear.hidden = !file;
      $("site-text").disabled = !!file;
      $("site-text").title = file ? `将上传 the uploaded file is screened: ${file.name}` : "";
      if (file && drawn) drawn.clearLayers();
    };
    input.addEventListener("change", sync);
    clear.addEventListener("click", () => { input.value = ""; sync(); });
  }

  setupMap();
  setupIndustryClicks();
  setupUpload();
  $("form").addEventListener("submit", submit);
  $("eligibility").addEventListener("click", showEligibility);
  Promise.all([loadPacks(), loadVocabulary(), loadIndustries(), loadPageConfig()]).then(() => { document.body.dataset.ready = "1"; })
    .catch((e) => { $("error").hidden = false; $("error").textContent = "加载失败 loading failed: " + e.message; });
})();
