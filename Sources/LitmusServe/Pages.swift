import Foundation

/// The web screen's pages: small hand-written HTML, one stylesheet and one script (served
/// from `/app.css` and `/app.js`, so the Content-Security-Policy allows no inline code). Every
/// value from the station, the log or a user is put into the page by the script as text,
/// never as markup.
enum Pages {
    private static func frame(_ page: String, title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="csrf" content="{{csrf}}">
        <meta name="signed-in" content="{{signed_in}}">
        <title>\(title)</title>
        <link rel="stylesheet" href="/app.css">
        <script src="/app.js" defer></script>
        </head>
        <body data-page="\(page)">
        <header class="top">
          <b class="brand">Litmus</b>
          <nav><a href="/">Station</a><a href="/history">History</a></nav>
          <span class="who">{{user}}</span>
          <span id="conn" class="conn">connecting</span>
        </header>
        \(body)
        </body>
        </html>
        """
    }

    static let station = frame(
        "station", title: "Litmus station",
        body: """
            <main class="station">
              <section id="panel" class="panel" aria-label="Station"></section>
              <section class="work">
                <form id="start" class="start" autocomplete="off">
                  <label>Serial <input id="serial" name="serial" maxlength="64" autofocus spellcheck="false"></label>
                  <label>Operator <input id="operator" name="operator" maxlength="64" spellcheck="false"></label>
                  <button id="startButton" type="submit">Start</button>
                  <button id="abortButton" type="button" class="danger" disabled>Abort</button>
                </form>
                <div id="yield" class="yield"></div>
                <p id="message" class="message" role="status"></p>
                <div id="verdict" class="verdict" hidden></div>
                <div id="live" class="live" hidden>
                  <div class="boardline"><span id="boardSerial"></span> <span id="boardState"></span></div>
                  <div class="bar"><div id="bar"></div></div>
                  <div id="estimate" class="estimate"></div>
                  <div class="columns">
                    <ol id="steps" class="steps"></ol>
                    <div class="measure">
                      <div id="vector" class="vector"></div>
                      <table class="table"><thead><tr><th>step</th><th>name</th><th>value</th><th>limit</th><th>verdict</th><th>pin</th><th>instrument</th></tr></thead>
                      <tbody id="measurements"></tbody></table>
                    </div>
                  </div>
                </div>
              </section>
            </main>
            <div id="prompts" class="prompts" hidden></div>
            """)

    static let history = frame(
        "history", title: "Litmus history",
        body: """
            <main class="history">
              <form id="filters" class="filters">
                <label>Serial <input name="serial" maxlength="64"></label>
                <label>Part <input name="part" maxlength="64"></label>
                <label>Outcome <select name="outcome"><option value="">any</option><option>passed</option><option>failed</option><option>errored</option><option>aborted</option><option>done</option><option>running</option></select></label>
                <label>From <input name="from" type="date"></label>
                <label>To <input name="to" type="date"></label>
                <button type="submit">Filter</button>
              </form>
              <p id="message" class="message" role="status"></p>
              <table class="table"><thead><tr><th>started (UTC)</th><th>serial</th><th>part</th><th>operator</th><th>phase</th><th>outcome</th><th>measurements</th><th>failed</th></tr></thead>
              <tbody id="runs"></tbody></table>
              <p id="more" class="note" hidden>Only the newest 200 runs are listed: narrow the filters.</p>
            </main>
            """)

    static let login = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Litmus sign-in</title><link rel="stylesheet" href="/app.css"></head>
        <body data-page="login">
        <main class="login">
          <h1>Litmus station</h1>
          {{message}}
          <form method="post" action="/login">
            <label>Token <input name="token" type="password" autofocus autocomplete="current-password"></label>
            <button type="submit">Sign in</button>
          </form>
          <p class="note">The token was printed once when <code>litmus serve</code> started, or is in the users file.</p>
        </main>
        </body>
        </html>
        """

    static let style = #"""
        :root { --pass: #1a7f37; --fail: #cf222e; --warn: #bf8700; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: #1f2328; background: #fff; }
        header.top { display: flex; gap: 1rem; align-items: center; padding: .4rem 1rem; background: #24292f; color: #fff; }
        header.top a { color: #fff; margin-right: 1rem; }
        .brand { font-size: 1.1rem; }
        .who { margin-left: auto; color: #d0d7de; }
        .conn { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #6e7781; }
        .conn.live { background: var(--pass); }
        main { padding: .8rem 1rem; }
        main.station { display: grid; grid-template-columns: 22rem 1fr; gap: 1rem; }
        @media (max-width: 1000px) { main.station { grid-template-columns: 1fr; } }
        .panel { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .6rem; font-size: .9rem; }
        .panel h2 { margin: .2rem 0 .4rem; font-size: 1.1rem; }
        .panel table { width: 100%; border-collapse: collapse; }
        .panel td { padding: .15rem .25rem; border-top: 1px solid var(--line); vertical-align: top; }
        .badge { display: inline-block; padding: 0 .4rem; border-radius: .6rem; font-size: .75rem; background: #ddf4ff; }
        .badge.mock { background: #fff8c5; color: #7d4e00; font-weight: bold; }
        .cal-valid { color: var(--pass); } .cal-due_soon { color: var(--warn); font-weight: bold; } .cal-expired { color: var(--fail); font-weight: bold; } .cal-unknown { color: var(--muted); }
        .start { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; }
        .start label, .filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
        input, select, button { font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; min-height: 2.6rem; }
        #serial { font-size: 1.3rem; width: 16rem; }
        button { background: #1f6feb; color: #fff; border: 0; cursor: pointer; min-width: 6rem; }
        button.danger { background: var(--fail); }
        button:disabled { background: #8c959f; cursor: default; }
        .message { min-height: 1.4rem; margin: .3rem 0; }
        .message.error, .error { color: var(--fail); }
        .verdict { border-radius: 8px; padding: .6rem 1rem; margin: .4rem 0; color: #fff; }
        .verdict .word { font-size: 3.5rem; font-weight: 800; letter-spacing: .1em; }
        .verdict.passed, .verdict.done { background: var(--pass); }
        .verdict.failed { background: var(--fail); }
        .verdict.errored, .verdict.aborted, .verdict.terminated { background: var(--warn); }
        .verdict ul { margin: .3rem 0; }
        .verdict a, .verdict .note { color: #fff; }
        .boardline { font-size: 1.2rem; font-weight: 600; }
        .bar { height: .8rem; background: var(--bg); border: 1px solid var(--line); border-radius: .4rem; overflow: hidden; }
        .bar div { height: 100%; width: 0; background: #1f6feb; transition: width .2s; }
        .estimate { color: var(--muted); font-size: .9rem; }
        .columns { display: grid; grid-template-columns: 16rem 1fr; gap: .8rem; }
        @media (max-width: 700px) { .columns { grid-template-columns: 1fr; } }
        .steps { margin: .3rem 0; padding-left: 1.4rem; }
        .steps li { padding: .1rem 0; }
        .steps li.running { font-weight: 600; }
        .vector { color: var(--muted); margin: .3rem 0; }
        .table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        .table th, .table td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); }
        .measure { max-height: 28rem; overflow: auto; }
        .o-passed, .o-done { color: var(--pass); } .o-failed { color: var(--fail); font-weight: 600; } .o-errored, .o-aborted { color: var(--warn); font-weight: 600; } .o-skipped { color: var(--muted); }
        .yield { margin-top: .4rem; font-size: 1rem; font-weight: 600; }
        .prompts { position: fixed; inset: 0; background: rgba(31,35,40,.45); display: flex; flex-wrap: wrap; align-items: center; justify-content: center; gap: 1rem; padding: 1rem; }
        .prompt { background: #fff; border-radius: 8px; padding: 1rem 1.2rem; width: min(32rem, 95vw); box-shadow: 0 8px 24px rgba(0,0,0,.3); }
        .prompt h2 { margin: 0 0 .6rem; font-size: 1.3rem; }
        .prompt img { max-width: 100%; max-height: 40vh; display: block; margin: .4rem 0; }
        .prompt .buttons { display: flex; flex-wrap: wrap; gap: .6rem; margin-top: .8rem; }
        .prompt .countdown { color: var(--warn); font-weight: 600; }
        .filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: .6rem; }
        .note { color: var(--muted); }
        .login { max-width: 26rem; margin: 3rem auto; }
        .login form { display: flex; flex-direction: column; gap: .6rem; }
        """#

    static let script = #"""
        "use strict";
        // The web screen of `litmus serve`. State comes from the server (GET /api/state on
        // connect, then server-sent events from /api/events); every value is put in as text.
        const csrf = document.querySelector('meta[name="csrf"]').content;
        const $ = (id) => document.getElementById(id);
        function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
        function post(url, body) {
          return fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body || {}), credentials: "same-origin" })
            .then(async (r) => { const j = await r.json().catch(() => ({})); if (!r.ok) throw new Error(j.error || ("HTTP " + r.status)); return j; });
        }
        function fmt(v) { return v === undefined || v === null ? "" : String(v); }
        function limitText(m) {
          if (m.low !== undefined && m.high !== undefined) return "[" + m.low + ", " + m.high + "]";
          if (m.high !== undefined) return "<= " + m.high;
          if (m.low !== undefined) return ">= " + m.low;
          return "no limit";
        }
        const word = { passed: "PASS", done: "PASS", failed: "FAIL", errored: "ERROR", aborted: "ABORTED", terminated: "ABORTED", skipped: "SKIPPED" };

        // ---- The station screen ----
        const S = { station: null, board: null, prompts: {}, yield: null, testing: false, offset: 0 };
        let pendingRows = [];

        function connect() {
          const es = new EventSource("/api/events");
          es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn live"; };
          es.onerror = () => { $("conn").textContent = "reconnecting"; $("conn").className = "conn"; };
          const on = (type, f) => es.addEventListener(type, (e) => f(JSON.parse(e.data)));
          on("state", (d) => {
            S.station = d.station; S.board = d.board || null; S.testing = d.testing; S.yield = d.yield; S.offset = d.now - Date.now();
            S.prompts = {}; for (const p of d.prompts) S.prompts[p.id] = p;
            renderPanel(); renderBoard(true); renderPrompts(); renderYield();
          });
          on("board", (b) => { S.board = b; S.testing = true; $("message").textContent = ""; renderBoard(true); });
          on("run", (r) => { if (S.board) { S.board.run_id = r.run_id; S.board.started_at = r.started_at; } });
          on("expected", (x) => { if (S.board) { S.board.expected_steps = x.expected_steps; S.board.expected_seconds = x.expected_seconds; } });
          on("step", (s) => {
            if (!S.board) return;
            const i = S.board.steps.findIndex((t) => t.path === s.path && t.index === s.index);
            if (i >= 0) S.board.steps[i] = s; else S.board.steps.push(s);
            renderSteps();
          });
          on("vector", (v) => { if (S.board) { S.board.vector = v; renderVector(); } });
          on("measurement", (m) => {
            if (!S.board) return;
            S.board.measurements.push(m); S.board.measurement_total = m.total;
            if (S.board.measurements.length > 500) S.board.measurements.shift();
            pendingRows.push(m);
            if (pendingRows.length === 1) requestAnimationFrame(flushRows);
          });
          on("verdict", (v) => { if (S.board) S.board.verdict = v; S.testing = false; S.yield = v.yield; renderBoard(false); renderYield(); focusSerial(); });
          on("prompt", (p) => { S.prompts[p.id] = p; renderPrompts(); });
          on("prompt_closed", (c) => {
            const p = S.prompts[c.id]; delete S.prompts[c.id]; renderPrompts();
            if (p) $("message").textContent = "prompt \u201c" + p.message + "\u201d " + (c.response === "answered" ? "answered " + fmt(c.value) + " by " + c.source : c.response.replace("_", " "));
            focusSerial();
          });
          on("note", (n) => { $("message").textContent = n.text; });
        }

        function renderPanel() {
          const st = S.station, p = $("panel"); p.replaceChildren();
          p.append(el("h2", "Station " + st.id));
          const facts = el("table");
          const row = (k, v) => { const tr = el("tr"); tr.append(el("td", k), el("td", v)); facts.append(tr); };
          row("phase", st.phase); row("file", st.file);
          if (st.sequence) row("sequence", st.sequence);
          if (st.serial_pattern) row("serials", st.serial_pattern);
          row("test", st.command);
          p.append(facts);
          p.append(el("h2", "Instruments"));
          const t = el("table");
          for (const r of st.roles) {
            const tr = el("tr"); tr.dataset.role = r.role;
            const name = el("td"); name.append(el("b", r.role));
            if (r.mocked) { name.append(" "); name.append(el("span", "MOCK", "badge mock")); }
            const what = el("td"); what.append(el("div", r.driver + " \u00b7 " + r.resource));
            if (r.identity) what.append(el("div", r.identity, "note"));
            const cal = el("div", r.calibration_due ? "calibration due " + r.calibration_due + (r.calibration_days !== undefined ? " (" + (r.calibration_days >= 0 ? r.calibration_days + " days left" : -r.calibration_days + " days overdue") + ")" : "") : "calibration: not recorded", "cal-" + r.calibration);
            what.append(cal);
            tr.append(name, what); t.append(tr);
          }
          p.append(t);
          for (const w of st.warnings) p.append(el("p", "warning: " + w, "error"));
          if (!$("operator").value && st.operator) $("operator").value = st.operator;
        }

        function renderBoard(full) {
          const b = S.board;
          $("abortButton").disabled = !S.testing;
          if (!b) { $("live").hidden = true; $("verdict").hidden = true; return; }
          $("live").hidden = false;
          $("boardSerial").textContent = b.serial + (b.operator ? " \u00b7 " + b.operator : "");
          $("boardState").textContent = b.verdict ? b.verdict.outcome : (b.started_here === false ? "running (from the event log)" : "testing");
          renderSteps(); renderVector();
          if (full) { $("measurements").replaceChildren(); pendingRows = []; for (const m of b.measurements.slice(-200)) addRow(m); }
          const v = $("verdict");
          if (b.verdict) {
            v.hidden = false; v.className = "verdict " + b.verdict.outcome; v.replaceChildren();
            v.append(el("div", word[b.verdict.outcome] || b.verdict.outcome.toUpperCase(), "word"));
            v.append(el("div", b.serial + ": " + b.verdict.outcome + (b.verdict.reason ? " (" + b.verdict.reason + ")" : "")));
            if (b.verdict.failures.length) {
              v.append(el("div", "Failing measurements:"));
              const ul = el("ul");
              for (const f of b.verdict.failures) ul.append(el("li", f.step + " " + f.name + " = " + f.value + ", limit " + f.limit + " " + f.outcome + (f.pin ? ", pin " + f.pin : "") + (f.instrument ? ", " + f.instrument : "") + (f.attempt > 1 ? ", attempt " + f.attempt : "")));
              v.append(ul);
            }
            for (const s of b.verdict.skipped) v.append(el("div", "skipped " + s.path + ": " + fmt(s.reason)));
            if (b.verdict.run_id) { const a = el("a", "Open the run page"); a.href = "/runs/" + b.verdict.run_id; a.id = "runLink"; v.append(a); }
            v.append(el("div", "Ready for the next serial.", "note"));
          } else {
            v.hidden = true;
          }
          tick();
        }

        function renderSteps() {
          const b = S.board, ol = $("steps"); if (!b) return; ol.replaceChildren();
          b.steps.forEach((s, i) => {
            const running = !s.outcome && !b.verdict;
            const li = el("li", s.name + (s.role && s.role !== "main" ? " (" + s.role + ")" : "") + " \u2014 " + (s.outcome || (running ? "running" : "?")), running ? "running" : "o-" + s.outcome);
            li.dataset.outcome = s.outcome || "running"; ol.append(li);
          });
        }
        function renderVector() {
          const v = S.board && S.board.vector;
          $("vector").textContent = v && !S.board.verdict ? "vector " + (v.index + 1) + (v.retry ? " attempt " + (v.retry + 1) : "") + " of " + v.step + (v.params ? ": " + v.params : "") : "";
        }
        function addRow(m) {
          const tr = el("tr"); tr.className = "o-" + m.outcome; tr.dataset.name = m.name;
          tr.append(el("td", m.step), el("td", m.name), el("td", m.text + (m.unit ? " " + m.unit : "")), el("td", limitText(m)), el("td", m.outcome), el("td", fmt(m.pin)), el("td", fmt(m.instrument) + (m.channel ? " ch " + m.channel : "")));
          const body = $("measurements"); body.prepend(tr);
          while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
        }
        function flushRows() { const rows = pendingRows; pendingRows = []; for (const m of rows) addRow(m); tick(); }

        function tick() {
          const b = S.board; if (!b) return;
          const now = Date.now() + S.offset;
          const elapsed = b.started_at ? Math.max(0, (now - b.started_at) / 1000) : 0;
          let fraction = 0;
          if (b.verdict) fraction = 1;
          else if (b.expected_seconds) fraction = Math.min(0.99, elapsed / b.expected_seconds);
          else if (b.expected_steps) fraction = Math.min(0.99, b.steps.length / b.expected_steps);
          $("bar").style.width = (fraction * 100).toFixed(1) + "%";
          const n = b.expected_steps ? "/" + Math.max(b.expected_steps, b.steps.length) : "";
          $("estimate").textContent = b.verdict ? b.steps.length + " steps, " + b.measurement_total + " measurements" :
            "step " + b.steps.length + n + " \u00b7 " + b.measurement_total + " measurements \u00b7 " + elapsed.toFixed(1) + " s" + (b.expected_seconds ? " / ~" + b.expected_seconds.toFixed(1) + " s" : "");
          for (const id in S.prompts) {
            const p = S.prompts[id], c = document.querySelector('[data-prompt="' + CSS.escape(id) + '"] .countdown');
            if (c && p.deadline) c.textContent = Math.max(0, Math.ceil((p.deadline - now) / 1000)) + " s left";
          }
        }

        function renderPrompts() {
          const box = $("prompts"), ids = Object.keys(S.prompts);
          box.hidden = ids.length === 0;
          for (const card of Array.from(box.children)) if (!S.prompts[card.dataset.prompt]) card.remove();
          for (const id of ids) {
            if (box.querySelector('[data-prompt="' + CSS.escape(id) + '"]')) continue;
            const p = S.prompts[id];
            const card = el("div", null, "prompt"); card.dataset.prompt = id; card.setAttribute("role", "dialog"); card.setAttribute("aria-modal", "true");
            card.append(el("h2", p.message));
            if (p.serial) card.append(el("div", "board " + p.serial, "note"));
            if (p.image) { const img = el("img"); img.src = p.image; img.alt = p.message; card.append(img); }
            if (p.image_problem) card.append(el("div", p.image_problem, "error"));
            if (p.deadline) card.append(el("div", "", "countdown"));
            const buttons = el("div", null, "buttons"), err = el("div", "", "error");
            const send = (value) => post("/api/prompts/" + encodeURIComponent(id), { value: value, operator: $("operator").value }).catch((e) => { err.textContent = e.message; });
            if (p.kind === "confirm") {
              const yes = el("button", "Yes"); yes.type = "button"; yes.dataset.answer = "yes"; yes.onclick = () => send("yes");
              const no = el("button", "No", "danger"); no.type = "button"; no.dataset.answer = "no"; no.onclick = () => send("no");
              buttons.append(yes, no);
            } else if (p.kind === "choice") {
              for (const c of p.choices) { const b = el("button", c); b.type = "button"; b.dataset.answer = c; b.onclick = () => send(c); buttons.append(b); }
            } else {
              const form = el("form"); const input = el("input"); input.maxLength = 4096; input.name = "answer";
              const ok = el("button", "Send"); ok.type = "submit"; form.append(input, ok);
              form.onsubmit = (e) => { e.preventDefault(); send(input.value); };
              buttons.append(form); setTimeout(() => input.focus(), 0);
            }
            card.append(buttons, err); box.append(card);
          }
          tick();
        }

        function renderYield() {
          const y = S.yield; if (!y) return;
          const pct = y.tested ? (100 * y.passed / y.tested).toFixed(1) + "%" : "-";
          $("yield").textContent = "Today (" + y.day + "): " + y.tested + " tested \u00b7 " + y.passed + " passed \u00b7 " + y.failed + " failed \u00b7 yield " + pct;
        }

        function focusSerial() { if (!Object.keys(S.prompts).length) $("serial").focus(); }

        function stationPage() {
          connect();
          $("operator").value = localStorage.getItem("litmus.operator") || "";
          $("start").onsubmit = (e) => {
            e.preventDefault();
            const serial = $("serial").value.trim(), operator = $("operator").value.trim();
            localStorage.setItem("litmus.operator", operator);
            $("message").className = "message";
            post("/api/start", { serial: serial, operator: operator })
              .then(() => { $("serial").value = ""; })
              .catch((err) => { $("message").className = "message error"; $("message").textContent = err.message; $("serial").select(); });
            focusSerial();
          };
          $("abortButton").onclick = () => post("/api/abort", { operator: $("operator").value }).catch((err) => { $("message").textContent = err.message; });
          // The serial field keeps the focus (a barcode scanner types into it and presses
          // Enter), except while the operator uses another field or a prompt.
          $("serial").addEventListener("blur", () => setTimeout(() => {
            const a = document.activeElement;
            if (!a || a === document.body) focusSerial();
          }, 0));
          setInterval(tick, 250);
        }

        // ---- History ----
        function historyPage() {
          $("conn").hidden = true;
          const form = $("filters");
          const params = new URLSearchParams(location.search);
          for (const [k, v] of params) if (form.elements[k]) form.elements[k].value = v;
          // The first load takes the filters from the address as written (the server checks them).
          const load = (fromAddress) => {
            const q = new URLSearchParams();
            for (const k of ["serial", "part", "outcome", "from", "to"]) {
              const v = fromAddress ? params.get(k) : form.elements[k].value;
              if (v) q.set(k, v);
            }
            window.history.replaceState(null, "", "/history" + (q.toString() ? "?" + q : ""));
            fetch("/api/history?" + q, { credentials: "same-origin" }).then(async (r) => {
              const j = await r.json();
              if (!r.ok) { $("message").className = "message error"; $("message").textContent = j.error; return; }
              $("message").textContent = j.runs.length + " run(s)"; $("message").className = "message";
              const body = $("runs"); body.replaceChildren();
              for (const run of j.runs) {
                const tr = el("tr"), a = el("a", run.serial); a.href = "/runs/" + run.run_id;
                const serial = el("td"); serial.append(a);
                tr.append(el("td", fmt(run.started_at).replace("T", " ").slice(0, 19)), serial, el("td", fmt(run.part)), el("td", fmt(run.operator)), el("td", fmt(run.phase)), el("td", run.outcome, "o-" + run.outcome), el("td", run.measurements), el("td", run.failed));
                body.append(tr);
              }
              $("more").hidden = !j.more;
            });
          };
          form.onsubmit = (e) => { e.preventDefault(); load(false); };
          load(true);
        }

        const page = document.body.dataset.page;
        if (page === "station") stationPage(); else if (page === "history") historyPage();
        """#
}
