(function () {
  // Sorts the findings table by a column: numbers by data-v, text by locale;
  // ties keep the order gown wrote (data-seq).
  var t = document.getElementById("findings");
  if (!t) { return; }
  var heads = t.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    if (!th.hasAttribute("data-type")) { return; }
    th.tabIndex = 0;
    function sort() {
      var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var num = th.getAttribute("data-type") === "num";
      var body = t.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        var c = num ? Number(x) - Number(y) : x.localeCompare(y);
        return c * dir || Number(a.getAttribute("data-seq")) - Number(b.getAttribute("data-seq"));
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
  document.documentElement.setAttribute("data-js", "ready");
})();
