// The queue page: a filter takes effect when it is chosen (the Filter button does the same
// without JavaScript). The search waits for Enter, so typing is never cut short.
(function () {
  "use strict";
  var form = document.getElementById("queue-filters");
  if (!form) return;
  form.addEventListener("change", function (event) {
    if (event.target.matches("select")) form.requestSubmit();
  });
})();
