// hmsbackup: the only script. It follows a job's progress on its page
// (GET /jobs/{id}/progress every second) until the job ends, then reloads
// once to show the outcome. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var el = document.querySelector("[data-job]");
  if (!el) { return; }
  var id = el.getAttribute("data-job");
  var bar = el.querySelector(".progress");
  var fill = el.querySelector(".progress > span");
  var text = el.querySelector("[data-progress-text]");
  var state = el.querySelector("[data-state]");
  function human(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }
  function show(j) {
    if (state) { state.textContent = j.state; state.className = "badge " + j.state; }
    var p = j.progress;
    if (p && text) {
      var s = p.phase;
      if (p.bytes > 0) {
        s += ": " + human(p.bytes);
        if (p.total_bytes > 0) { s += " of " + human(p.total_bytes); }
        if (p.bytes_per_second > 0) { s += " at " + human(p.bytes_per_second) + "/s"; }
      }
      text.textContent = s;
      if (p.total_bytes > 0) {
        bar.classList.remove("indeterminate");
        fill.style.width = Math.min(100, 100 * p.bytes / p.total_bytes).toFixed(1) + "%";
      } else {
        bar.classList.add("indeterminate");
      }
    }
  }
  function poll() {
    fetch("/jobs/" + encodeURIComponent(id) + "/progress", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (j) {
        show(j);
        if (j.finished) { window.location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
