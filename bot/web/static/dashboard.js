// MiniBot dashboard: asks for the API key once, lets the operator pick a campaign, then polls
// GET /api/campaigns/{id}/live every 2 s and draws its figures (bot.campaign.live) with plain DOM
// and SVG: no framework, no build step, no CDN.
//
// The key lives in this tab's sessionStorage (gone when the tab closes) and travels only in the
// X-API-Key header. Every value from the server is written with textContent or as an attribute,
// never as HTML.
"use strict";

(() => {
  const KEY_STORE = "minibot.apiKey";
  const CAMPAIGN_STORE = "minibot.campaign";
  const POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";

  // The chart stacks successes at the bottom, then other results, then unanswered outcomes.
  const ORDER = ["QUALIFIED", "APPOINTMENT_SCHEDULED", "CALLBACK_REQUESTED", "TRANSFERRED", "NOT_INTERESTED",
    "NOT_QUALIFIED", "OPTED_OUT", "HUNG_UP", "NO_ANSWER", "ANSWERING_MACHINE", "VOICEMAIL_LEFT", "answered", "transferred",
    "busy", "no_answer", "congestion", "rejected", "unallocated", "failed", "interrupted", "unknown", "in_progress"];
  const COLORS = {
    QUALIFIED: "#15803d", APPOINTMENT_SCHEDULED: "#22c55e", CALLBACK_REQUESTED: "#0ea5e9", TRANSFERRED: "#6366f1",
    NOT_INTERESTED: "#f97316", NOT_QUALIFIED: "#fb923c", OPTED_OUT: "#dc2626", HUNG_UP: "#fbbf24", NO_ANSWER: "#a3a3a3",
    ANSWERING_MACHINE: "#a855f7", VOICEMAIL_LEFT: "#c084fc", answered: "#2563eb", transferred: "#4f46e5",
    busy: "#eab308", no_answer: "#9ca3af", congestion: "#78716c", rejected: "#be123c", unallocated: "#57534e",
    failed: "#7f1d1d", interrupted: "#f43f5e", unknown: "#d4d4d4", in_progress: "#38bdf8",
  };
  const SPARE = ["#0d9488", "#ca8a04", "#db2777", "#4d7c0f", "#7c3aed", "#0369a1"];

  // Words for the codes the API uses (the codes stay in data-* attributes, for scripts and tests).
  const LABELS = {
    QUALIFIED: "qualifié", APPOINTMENT_SCHEDULED: "rendez-vous pris", CALLBACK_REQUESTED: "à rappeler",
    TRANSFERRED: "transféré", NOT_INTERESTED: "pas intéressé", NOT_QUALIFIED: "non qualifié", OPTED_OUT: "opposition",
    NO_ANSWER: "muet", ANSWERING_MACHINE: "répondeur", VOICEMAIL_LEFT: "message laissé", HUNG_UP: "a raccroché",
    answered: "décroché", transferred: "transféré", busy: "occupé", no_answer: "pas de réponse",
    congestion: "réseau saturé", rejected: "rejeté", unallocated: "numéro inexistant", failed: "échec",
    interrupted: "interrompu", unknown: "inconnu", in_progress: "en cours", no_result: "sans résultat",
  };
  const STATUSES = { DRAFT: "BROUILLON", READY: "PRÊTE", RUNNING: "EN COURS", PAUSED: "EN PAUSE",
    COMPLETED: "TERMINÉE", CANCELLED: "ARRÊTÉE", PENDING: "à appeler", IN_PROGRESS: "en cours", DONE: "terminés",
    EXCLUDED: "exclus" };
  const REASONS = { outside_hours: "hors des heures d'appel", weekend: "week-end", public_holiday: "jour férié",
    frequency_cap: "nombre d'appels maximal atteint pour ces contacts", refusal_cooloff: "délai de repos après un refus" };
  const word = (code) => LABELS[code] || code;
  const LOCALE = "fr-FR";
  let zone = "Europe/Paris"; // the campaign's (its calling hours'): times are shown there, never in UTC
  const fmt = (options) => new Intl.DateTimeFormat(LOCALE, { timeZone: zone, hourCycle: "h23", ...options });
  const timeOf = (at) => fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date(at));
  const dateTimeOf = (at) => fmt({ day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit",
    minute: "2-digit" }).format(new Date(at));
  const slotOf = (at) => {
    const parts = fmt({ weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" })
      .formatToParts(new Date(at));
    const get = (type) => (parts.find((p) => p.type === type) || {}).value || "";
    return `${get("weekday")} ${get("day")} ${get("month")}, ${get("hour")}:${get("minute")}`;
  };

  const $ = (id) => document.getElementById(id);
  let pollTimer = null;
  let generation = 0; // a poll answered after the campaign changed is dropped

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  // What the operator reads about a failed request, in French whatever the API's own words (its
  // messages are written for API clients, in English) or the browser's ("Failed to fetch").
  function problem(status, serverMessage) {
    if (status === 0) return "serveur injoignable (MiniBot est-il lancé ? minibot serve)";
    if (status === 401) {
      return /MINIBOT_API__KEY/.test(serverMessage || "")
        ? "aucune clé d'API n'est réglée sur le serveur (MINIBOT_API__KEY) : toute route /api/ est refusée"
        : "clé incorrecte ou absente";
    }
    if (status === 404) return "introuvable";
    if (status === 503) return "base de données indisponible, nouvel essai dans quelques secondes";
    if (status >= 500) return `erreur interne du serveur (${status}) : voir son journal`;
    return `requête refusée (${status})`;
  }

  const apiKey = () => sessionStorage.getItem(KEY_STORE);

  async function api(path) {
    let response;
    try {
      response = await fetch(path, {
        headers: { "X-API-Key": apiKey() || "", Accept: "application/json" },
        cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
      });
    } catch (err) {
      throw new ApiError(0, problem(0));
    }
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON: the status says enough */ }
    if (!response.ok) {
      throw new ApiError(response.status, problem(response.status, body && body.error));
    }
    return body;
  }

  // -- key and campaign picker ------------------------------------------------------------------------

  function showLogin(message) {
    stopPolling();
    $("board").hidden = true;
    $("forget-key").hidden = true;
    $("login").hidden = false;
    $("key-error").hidden = !message;
    $("key-error").textContent = message || "";
    setConnection("idle", "");
    $("api-key").value = "";
    $("api-key").focus();
  }

  function forgetKey(message) {
    sessionStorage.removeItem(KEY_STORE);
    showLogin(message);
  }

  async function openBoard() {
    $("login").hidden = true;
    $("board").hidden = false;
    $("forget-key").hidden = false;
    let campaigns;
    try {
      const body = await api("/api/campaigns");
      campaigns = Array.isArray(body) ? body : (body.campaigns || body.items || []);
    } catch (err) {
      if (err.status === 401) { forgetKey(`Clé refusée : ${err.message}`); return; }
      showError(`Impossible de lister les campagnes : ${err.message}`);
      setConnection("error", err.message);
      pollTimer = setTimeout(openBoard, POLL_MS * 2);
      return;
    }
    fillPicker(campaigns);
    poll();
  }

  function fillPicker(campaigns) {
    const select = $("campaign");
    select.replaceChildren();
    for (const c of campaigns) {
      const option = document.createElement("option");
      option.value = String(c.id);
      option.textContent = `${c.id} · ${c.name} (${STATUSES[c.status] || c.status})`;
      select.append(option);
    }
    const saved = sessionStorage.getItem(CAMPAIGN_STORE);
    const wanted = new URLSearchParams(location.search).get("campaign"); // an id, never a secret
    const ids = campaigns.map((c) => String(c.id));
    const running = campaigns.filter((c) => c.status === "RUNNING").map((c) => String(c.id));
    select.value = [wanted, saved, running[running.length - 1], ids[ids.length - 1]].find((id) => id && ids.includes(id)) || "";
    if (!campaigns.length) showError("Aucune campagne : en créer une avec « minibot campaign create ».");
  }

  // -- polling ----------------------------------------------------------------------------------------

  function stopPolling() {
    generation += 1;
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  async function poll() {
    stopPolling();
    const mine = generation;
    const id = $("campaign").value;
    if (!id) return;
    sessionStorage.setItem(CAMPAIGN_STORE, id);
    try {
      const view = await api(`/api/campaigns/${encodeURIComponent(id)}/live`);
      if (mine !== generation) return;
      render(view);
      showError("");
      setConnection("ok", `à jour à ${timeOf(new Date())}`);
    } catch (err) {
      if (mine !== generation) return;
      if (err.status === 401) { forgetKey(`Clé refusée : ${err.message}`); return; }
      showError(err.status === 404 ? `Campagne ${id} introuvable.` : `Impossible de charger la campagne ${id} : ${err.message}`);
      setConnection("error", err.message);
    }
    if (mine === generation) pollTimer = setTimeout(poll, POLL_MS);
  }

  function showError(message) {
    $("error").hidden = !message;
    $("error").textContent = message || "";
  }

  function setConnection(state, text) {
    $("connection").dataset.state = state;
    $("connection").textContent = text;
  }

  // -- rendering --------------------------------------------------------------------------------------

  const pct = (rate) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}\u00a0%`);
  const ms = (value) => (value === null || value === undefined ? "—" : `${value} ms`);
  const clock = (seconds) => (seconds === null || seconds === undefined ? ""
    : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`);
  const text = (id, value) => { $(id).textContent = value; };

  function render(view) {
    const { campaign, totals, rates, latencies, waiting } = view;
    zone = campaign.timezone || "Europe/Paris";
    text("campaign-status", STATUSES[campaign.status] || campaign.status);
    $("campaign-status").dataset.status = campaign.status;
    // Why it is paused (an operator, or the breaker after an Asterisk outage), in French.
    $("campaign-status").title = campaign.pause_reason || "";
    text("campaign-pause-reason", campaign.pause_reason ? `En pause : ${campaign.pause_reason}` : "");
    text("campaign-scenario", `scénario ${campaign.scenario}`);
    text("updated", `à ${timeOf(view.at)} (${zone})`);
    renderWhy(view);

    text("answer-rate", pct(rates.answer));
    text("answer-detail", `${totals.answered} décrochés sur ${totals.ended} terminés`);
    text("qualified-rate", pct(rates.qualified));
    text("opt-out-rate", pct(rates.opt_out));
    text("machine-rate", pct(rates.machine));
    text("first-audio-p50", ms(latencies.answer_to_first_audio_p50_ms));
    text("first-audio-p95", ms(latencies.answer_to_first_audio_p95_ms));
    text("turn-p50", ms(latencies.turn_p50_ms));
    text("turn-p95", ms(latencies.turn_p95_ms));
    text("turn-count", `${latencies.turns} tours de parole`);
    text("calls-total", String(totals.calls));
    text("calls-detail", `${totals.active} en cours · ${totals.ended} terminés`);
    text("contacts-total", String(totals.contacts));
    text("contacts-detail", Object.entries(totals.contacts_by_status)
      .map(([status, n]) => `${n} ${STATUSES[status] || status}`).join(" · "));
    text("waiting-due", String(waiting.due_now));
    text("waiting-later", String(waiting.later));
    text("waiting-next", waiting.next_due_at ? `prochain : ${dateTimeOf(waiting.next_due_at)}` : "");

    renderWebhooks(view.webhooks);
    renderCounts($("outcomes"), totals.outcomes, "outcome", totals.ended);
    // Results as shares of answered calls, those without one shown: never a subset that looks whole.
    const results = { ...totals.results };
    if (totals.answered_without_result) results.no_result = totals.answered_without_result;
    renderCounts($("results"), results, "result", totals.answered);
    renderFunnel(view.funnel || { steps: [], objections: [] });
    renderMoods((view.funnel || {}).steps || []);
    renderActive(view.active_calls, totals.active);
    renderChart(view.timeline, view.bucket_minutes);
  }

  // Why a running campaign places no call: the same sentence as `minibot campaign monitor`.
  function renderWhy(view) {
    const { campaign, totals, waiting } = view;
    let why = "";
    if (campaign.status === "RUNNING" && !totals.active) {
      if (waiting.due_now) {
        why = `${waiting.due_now} appel(s) à passer maintenant : aucun dialer ne les prend (lancer « minibot serve » ou « minibot campaign run »)`;
      } else if (waiting.later && waiting.next_due_at) {
        const reasons = (waiting.gate_reasons || []).map((r) => REASONS[r]).filter(Boolean);
        why = reasons.length
          ? `Aucun appel possible maintenant (${reasons.join(", ")}) ; premier créneau légal : ${slotOf(waiting.next_due_at)}`
          : `Prochain appel prévu : ${slotOf(waiting.next_due_at)}`;
      }
    }
    $("why").hidden = !why;
    text("why", why);
  }

  function renderWebhooks(hooks) {
    $("webhooks-card").hidden = !hooks;
    if (!hooks) return;
    text("webhooks-delivered", String(hooks.delivered));
    text("webhooks-pending", String(hooks.pending));
    text("webhooks-failed", String(hooks.failed));
    $("webhooks-card").dataset.failed = String(hooks.failed);
    text("webhooks-error", hooks.failed || hooks.pending ? (hooks.last_error ? `dernière erreur : ${hooks.last_error}` : "")
      : (hooks.configured ? "" : "webhook supprimé"));
  }

  function colorOf(label) {
    if (COLORS[label]) return COLORS[label];
    let hash = 0;
    for (const ch of label) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return SPARE[hash % SPARE.length];
  }

  function renderCounts(table, counts, kind, whole) {
    const body = table.tBodies[0];
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const total = whole || entries.reduce((sum, [, n]) => sum + n, 0);
    const top = Math.max(0, ...entries.map(([, n]) => n));
    body.replaceChildren(...entries.map(([label, n]) => {
      const row = document.createElement("tr");
      row.dataset[kind] = label;
      const name = document.createElement("th");
      name.textContent = word(label);
      const count = document.createElement("td");
      count.className = "count";
      count.textContent = String(n);
      const share = document.createElement("td");
      share.className = "share";
      share.textContent = total ? `${Math.round((100 * n) / total)}\u00a0%` : "";
      const bar = document.createElement("td");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = `${top ? (100 * n) / top : 0}%`;
      fill.style.background = colorOf(label);
      bar.append(fill);
      row.append(name, count, share, bar);
      return row;
    }));
    if (!entries.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.className = "muted";
      cell.textContent = "aucun pour l'instant";
      row.append(cell);
      body.append(row);
    }
  }

  function renderFunnel(funnel) {
    const top = Math.max(0, ...funnel.steps.map((s) => s.reached));
    $("funnel").tBodies[0].replaceChildren(...funnel.steps.map((s) => {
      const row = document.createElement("tr");
      row.dataset.step = s.step;
      const name = document.createElement("th");
      name.textContent = s.step;
      row.append(name);
      for (const [value, cls] of [[s.reached, "count reached"], [s.ended_here, "count ended"],
        [s.hung_up_here, "count hung-up"]]) {
        const cell = document.createElement("td");
        cell.className = cls;
        cell.textContent = String(value);
        row.append(cell);
      }
      const bar = document.createElement("td");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = `${top ? (100 * s.reached) / top : 0}%`;
      fill.style.background = "#2563eb";
      bar.append(fill);
      row.append(bar);
      return row;
    }));
    const counts = Object.fromEntries(funnel.objections.map((o) => [o.id, o.count]));
    renderCounts($("objections"), counts, "objection");
  }

  // How callers felt at each step (bot.dialog.nlu.sentiment, counted by bot.campaign.live): one row per
  // step where at least one answer was analysed, with a bar split by feeling.
  const MOODS = [["positive", "positif", "#15803d"], ["neutral", "neutre", "#9ca3af"],
    ["negative", "négatif", "#d97706"], ["irritated", "irrité", "#b91c1c"]];

  function renderMoods(steps) {
    const rows = steps.filter((s) => s.sentiments && MOODS.some(([key]) => s.sentiments[key]));
    $("moods").tBodies[0].replaceChildren(...rows.map((s) => {
      const row = document.createElement("tr");
      row.dataset.step = s.step;
      const name = document.createElement("th");
      name.textContent = s.step;
      row.append(name);
      const total = MOODS.reduce((sum, [key]) => sum + (s.sentiments[key] || 0), 0);
      const bar = document.createElement("td");
      bar.className = "bar";
      const stack = document.createElement("span");
      stack.className = "stack";
      bar.append(stack);
      for (const [key, label, color] of MOODS) {
        const n = s.sentiments[key] || 0;
        const cell = document.createElement("td");
        cell.className = `count ${key}`;
        cell.dataset.mood = label;
        cell.textContent = String(n);
        row.append(cell);
        if (!n) continue;
        const part = document.createElement("span");
        part.className = "fill part";
        part.title = `${label} : ${n}`;
        part.style.width = `${(100 * n) / total}%`;
        part.style.background = color;
        stack.append(part);
      }
      row.append(bar);
      return row;
    }));
    if (!rows.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.className = "muted";
      cell.colSpan = 6;
      cell.textContent = "aucune réponse analysée pour l'instant";
      row.append(cell);
      $("moods").tBodies[0].append(row);
    }
  }

  function renderActive(calls, total) {
    text("active-count", `(${total})`);
    const body = $("active-calls").tBodies[0];
    body.replaceChildren(...calls.map((call) => {
      const row = document.createElement("tr");
      row.dataset.callId = String(call.id);
      row.dataset.state = call.state;
      const state = call.state === "talking" ? "en ligne" : "sonne";
      for (const [value, cls] of [[String(call.id)], [call.name || ""], [call.phone], [state, call.state], [clock(call.seconds)],
        [clock(call.talking_seconds)], [call.worker || ""]]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        if (cls) cell.className = cls;
        row.append(cell);
      }
      return row;
    }));
  }

  function svg(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (parent) parent.append(node);
    return node;
  }

  function niceMax(value) {
    if (value <= 5) return Math.max(1, value);
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= value) return step * magnitude;
    return 10 * magnitude;
  }

  function bucketLabel(at, minutes, multiDay) {
    const date = new Date(at);
    const day = fmt({ day: "2-digit", month: "2-digit" }).format(date);
    if (minutes >= 1440) return day;
    const time = fmt({ hour: "2-digit", minute: "2-digit" }).format(date);
    return multiDay ? `${day} ${time}` : time;
  }

  // Stacked bars: one per time bucket, one segment per way the calls placed in it ended.
  function renderChart(timeline, minutes) {
    const width = 800, height = 240, left = 36, right = 8, top = 10, bottom = 28;
    const labels = [...new Set(timeline.flatMap((b) => Object.keys(b).filter((k) => k !== "at")))]
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const totals = timeline.map((b) => labels.reduce((sum, l) => sum + (b[l] || 0), 0));
    const ymax = niceMax(Math.max(0, ...totals));
    text("bucket", minutes ? `(appels passés par tranche de ${minutes >= 60 && minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`})` : "");

    const root = svg("svg", { id: "timeline-chart", viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "appels dans le temps", "data-buckets": timeline.length });
    const plotW = width - left - right, plotH = height - top - bottom;
    for (const tick of [0, 0.5, 1]) {
      const y = top + plotH * (1 - tick);
      svg("line", { class: "axis", x1: left, x2: width - right, y1: y, y2: y }, root);
      const label = svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, root);
      label.textContent = String(Math.round(ymax * tick * 10) / 10);
    }
    if (!timeline.length) {
      const empty = svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, root);
      empty.textContent = "aucun appel pour l'instant";
    }
    const slot = plotW / Math.max(1, timeline.length);
    const barW = Math.max(1, slot * 0.8);
    const first = timeline.length ? new Date(timeline[0].at) : null;
    const last = timeline.length ? new Date(timeline[timeline.length - 1].at) : null;
    const multiDay = first && last && fmt({ day: "2-digit" }).format(first) !== fmt({ day: "2-digit" }).format(last);
    const every = Math.max(1, Math.ceil(timeline.length / 8));
    timeline.forEach((bucket, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      let y = top + plotH;
      const group = svg("g", { "data-at": bucket.at, "data-total": totals[i] }, root);
      for (const label of labels) {
        const n = bucket[label] || 0;
        if (!n) continue;
        const h = (plotH * n) / ymax;
        y -= h;
        const rect = svg("rect", { x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: h.toFixed(1),
          fill: colorOf(label), "data-outcome": label, "data-count": n, "data-at": bucket.at }, group);
        svg("title", {}, rect).textContent = `${bucketLabel(bucket.at, minutes, multiDay)} ${word(label)} : ${n}`;
      }
      if (i % every === 0) {
        const tick = svg("text", { x: (left + i * slot + slot / 2).toFixed(1), y: height - 8, "text-anchor": "middle" },
          root);
        tick.textContent = bucketLabel(bucket.at, minutes, multiDay);
      }
    });
    $("chart").replaceChildren(root);

    $("legend").replaceChildren(...labels.map((label) => {
      const item = document.createElement("li");
      item.dataset.legend = label;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colorOf(label);
      item.append(swatch, word(label));
      return item;
    }));
  }

  function rank(label) {
    const i = ORDER.indexOf(label);
    return i < 0 ? ORDER.length - 1 : i; // unknown labels just below in_progress
  }

  // -- wiring -----------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("api-key").value.trim();
      $("api-key").value = "";
      if (!key) return;
      sessionStorage.setItem(KEY_STORE, key);
      openBoard();
    });
    $("forget-key").addEventListener("click", () => forgetKey(""));
    $("campaign").addEventListener("change", poll);
    if (apiKey()) openBoard(); else showLogin("");
  });
})();
