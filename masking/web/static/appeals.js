// The appeals queue refreshes itself: every few seconds the same page (same filters) is
// fetched and its queue swapped in, so a new appeal appears without a reload. Without
// JavaScript the page still works; it is simply not live.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue || !window.fetch || !window.DOMParser) return;
  var seconds = parseInt(queue.dataset.live || "10", 10);
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("queue");
        if (fresh) queue.innerHTML = fresh.innerHTML;
        queue.dataset.total = fresh ? fresh.dataset.total : queue.dataset.total;
      })
      .catch(function () {})
      .then(function () { setTimeout(refresh, seconds * 1000); });
  }
  setTimeout(refresh, seconds * 1000);
})();
