// The live log tail: GET ./logs?follow=1 read as a stream, rendered a batch per frame,
// at most MAX_LINES lines kept in the page (older ones leave as new ones come), so a
// tail at thousands of lines a second keeps the page responsive. Entries are text:
// textContent only, never HTML.
"use strict";

(() => {
  const MAX_LINES = 1000;
  const START_BACK = 200; // the tail opens with about this many of the latest entries
  const LEVELS = new Set(["debug", "info", "warning", "error", "critical"]);
  const tail = document.getElementById("tail");
  const stateText = document.getElementById("tail-state");
  const attributesOf = new WeakMap(); // line -> its entry's attributes
  const textOf = new WeakMap(); // line -> what the text filter searches, lowercased
  let controller = null, lastId = null, paused = false, queue = [], frame = 0, generation = 0;

  const value = (id) => document.getElementById(id).value;

  function params(after) {
    const query = new URLSearchParams({ follow: "1" });
    if (after !== null) query.set("after", String(after));
    if (value("level")) query.set("level", value("level"));
    if (value("logger")) query.set("logger", value("logger"));
    return query;
  }

  function stop() {
    generation++;
    if (controller) controller.abort();
    controller = null;
  }

  async function start() {
    stop();
    const mine = generation;
    controller = new AbortController();
    const signal = controller.signal;
    try {
      if (lastId === null) {
        const health = await (await OBS.api("./healthz", { signal })).json();
        lastId = Math.max(0, (health.storage.last_id || 0) - START_BACK);
      }
      const response = await OBS.api("./logs?" + params(lastId), { signal });
      if (!response.ok) {
        stateText.textContent = await OBS.errorText(response);
        return;
      }
      stateText.textContent = "live";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let rest = "";
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done || mine !== generation) break;
        rest += decoder.decode(chunk, { stream: true });
        const lines = rest.split("\n");
        rest = lines.pop();
        for (const line of lines) {
          if (!line.trim()) continue; // the keepalive
          const entry = JSON.parse(line);
          lastId = entry.id;
          queue.push(entry);
        }
        if (queue.length > MAX_LINES) queue.splice(0, queue.length - MAX_LINES);
        if (!frame) frame = requestAnimationFrame(render);
      }
    } catch (error) {
      if (mine !== generation) return; // stopped on purpose
      if (error.name === "TokenNeeded") { stateText.textContent = "waiting for the token"; return; }
      stateText.textContent = "reconnecting: " + error.message;
    }
    if (mine === generation && !paused) setTimeout(() => { if (mine === generation) start(); }, 1000);
  }

  function matches(line, text) {
    return !text || textOf.get(line).includes(text);
  }

  function lineFor(entry) {
    const level = LEVELS.has(entry.level) ? entry.level : "info";
    const line = OBS.el("div", "line lv-" + level);
    const attributes = entry.attributes || {};
    line.append(
      OBS.el("span", "ts", String(entry.timestamp).slice(11, 23)),
      OBS.el("span", "lv", entry.level),
      OBS.el("span", "lg", entry.logger || "-"),
      OBS.el("span", "msg", entry.message),
    );
    const attributesText = JSON.stringify(attributes);
    if (attributesText !== "{}") line.append(OBS.el("span", "more", "{…}"));
    attributesOf.set(line, attributes);
    textOf.set(line, (entry.message + " " + attributesText).toLowerCase());
    return line;
  }

  function render() {
    frame = 0;
    const entries = queue.splice(0, queue.length);
    const text = value("text").toLowerCase();
    const atBottom = tail.scrollHeight - tail.scrollTop - tail.clientHeight < 40;
    const batch = document.createDocumentFragment();
    for (const entry of entries.slice(-MAX_LINES)) {
      const line = lineFor(entry);
      line.hidden = !matches(line, text);
      batch.append(line);
    }
    tail.append(batch);
    let extra = tail.childElementCount - MAX_LINES;
    while (extra-- > 0) tail.firstElementChild.remove();
    if (atBottom) tail.scrollTop = tail.scrollHeight;
  }

  tail.addEventListener("click", (event) => {
    const line = event.target.closest(".line");
    if (!line || event.target.closest("pre")) return;
    const open = line.querySelector("pre");
    if (open) { open.remove(); return; }
    line.append(OBS.el("pre", "", JSON.stringify(attributesOf.get(line), null, 2)));
  });

  function restart() {
    lastId = null;
    queue = [];
    tail.replaceChildren();
    if (!paused) start();
  }

  document.getElementById("level").addEventListener("change", restart);
  let loggerTimer = null;
  document.getElementById("logger").addEventListener("input", () => {
    clearTimeout(loggerTimer);
    loggerTimer = setTimeout(restart, 300);
  });
  document.getElementById("text").addEventListener("input", () => {
    const text = value("text").toLowerCase();
    for (const line of tail.children) line.hidden = !matches(line, text);
  });

  const pause = document.getElementById("pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      stop();
      stateText.textContent = "paused";
    } else {
      start(); // from the last entry seen: nothing is missed while paused
    }
  });

  // Commands that show the same entries elsewhere; the token stays a variable.
  const quote = (text) => "'" + String(text).replace(/'/g, "'\\''") + "'";

  function curlCommand() {
    const url = new URL("./logs?" + params(null), location.href).href;
    const auth = sessionStorage.getItem("observabilipy.token")
      ? ' -H "Authorization: Bearer $OBSERVABILIPY_TOKEN"' : "";
    return `curl -N${auth} ${quote(url)}` + grep();
  }

  function cliCommand() {
    const parts = ["observabilipy logs", "--db", quote(OBS.state.dbPath || "observabilipy.db"), "--follow"];
    if (value("level")) parts.push("--level", value("level"));
    if (value("logger")) parts.push("--logger", quote(value("logger")));
    return parts.join(" ") + grep();
  }

  function grep() {
    return value("text") ? " | grep -iF -- " + quote(value("text")) : "";
  }

  function copy(command) {
    const shown = document.getElementById("copied");
    shown.hidden = false;
    shown.value = command;
    shown.select();
    if (navigator.clipboard) navigator.clipboard.writeText(command).catch(() => {});
  }

  document.getElementById("copy-curl").addEventListener("click", () => copy(curlCommand()));
  document.getElementById("copy-cli").addEventListener("click", () => copy(cliCommand()));
  OBS.onToken(restart);
  start();
})();
