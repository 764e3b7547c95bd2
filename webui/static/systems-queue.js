// Systems in the curation queue: confirm (key s) or reject (key n) the current item's first suggested
// system without reloading the page. Without this file the Confirm and Reject buttons are plain forms.
// The keys follow the queue's shortcut switch (curation.js keeps it in localStorage) and do nothing while
// one types in a field or the help dialog is open.
(function () {
  "use strict";
  var SHORTCUTS = "kb-queue-shortcuts";
  var message = document.getElementById("queue-message");
  // The page's words (items/queue.html's #queue-words), in the reader's language.
  var WORDS = (document.getElementById("queue-words") || { dataset: {} }).dataset;

  function shortcutsOn() {
    try { return window.localStorage.getItem(SHORTCUTS) !== "off"; } catch (e) { return true; }
  }

  function say(text) {
    if (message) { message.textContent = text; }
  }

  function decided(form, link) {
    var holder = form.closest("[data-system]");
    if (!holder) { return; }
    holder.setAttribute("data-state", link.state);
    holder.querySelectorAll("form.sys-decide").forEach(function (each) { each.remove(); });
    var badge = holder.querySelector("[data-state-badge]");
    if (badge) {
      badge.textContent = link.state === "confirmed" ? WORDS.confirmed : WORDS.rejected;
      badge.className = "badge sys-link-" + link.state;
    }
  }

  function send(form) {
    var plain = function () { HTMLFormElement.prototype.submit.call(form); };
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) { plain(); return null; }
      return response.json();
    }).then(function (reply) {
      if (!reply) { return; }
      if (!reply.ok) { say(reply.error); return; }
      decided(form, reply.link);
      say(reply.message);
    }).catch(plain);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("sys-decide")) { return; }
    event.preventDefault();
    send(form);
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) { return; }
    if (event.key !== "s" && event.key !== "n") { return; }
    var help = document.getElementById("shortcut-help");
    if (help && help.open) { return; }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    if (!shortcutsOn()) { return; }
    var row = document.querySelector("[data-queue-item].current");
    if (!row) { return; }
    var action = event.key === "s" ? "system-confirm" : "system-reject";
    var button = row.querySelector("[data-system][data-state='suggested'] [data-action='" + action + "']");
    if (!button) { return; }
    event.preventDefault();
    button.form.requestSubmit(button);
  });
})();
