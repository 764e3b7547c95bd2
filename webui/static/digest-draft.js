// The digest draft: warn before unsaved text (the introduction, a summary) is lost, because another form
// on the page was sent or the page is being left. The page works without this file.
(function () {
  "use strict";
  var fields = Array.prototype.slice.call(document.querySelectorAll("textarea[data-unsaved]"));
  if (!fields.length) { return; }
  var words = document.getElementById("draft-words");  // digest/draft.html, in the reader's language
  var QUESTION = words ? words.getAttribute("data-question") : "";
  var leaving = false;  // set once the person agreed (or is saving): no second question on unload

  function unsaved(except) {
    return fields.filter(function (field) {
      return field.value !== field.defaultValue && (!except || field.form !== except);
    });
  }

  document.addEventListener("submit", function (event) {
    var lost = unsaved(event.target);
    if (!lost.length) { leaving = true; return; }
    var names = lost.map(function (field) { return field.getAttribute("data-unsaved"); }).join(", ");
    if (window.confirm(QUESTION.replace("{names}", names))) {
      leaving = true;
    } else {
      event.preventDefault();
      lost[0].focus();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !unsaved(null).length) { return; }
    event.preventDefault();
    event.returnValue = "";  // older browsers need it set to ask
  });

  // A form sent and answered by a new page resets `leaving` on that page; coming back with the history's
  // cached copy must ask again.
  window.addEventListener("pageshow", function () { leaving = false; });
})();
