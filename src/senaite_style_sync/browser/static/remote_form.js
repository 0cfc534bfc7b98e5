/* Add/Edit Remote form: Test connection without leaving the page.
 *
 * The button posts the form as it is (with its CSRF token) to the form itself
 * with reply=json; the form checks the typed settings, saves nothing, and
 * answers {ok, code, message, errors} (and a warning for an http:// URL). The
 * message is shown next to the button, the warning under the buttons, and the
 * typed password stays in its field. Without this script the button submits
 * the form and the page shows the same outcome.
 */
(function () {
  "use strict";

  function start() {
    var button = document.getElementById("form-buttons-test_connection");
    var output = document.getElementById("test-connection-result");
    if (!button || !output) {
      return;
    }
    var form = button.form;
    var warning = document.getElementById("test-connection-warning");

    function show(text, ok, code, warned) {
      output.textContent = text;
      output.className = "ms-2 me-3 " + (ok ? "text-success" : "text-danger");
      output.setAttribute("data-code", code || "");
      if (warning) {
        warning.textContent = warned || "";
        warning.hidden = !warned;
      }
      button.disabled = false;
    }

    button.addEventListener("click", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      data.append(button.name, button.value);
      data.append("reply", "json");
      button.disabled = true;
      output.className = "ms-2 me-3 text-muted";
      output.textContent = output.getAttribute("data-testing") || "";
      window
        .fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (outcome) {
          var details = Object.keys(outcome.errors || {}).map(function (name) {
            return outcome.errors[name];
          });
          show([outcome.message].concat(details).join(" "), outcome.ok, outcome.code, outcome.warning);
        })
        .catch(function (error) {
          show(String(error), false, "error", "");
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
