// The attempt page: one question at a time or all on one page, a countdown on
// the server's clock, a question navigator, autosave with retries, submit with
// a confirmation, auto-submit at the deadline. The page is rendered by the
// server with the saved answers, so a reload or another device shows the same
// attempt; this file only talks to the JSON API (/api/v1).
(function () {
  "use strict";

  var root = document.getElementById("attempt");
  if (!root) return;

  var form = document.getElementById("attempt-form");
  var questions = Array.prototype.slice.call(root.querySelectorAll(".question"));
  var navLinks = Array.prototype.slice.call(root.querySelectorAll(".nav-q"));
  var stateEl = root.querySelector(".save-state");
  var timerEl = root.querySelector(".timer");
  var dialog = document.getElementById("confirm-submit");
  var predictionInput = document.getElementById("prediction-input");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var data = root.dataset;
  var text = document.getElementById("quiz-text").dataset; // the page's words, in Vietnamese

  var DEBOUNCE_MS = 800;
  var PERIODIC_MS = 30000;
  var MAX_BACKOFF_MS = 30000;
  var MODE_KEY = "portal.quiz.mode";
  var PENDING_KEY = "portal.quiz.pending." + data.attemptId;

  var startedAt = Date.parse(data.startedAt);
  var deadline = data.deadline ? Date.parse(data.deadline) : null;
  var offset = Date.parse(data.serverNow) - Date.now(); // server clock minus ours
  var lastSeq = parseInt(data.seq, 10) || 0; // highest seq we sent
  var savedSeq = lastSeq; // highest seq the server has
  var dirty = false;
  var held = {}; // {position: answer as JSON} the server has, as far as this page knows: a save sends the rest
  var saving = null; // the in-flight save (a Promise)
  var debounceTimer = null;
  var retryTimer = null;
  var backoff = 2000;
  var finished = false;
  var submitting = false;
  var current = 0;

  function serverNow() { return Date.now() + offset; }

  function syncClock(iso) {
    var t = Date.parse(iso);
    if (!isNaN(t)) offset = t - Date.now();
  }

  // ------------------------------------------------------------ answers

  function answerOf(fieldset) {
    var inputs = fieldset.querySelectorAll("input, textarea");
    var kind = fieldset.dataset.kind;
    if (kind === "text") {
      var area = fieldset.querySelector("textarea");
      return area && area.value.trim() ? area.value : null;
    }
    var chosen = [];
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].checked) chosen.push(inputs[i].value);
    }
    return chosen.length ? chosen : null;
  }

  // The prediction as typed ("1.250" is fine): "" when empty, false when it is no whole number,
  // undefined when the quiz asks none. The server checks it again.
  function prediction() {
    if (!predictionInput) return undefined;
    var value = predictionInput.value.trim();
    var ok = value === "" || /^\d{1,3}([., ]\d{3})*$|^\d{1,10}$/.test(value);
    var error = document.getElementById("prediction-error");
    if (error) error.hidden = ok;
    predictionInput.setAttribute("aria-invalid", ok ? "false" : "true");
    return ok ? value : false;
  }

  function withPrediction(body) {
    var value = prediction();
    if (value !== undefined && value !== false) body.prediction = value === "" ? null : value;
    return body;
  }

  function collect() {
    var answers = {};
    questions.forEach(function (q) {
      var a = answerOf(q);
      answers[q.dataset.position] = a === null ? (q.dataset.kind === "text" ? "" : []) : a;
    });
    return answers;
  }

  function apply(answers) {
    questions.forEach(function (q) {
      var a = answers[q.dataset.position];
      if (q.dataset.kind === "text") {
        var area = q.querySelector("textarea");
        if (area) area.value = typeof a === "string" ? a : "";
      } else {
        var ids = Array.isArray(a) ? a.map(String) : [];
        q.querySelectorAll("input").forEach(function (input) { input.checked = ids.indexOf(input.value) >= 0; });
      }
    });
    refreshNavigator();
  }

  function hold(answers) {
    Object.keys(answers).forEach(function (position) { held[position] = JSON.stringify(answers[position]); });
  }

  // The answers that differ from those the server has: what a save sends (a save is one or two answers,
  // not the whole attempt, on a phone's connection).
  function unsent(answers) {
    var changes = {};
    Object.keys(answers).forEach(function (position) {
      if (held[position] !== JSON.stringify(answers[position])) changes[position] = answers[position];
    });
    return changes;
  }

  function unanswered() {
    return questions.filter(function (q) { return answerOf(q) === null; })
      .map(function (q) { return q.dataset.number; });
  }

  function refreshNavigator() {
    questions.forEach(function (q, i) {
      var answered = answerOf(q) !== null;
      q.classList.toggle("is-answered", answered);
      var link = navLinks[i];
      if (link) {
        link.classList.toggle("answered", answered);
        link.classList.toggle("current", i === current && root.classList.contains("mode-one"));
        link.setAttribute("aria-label", link.dataset.label + " – " + (answered ? text.answered : text.unanswered));
      }
    });
    var count = root.querySelector(".answered-count");
    if (count) count.textContent = String(questions.length - unanswered().length);
  }

  // ------------------------------------------------------------ saving

  function setState(name) {
    if (!stateEl) return;
    stateEl.dataset.state = name;
    stateEl.textContent = text[name];
  }

  function nextSeq() {
    // Tenths of a second since the start, on the server's clock: a later
    // change always carries a higher number, from any tab or device.
    var seq = Math.max(lastSeq + 1, Math.floor((serverNow() - startedAt) / 100));
    lastSeq = seq;
    return seq;
  }

  function remember(seq, answers, predicted) {
    try {
      localStorage.setItem(PENDING_KEY, JSON.stringify({ seq: seq, answers: answers, prediction: predicted }));
    } catch (e) { /* private mode */ }
  }

  function forget() {
    try { localStorage.removeItem(PENDING_KEY); } catch (e) { /* private mode */ }
  }

  function request(method, url, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrfMeta) headers["X-CSRFToken"] = csrfMeta.content;
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var error = new Error(json.error || response.statusText);
          error.status = response.status;
          throw error;
        }
        return json;
      });
    });
  }

  function changed() {
    dirty = true;
    refreshNavigator();
    setState("saving");
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(save, DEBOUNCE_MS);
  }

  // Send the current answers; resolves when the server has them (or refused them for good).
  function save() {
    clearTimeout(debounceTimer);
    if (finished) return Promise.resolve();
    if (saving) {
      return saving.then(function () { return dirty ? save() : null; });
    }
    if (!dirty) return Promise.resolve();
    dirty = false;
    var seq = nextSeq();
    var answers = collect();
    var changes = unsent(answers);
    var body = withPrediction({ seq: seq, answers: changes });
    remember(seq, answers, body.prediction);
    setState("saving");
    saving = request("PUT", data.answersUrl, body).then(function (json) {
      saving = null;
      backoff = 2000;
      if (json.server_now) syncClock(json.server_now);
      if (json.deadline_at !== undefined) deadline = json.deadline_at ? Date.parse(json.deadline_at) : null;
      savedSeq = Math.max(savedSeq, json.seq || seq);
      if (json.seq) lastSeq = Math.max(lastSeq, json.seq);
      if (json.applied) hold(changes);
      else if (json.answers) {
        held = {};
        hold(json.answers); // the next save sends what differs from these
        if (!dirty) {
          // Another tab or device saved newer answers: show those.
          apply(json.answers);
          notice(text.newer);
        }
      }
      forget();
      setState(dirty ? "saving" : "saved");
      if (dirty) return save();
    }, function (error) {
      saving = null;
      dirty = true;
      return failed(error);
    });
    return saving;
  }

  function retryLater(what) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(what, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }

  function failed(error) {
    if (error.status === 409) { return over(error.message); }
    if (error.status === 401) {
      // Logging in again in another tab brings the session back: keep trying.
      setState("loggedOut");
      return retryLater(save);
    }
    if (error.status === 422 || error.status === 403 || error.status === 404 || error.status === 400) {
      // Kept in this browser (localStorage) and sent again after a reload.
      setState("refused");
      notice(error.message);
      return;
    }
    // Network loss or a server hiccup: keep the answers and try again, more slowly each time.
    setState("offline");
    retryLater(save);
  }

  function notice(message) {
    var box = root.querySelector(".attempt-notice");
    if (!box || !message) return;
    box.textContent = message;
    box.hidden = false;
  }

  // The attempt is over (submitted elsewhere, or time is up): show the result.
  function over(message) {
    if (finished) return;
    finished = true;
    forget();
    notice(message || text.over);
    window.location.assign(data.resultUrl);
  }

  // ------------------------------------------------------------ submitting

  function submit(auto) {
    if (finished || submitting) return Promise.resolve();
    submitting = true;
    setState("submitting");
    var flush = dirty || saving ? save() : Promise.resolve();
    return flush.then(function () {
      // A member who presses Submit never loses answers the server has not got; at the
      // deadline the server takes what it has.
      if (dirty && !auto) return Promise.reject({ unsaved: true });
      return request("POST", data.submitUrl, withPrediction({}));
    }).then(function () {
      finished = true;
      forget();
      window.location.assign(data.resultUrl);
    }, function (error) {
      submitting = false;
      if (error.unsaved) return; // the save state already says why
      if (error.status === 409) return over(error.message);
      if (auto && !error.status) {
        // Offline at the deadline: keep trying (the server also finalises on the saved answers).
        setState("offline");
        return retryLater(function () { submit(true); });
      }
      failed(error);
    });
  }

  function askToSubmit(event) {
    event.preventDefault();
    if (prediction() === false) {
      predictionInput.focus();
      return;
    }
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(text.confirm)) submit(false);
      return;
    }
    var missing = unanswered();
    var list = dialog.querySelector(".unanswered");
    var all = dialog.querySelector(".all-answered");
    list.textContent = "";
    missing.forEach(function (number) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "#q" + number;
      a.textContent = text.question.replace("{n}", number);
      a.addEventListener("click", function (e) {
        e.preventDefault();
        dialog.close();
        show(Number(number) - 1, true);
      });
      li.appendChild(a);
      list.appendChild(li);
    });
    list.parentNode.hidden = missing.length === 0;
    all.hidden = missing.length !== 0;
    var noPrediction = dialog.querySelector(".no-prediction");
    if (noPrediction) noPrediction.hidden = prediction() !== "";
    dialog.showModal();
  }

  // ------------------------------------------------------------ time

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    if (deadline === null || !timerEl) return;
    var left = Math.max(0, Math.floor((deadline - serverNow()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    timerEl.textContent = (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s);
    timerEl.classList.toggle("low", left <= 60);
    timerEl.setAttribute("aria-label", text.timeLeft + " " + timerEl.textContent);
    if (left === 0 && !finished) {
      notice(text.timeUp);
      submit(true);
    }
  }

  // ------------------------------------------------------------ layout

  function setMode(mode) {
    root.classList.toggle("mode-one", mode === "one");
    root.classList.toggle("mode-all", mode !== "one");
    var toggle = root.querySelector(".mode-toggle");
    if (toggle) toggle.textContent = mode === "one" ? text.showAll : text.showOne;
    try { localStorage.setItem(MODE_KEY, mode); } catch (e) { /* private mode */ }
    show(current, false);
  }

  function mode() { return root.classList.contains("mode-one") ? "one" : "all"; }

  function show(index, focus) {
    current = Math.max(0, Math.min(questions.length - 1, index));
    questions.forEach(function (q, i) { q.hidden = mode() === "one" && i !== current; });
    var prev = root.querySelector(".prev-q"), next = root.querySelector(".next-q");
    if (prev) prev.disabled = current === 0;
    if (next) next.disabled = current === questions.length - 1;
    var position = root.querySelector(".position");
    if (position) position.textContent = String(current + 1);
    refreshNavigator();
    if (focus && questions[current]) {
      questions[current].scrollIntoView({ block: "start" });
      var legend = questions[current].querySelector(".q-text");
      if (legend) legend.focus({ preventScroll: true });
    }
  }

  // ------------------------------------------------------------ practice

  function check(button) {
    var q = button.closest(".question");
    var box = q.querySelector(".feedback");
    button.disabled = true;
    save().then(function () {
      return request("POST", data.checkUrl.replace(/\/questions\/0\/check$/, "/questions/" + q.dataset.position + "/check"), {});
    }).then(function (json) {
      button.disabled = false;
      box.hidden = false;
      box.className = "feedback " + (json.correct ? "right" : "wrong");
      box.textContent = "";
      var verdict = document.createElement("strong");
      verdict.textContent = json.correct ? text.right : (json.outcome === "partial" ? text.partial : text.wrong);
      box.appendChild(verdict);
      var correct = json.correct_options || [];
      q.querySelectorAll(".option").forEach(function (label) {
        var input = label.querySelector("input");
        label.classList.toggle("is-correct", correct.indexOf(input.value) >= 0);
      });
      if (json.explanation) {
        var p = document.createElement("p");
        p.textContent = json.explanation;
        box.appendChild(p);
      }
      // A checked answer is locked on the server too.
      q.querySelectorAll("input").forEach(function (input) { input.disabled = true; });
      button.hidden = true;
    }, function (error) {
      button.disabled = false;
      if (error.status === 409) return over(error.message);
      box.hidden = false;
      box.className = "feedback wrong";
      box.textContent = error.message;
    });
  }

  // ------------------------------------------------------------ wiring

  form.addEventListener("change", function (event) {
    if (event.target.matches("input")) changed();
  });
  form.addEventListener("input", function (event) {
    if (event.target.matches("textarea") || event.target === predictionInput) changed();
  });
  form.addEventListener("submit", askToSubmit);
  root.addEventListener("click", function (event) {
    var link = event.target.closest(".nav-q");
    if (link) {
      event.preventDefault();
      show(navLinks.indexOf(link), true);
      return;
    }
    if (event.target.closest(".prev-q")) show(current - 1, true);
    else if (event.target.closest(".next-q")) show(current + 1, true);
    else if (event.target.closest(".mode-toggle")) setMode(mode() === "one" ? "all" : "one");
    else if (event.target.closest(".check-answer")) check(event.target.closest(".check-answer"));
  });
  if (dialog) {
    dialog.querySelector(".confirm").addEventListener("click", function () { dialog.close(); submit(false); });
    dialog.querySelector(".cancel").addEventListener("click", function () { dialog.close(); });
  }
  window.addEventListener("online", function () { if (dirty) { backoff = 2000; save(); } });
  window.addEventListener("pagehide", function () {
    if (dirty && !finished) remember(nextSeq(), collect());
  });
  // At least every 30 s: send what is unsaved, or else ask the server how things stand, which
  // shows a lost connection, keeps the clock in step and picks up a submit from another device.
  setInterval(function () {
    if (finished || submitting || saving) return;
    if (dirty) save(); else sync();
  }, PERIODIC_MS);

  hold(collect()); // the page shows the answers the server has

  // Answers this browser could not send before a reload or a lost connection.
  try {
    var pending = JSON.parse(localStorage.getItem(PENDING_KEY) || "null");
    if (pending && pending.seq > savedSeq) {
      apply(pending.answers);
      if (predictionInput && pending.prediction !== undefined) predictionInput.value = pending.prediction || "";
      lastSeq = Math.max(lastSeq, pending.seq);
      dirty = true;
      save();
    } else {
      forget();
    }
  } catch (e) { /* private mode or junk */ }

  var stored = null;
  try { stored = localStorage.getItem(MODE_KEY); } catch (e) { /* private mode */ }
  root.classList.add("js");
  setMode(stored === "all" ? "all" : "one");
  refreshNavigator();
  if (!dirty) setState("saved");
  tick();
  setInterval(tick, 1000);

  // The server's word on the attempt: its clock, its deadline, answers saved from elsewhere.
  function sync() {
    return request("GET", data.attemptUrl).then(function (json) {
      if (json.server_now) syncClock(json.server_now);
      if (json.state === "finished") return over();
      if (json.deadline_at !== undefined) deadline = json.deadline_at ? Date.parse(json.deadline_at) : null;
      if (!dirty && !saving && json.answers && json.seq >= savedSeq) {
        if (json.seq > savedSeq) notice(text.newer);
        savedSeq = json.seq;
        lastSeq = Math.max(lastSeq, json.seq);
        apply(json.answers);
        held = {};
        hold(json.answers);
      }
      if (!dirty && !saving) setState("saved");
      tick();
    }, function (error) {
      if (error.status === 409 || error.status === 404) return over(error.message);
      if (!error.status) setState("offline");
    });
  }

  // The page may come from the back-forward cache or be stale: take the server's word.
  sync();
  window.addEventListener("pageshow", function (event) { if (event.persisted) window.location.reload(); });
})();
