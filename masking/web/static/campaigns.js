// A campaign's page keeps itself live: every few seconds the same page is fetched and its
// worklist and dial-session panel swapped in, so a new order (or a new "why not now")
// appears without a reload; the panel is left alone while a note is being typed.
// The Call buttons of the rows and "Call the next one" start a masked call over the API
// and follow its status. Without JavaScript the page still works; it is simply not live.
(function () {
  "use strict";
  var worklist = document.getElementById("worklist");
  if (!worklist || !window.fetch || !window.DOMParser) return;
  var errors = JSON.parse(document.body.dataset.errors || "{}");
  var statuses = JSON.parse(document.body.dataset.statuses || "{}");
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var box = document.getElementById("call-status");
  var text = document.getElementById("call-status-text");
  var timer = null;

  function typing(live) {
    var note = live && live.querySelector("textarea");
    return note && (note.value.trim() !== "" || document.activeElement === note);
  }
  function swap(id, fresh) {
    var old = document.getElementById(id);
    var next = fresh.getElementById(id);
    if (!old || !next || (id === "session-live" && typing(old))) return;
    old.innerHTML = next.innerHTML;
    for (var key in next.dataset) old.dataset[key] = next.dataset[key];
  }
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        swap("worklist", fresh);
        swap("session-live", fresh);
      })
      .catch(function () {})
      .then(schedule);
  }
  function schedule(seconds) {
    clearTimeout(timer);
    var wait = typeof seconds === "number" ? seconds : parseInt(worklist.dataset.live || "10", 10);
    timer = setTimeout(refresh, wait * 1000);
  }

  function show(status, disposition) {
    box.hidden = false;
    var label = statuses[status] || status;
    if (status === "ended" && disposition) label += ": " + (statuses[disposition] || disposition);
    text.textContent = label;
    box.dataset.status = status;
    box.dataset.disposition = disposition || "";
  }
  function fail(code, detail) {
    box.hidden = false;
    text.textContent = (errors[code] || errors.internal || code).replace("{detail}", detail || "");
    box.dataset.status = "error";
    box.dataset.code = code;
  }
  function poll(id, button) {
    fetch("/api/v1/calls/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (c) {
        show(c.status, c.disposition);
        if (c.status !== "ended") setTimeout(function () { poll(id, button); }, 1000);
        else { if (button) button.disabled = false; schedule(0.5); }
      })
      .catch(function () { setTimeout(function () { poll(id, button); }, 2000); });
  }
  function call(button) {
    button.disabled = true;
    show("deciding", "");
    var row = button.closest ? button.closest("tr") : null;
    var why = row ? (row.querySelector(".why") || {}).textContent : "";
    var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Idempotency-Key": key },
      body: "{}"
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) {
          button.disabled = false;
          schedule(0.5);
          return fail((body.error || {}).code || "internal", why || (body.error || {}).message);
        }
        box.dataset.call = body.id;
        box.dataset.order = body.order;
        show(body.status, body.disposition);
        poll(body.id, button);
      });
    }).catch(function () { button.disabled = false; fail("unavailable"); });
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && (target.id === "next" || (target.classList && target.classList.contains("call-order")))) {
      event.preventDefault();
      call(target);
    }
  });
  schedule();
})();
