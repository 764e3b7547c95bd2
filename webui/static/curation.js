// Keyboard shortcuts of the curation queue: j/k next/previous, a accept, r reject, d digest, o open.
// The page works without this file: every action is a plain form button.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
  if (!rows.length) { return; }
  var KEY = "kb-queue-position";
  var current = 0;
  try { current = parseInt(window.sessionStorage.getItem(KEY) || "0", 10) || 0; } catch (e) { current = 0; }

  function select(index) {
    rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("current");
    rows[current].focus({ preventScroll: true });
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function press(action) {
    var control = rows[current].querySelector("[data-action='" + action + "']");
    if (!control || control.disabled) { return; }
    try { window.sessionStorage.setItem(KEY, String(current)); } catch (e) { /* private mode */ }
    control.click();
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) { return; }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName))) { return; }
    var handled = true;
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "a": press("accept"); break;
      case "r": press("reject"); break;
      case "d": press("digest"); break;
      case "o": press("open"); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  current = Math.min(current, rows.length - 1);
  rows[current].classList.add("current");
})();
