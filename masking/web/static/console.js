// Click-to-call: start the call over the API and follow its status (server-sent events,
// with polling as a fallback).
(function () {
  "use strict";
  var button = document.getElementById("call");
  if (!button) return;
  var errors = JSON.parse(document.body.dataset.errors || "{}");
  var statuses = JSON.parse(document.body.dataset.statuses || "{}");
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var box = document.getElementById("call-status");
  var text = document.getElementById("call-status-text");

  function show(status, disposition) {
    box.hidden = false;
    var label = statuses[status] || status;
    if (status === "ended" && disposition) label += ": " + (statuses[disposition] || disposition);
    text.textContent = label;
    box.dataset.status = status;
    box.dataset.disposition = disposition || "";
    if (status === "ended") button.disabled = false;
  }
  function fail(code) {
    box.hidden = false;
    text.textContent = errors[code] || errors.internal;
    box.dataset.status = "error";
    button.disabled = false;
  }
  function poll(id) {
    fetch("/api/v1/calls/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (c) {
        show(c.status, c.disposition);
        if (c.status !== "ended") setTimeout(function () { poll(id); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(id); }, 2000); });
  }
  function follow(id) {
    if (!window.EventSource) return poll(id);
    var source = new EventSource("/api/v1/calls/" + id + "/events");
    source.addEventListener("status", function (event) {
      var data = JSON.parse(event.data);
      show(data.status, data.disposition);
      if (data.status === "ended") source.close();
    });
    source.onerror = function () {
      if (box.dataset.status !== "ended") { source.close(); poll(id); }
    };
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    show("deciding", "");
    var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    fetch(button.dataset.url || "/api/v1/calls", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Idempotency-Key": key },
      // an appeal's button names its own endpoint; the item search sends shipment + reason
      body: button.dataset.url ? "{}" : JSON.stringify({ shipment: button.dataset.shipment, reason: button.dataset.reason })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) return fail((body.error || {}).code || "internal");
        box.dataset.call = body.id;
        show(body.status, body.disposition);
        follow(body.id);
      });
    }).catch(function () { fail("unavailable"); });
  });
})();
