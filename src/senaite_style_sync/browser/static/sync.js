/* Sync page: follow each running job live.
 *
 * Every element with data-job-active="true" polls GET <site>/@sync-jobs/<id>
 * (its data-job-url) once a second and updates its progress bar; when the job
 * has ended the page reloads to show the outcome, the plan and the last runs.
 * Same-origin requests carry the login cookie, so no token is needed to read.
 * The states' titles in the page's language come from the table's
 * data-state-titles.
 */
(function () {
  "use strict";

  var ACTIVE = ["queued", "running"];
  var INTERVAL = 1000;

  function duration(seconds) {
    if (!seconds || seconds < 0) {
      return "\u2014";
    }
    seconds = Math.round(seconds);
    if (seconds < 60) {
      return seconds + " s";
    }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + " min " + (seconds % 60) + " s";
    }
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function setText(box, selector, text) {
    var element = box.querySelector(selector);
    if (element) {
      element.textContent = text;
    }
  }

  function stateTitle(state) {
    var table = document.getElementById("remotes");
    var titles = JSON.parse((table && table.getAttribute("data-state-titles")) || "{}");
    return titles[state] || state;
  }

  function show(box, job) {
    var progress = job.progress || {};
    var percent = progress.percent || 0;
    var bar = box.querySelector(".progress-bar");
    if (bar) {
      bar.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", String(percent));
    }
    setText(box, ".job-done", String(progress.done || 0));
    setText(box, ".job-total", String(progress.total || 0));
    setText(box, ".job-percent", percent + "%");
    setText(box, ".job-rate-value", String(progress.rate || 0));
    setText(box, ".job-eta", duration(progress.eta_seconds));
    setText(box, ".job-state", stateTitle(job.state));
    box.setAttribute("data-job-state", job.state);
  }

  function follow(box) {
    var url = box.getAttribute("data-job-url");
    var failures = 0;

    function poll() {
      window
        .fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (job) {
          failures = 0;
          show(box, job);
          if (ACTIVE.indexOf(job.state) === -1) {
            box.setAttribute("data-job-active", "false");
            window.location.reload();
          } else {
            window.setTimeout(poll, INTERVAL);
          }
        })
        .catch(function () {
          failures += 1;
          if (failures < 30) {
            window.setTimeout(poll, INTERVAL * 2);
          }
        });
    }

    window.setTimeout(poll, INTERVAL);
  }

  function start() {
    var boxes = document.querySelectorAll('[data-job-id][data-job-active="true"]');
    for (var i = 0; i < boxes.length; i += 1) {
      follow(boxes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
