// The dashboard's one script, served from the dashboard itself (the CSP
// allows no other). Pages work without it: filters are a plain GET form.
// With it, changing a filter applies it at once, on the first page.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (form) {
    form.addEventListener("change", function () {
      var page = form.querySelector("input[name=page]");
      if (page) { page.remove(); }
      form.submit();
    });
  }
  var diff = document.getElementById("diff-form");
  if (diff) {
    diff.addEventListener("change", function () { diff.submit(); });
  }
  document.documentElement.setAttribute("data-js", "ready");
})();
