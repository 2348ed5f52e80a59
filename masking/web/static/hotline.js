// The hotline's screen pop stays live: GET /api/v1/hotline/pop every 1-2 s; when what it
// says differs from what the page shows (another call popped, a try counted, the caller
// identified, the call ended...), the page is fetched again and its pop swapped in. A new
// call is swapped in at once; otherwise the pop is left alone while the agent types in
// it. The conversation's time runs on the page. Without JavaScript the page still works
// (reload it); it is simply not live.
(function () {
  "use strict";
  var pop = document.getElementById("pop");
  if (!pop || !window.fetch || !window.DOMParser) return;
  var every = Math.max(1, parseFloat(pop.dataset.poll || "1.5")) * 1000;
  var timer = null;

  function signature(c) {
    if (!c) return "none";
    var flags = [c.identified, c.voice_mismatch, c.opened, c.live, c.may_confirm];
    return [c.id, String(c.tries)].concat(flags.map(function (f) { return f ? "1" : "0"; })).join("|");
  }
  function contactOf(sig) { return (sig || "none").split("|")[0]; }
  function typing() {
    var fields = pop.querySelectorAll("input:not([type=hidden]), textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (document.activeElement === f) return true;
      if (f.tagName !== "SELECT" && f.value.trim() !== "") return true;
    }
    return false;
  }
  function swap(wanted) {
    return fetch(window.location.pathname, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("pop");
        if (!fresh) return;
        pop.innerHTML = fresh.innerHTML;
        pop.dataset.signature = fresh.dataset.signature || wanted;
        start();
        tick();
      });
  }
  function check() {
    fetch("/api/v1/hotline/pop", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        var wanted = signature(body.contact);
        var shown = pop.dataset.signature || "none";
        if (wanted === shown) return;
        if (contactOf(wanted) === contactOf(shown) && typing()) return;
        return swap(wanted);
      })
      .catch(function () {})
      .then(function () { timer = setTimeout(check, every); });
  }
  var since = null; // when the shown conversation began, on this browser's clock
  function start() {
    var state = document.getElementById("call-state");
    var seconds = state ? parseInt(state.dataset.seconds || "", 10) : NaN;
    since = isNaN(seconds) ? null : Date.now() - seconds * 1000;
  }
  function tick() {
    var out = document.getElementById("elapsed");
    if (!out || since === null) return;
    var seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    out.textContent = m + ":" + (s < 10 ? "0" : "") + s;
  }
  start();
  setInterval(tick, 1000);
  tick();
  clearTimeout(timer);
  timer = setTimeout(check, every);
})();
