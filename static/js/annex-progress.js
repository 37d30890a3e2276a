/* The exports page: while an annex is being made, ask for its state every few seconds and
   show it in place (the state is a status region, read out when it changes); without
   JavaScript the page's "see whether it is ready" link does the same. */
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr.annex-job[data-status-url]");
  if (!rows.length) { return; }

  function update(row, data) {
    var state = row.querySelector(".annex-job-state");
    var progress = row.querySelector("progress");
    if (state.textContent !== data.label) { state.textContent = data.label; }
    if (progress && data.total) {
      progress.max = data.total;
      progress.value = data.done;
    }
    if (data.finished) {
      row.removeAttribute("data-status-url");
      if (progress) { progress.remove(); }
      if (data.state === "done") {
        row.querySelector(".annex-job-link").hidden = false;
        row.querySelector(".annex-job-facts").textContent = data.facts;
      }
    }
  }

  function poll() {
    var pending = document.querySelectorAll("tr.annex-job[data-status-url]");
    if (!pending.length) { return; }
    pending.forEach(function (row) {
      fetch(row.getAttribute("data-status-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (data) { if (data) { update(row, data); } })
        .catch(function () { /* the next round tries again */ });
    });
    window.setTimeout(poll, 3000);
  }
  window.setTimeout(poll, 3000);
})();
