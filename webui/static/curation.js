// The curation queue as a feed reader: decide without reloading the page, undo, keyboard shortcuts.
//
// The page works without this file: every action is a plain form that the server answers with a redirect.
// Here the same forms (same fields, same CSRF token) are sent with fetch() asking for JSON; when that
// fails in a way we cannot explain, the form is submitted the plain way instead.
// Keys: j/k next/previous, a accept, r reject, d digest, o open, u undo, ? help. Single-key shortcuts can
// be switched off (WCAG 2.1.4); the choice is kept in this browser (localStorage).
(function () {
  "use strict";
  var list = document.querySelector("[data-queue]");
  var message = document.getElementById("queue-message");
  var undoForm = document.getElementById("undo-form");
  var help = document.getElementById("shortcut-help");
  var toggle = document.getElementById("shortcuts-on");
  var SHORTCUTS = "kb-queue-shortcuts";
  var DECISIONS = { accept: 1, reject: 1, digest: 1, back: 1 };
  // The words this script writes, in the reader's language: items/queue.html's #queue-words.
  var WORDS = (document.getElementById("queue-words") || { dataset: {} }).dataset;
  function word(key) { return WORDS[key] || ""; }
  var current = 0;
  var busy = false;
  var revealed = null;  // an item an undo brought back, to make it the current one

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]:not([hidden])"));
  }

  // --- settings -----------------------------------------------------------------------------------------

  function shortcutsOn() {
    try { return window.localStorage.getItem(SHORTCUTS) !== "off"; } catch (e) { return true; }
  }

  if (toggle) {
    document.getElementById("queue-keys").hidden = false;
    toggle.checked = shortcutsOn();
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(SHORTCUTS, toggle.checked ? "on" : "off"); } catch (e) { /* private */ }
      say(word(toggle.checked ? "shortcutsOn" : "shortcutsOff"));
    });
  }

  // --- help dialog (a modal <dialog>: the rest of the page is inert, Esc closes it) ---------------------

  var opener = null;
  function openHelp() {
    if (!help || help.open) { return; }
    opener = document.activeElement;
    help.showModal();
    document.getElementById("shortcut-help-close").focus();
  }
  if (help) {
    document.getElementById("shortcut-help-open").addEventListener("click", openHelp);
    document.getElementById("shortcut-help-close").addEventListener("click", function () { help.close(); });
    help.addEventListener("close", function () { if (opener && opener.focus) { opener.focus(); } });
  }

  // --- moving -------------------------------------------------------------------------------------------

  function select(index, focus) {
    var all = rows();
    document.querySelectorAll("[data-queue-item].current").forEach(function (row) {
      row.classList.remove("current");
    });
    if (!all.length) { return; }
    current = Math.max(0, Math.min(all.length - 1, index));
    all[current].classList.add("current");
    if (focus) {
      all[current].focus({ preventScroll: true });
      all[current].scrollIntoView({ block: "nearest" });
    }
  }

  function currentRow() {
    return rows()[current] || null;
  }

  // --- talking to the server ----------------------------------------------------------------------------

  function say(text) {
    if (message) { message.textContent = text; }
  }

  function offerUndo(key, text) {
    if (!undoForm) { return; }
    // The status line already says what was decided: the button alone follows it, named for screen readers.
    var button = undoForm.querySelector("button");
    undoForm.elements.decision.value = key || "";
    document.getElementById("undo-what").textContent = "";
    button.setAttribute("aria-label", key ? word("undoWhat").replace("{decision}", text) : word("undo"));
    button.title = word("undoTitle");
    undoForm.hidden = !key;
  }

  function rowOf(id) {
    return document.querySelector("[data-queue-item][data-item-id='" + id + "']");
  }

  // Show an item as the server says it now is; one that no longer matches the queue's filter is hidden.
  function show(state) {
    var row = rowOf(state.id);
    if (!row) { return; }
    var wanted = list ? list.getAttribute("data-status") : "";
    var was = rows().indexOf(row);
    row.hidden = Boolean(wanted) && state.status !== wanted;
    if (was === -1 && !row.hidden) { revealed = row; }
    var buttons = {
      accept: row.querySelector("[data-action='accept']"),
      reject: row.querySelector("[data-action='reject']"),
      back: row.querySelector("[data-action='back']"),
      digest: row.querySelector("[data-action='digest']")
    };
    if (buttons.accept) { buttons.accept.disabled = state.status === "accepted"; }
    if (buttons.reject) { buttons.reject.disabled = state.status === "rejected"; }
    if (buttons.back) { buttons.back.hidden = state.status === "new"; }
    if (buttons.digest) {
      buttons.digest.value = state.in_digest ? "0" : "1";
      buttons.digest.textContent = word(state.in_digest ? "inDigest" : "outOfDigest");
    }
    var badge = row.querySelector("[data-digest-badge]");
    if (badge) { badge.hidden = !state.in_digest; }
    if (row.hidden && was !== -1 && was < current) { current -= 1; }
  }

  function countNew(count) {
    document.querySelectorAll("[data-nav-count]").forEach(function (badge) {
      badge.querySelector("[data-number]").textContent = String(count);
      badge.hidden = count === 0;
    });
    var total = document.getElementById("queue-total");
    if (total && list && list.getAttribute("data-status") === "new") { total.textContent = String(count); }
  }

  function send(form, submitter) {
    if (busy) { return; }
    busy = true;
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var row = form.closest("[data-queue-item]");
    if (row) { row.setAttribute("aria-busy", "true"); }
    var plain = function () {
      // Something we cannot explain (a proxy's page, an expired session): let the browser do it plainly.
      busy = false;
      if (submitter && submitter.name) {
        var field = document.createElement("input");
        field.type = "hidden";
        field.name = submitter.name;
        field.value = submitter.value;
        form.appendChild(field);
      }
      HTMLFormElement.prototype.submit.call(form);
    };
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) { plain(); return null; }
      return response.json();
    }).then(function (reply) {
      if (!reply) { return; }
      busy = false;
      if (row) { row.removeAttribute("aria-busy"); }
      if (!reply.ok) {
        say(reply.error);
        return;
      }
      revealed = null;
      reply.items.forEach(show);
      if (revealed) { current = rows().indexOf(revealed); }
      say(reply.message);
      offerUndo(reply.undo, reply.message);
      countNew(reply.new_count);
      // An emptied page: either nothing waits any more, or the next items are a reload away.
      var empty = document.getElementById("queue-empty");
      var more = document.getElementById("queue-more");
      var waiting = list && list.getAttribute("data-status") === "new" ? reply.new_count : 1;
      if (empty) { empty.hidden = rows().length > 0 || waiting > 0; }
      if (more) { more.hidden = rows().length > 0 || waiting === 0; }
      select(current, true);
    }).catch(plain);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var action = submitter ? submitter.getAttribute("data-action") : null;
    var decision = form.classList.contains("curate") && form.closest("[data-queue-item]") && DECISIONS[action];
    if (!decision && form !== undoForm) { return; }  // other forms (tags, bulk, filters) reload the page
    event.preventDefault();
    send(form, submitter);
  });

  function press(action) {
    var row = currentRow();
    if (action === "undo") {
      if (undoForm && !undoForm.hidden) { undoForm.requestSubmit(undoForm.querySelector("button")); }
      return;
    }
    if (!row) { return; }
    var control = row.querySelector("[data-action='" + action + "']");
    if (!control || control.disabled || control.hidden) { return; }
    if (action === "open") { control.click(); return; }
    control.form.requestSubmit(control);
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) { return; }
    if (help && help.open) { return; }  // the dialog handles its own keys (Esc closes it)
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    if (!shortcutsOn()) { return; }
    var handled = true;
    switch (event.key) {
      case "j": select(current + 1, true); break;
      case "k": select(current - 1, true); break;
      case "a": press("accept"); break;
      case "r": press("reject"); break;
      case "d": press("digest"); break;
      case "o": press("open"); break;
      case "u": press("undo"); break;
      case "?": openHelp(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // Clicking an item makes it the current one, so the keys act on what the person looks at.
  if (list) {
    list.addEventListener("click", function (event) {
      var row = event.target.closest("[data-queue-item]");
      var index = rows().indexOf(row);
      if (index !== -1) { select(index, false); }
    });
  }
  select(0, false);
})();
