(function () {
  // Sorts the groups of the findings table by a column of their heading
  // rows (numbers by data-v, text by locale; ties keep gown's order,
  // data-seq), and filters the findings by severity, store, data class and
  // a search text. The filter can be given in the address too, as
  // #sev=3&store=redis&class=email&q=shop, so a filtered view can be shared.
  var t = document.getElementById("findings");
  if (!t) { document.documentElement.setAttribute("data-js", "ready"); return; }
  var groups = Array.prototype.slice.call(t.tBodies);
  var heads = t.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    if (!th.hasAttribute("data-type")) { return; }
    th.tabIndex = 0;
    function sort() {
      var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var num = th.getAttribute("data-type") === "num";
      groups.sort(function (a, b) {
        var x = a.rows[0].cells[col].getAttribute("data-v") || "", y = b.rows[0].cells[col].getAttribute("data-v") || "";
        var c = num ? Number(x) - Number(y) : x.localeCompare(y);
        return c * dir || Number(a.getAttribute("data-seq")) - Number(b.getAttribute("data-seq"));
      });
      groups.forEach(function (g) { t.appendChild(g); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });

  var form = document.getElementById("filters");
  var sev = document.getElementById("f-sev"), store = document.getElementById("f-store");
  var cls = document.getElementById("f-class"), q = document.getElementById("f-q");
  var count = document.getElementById("f-count"), none = document.getElementById("f-none");
  var total = t.querySelectorAll("tr.f").length;
  function apply() {
    var min = Number(sev.value), s = store.value, c = cls.value, text = q.value.trim().toLowerCase();
    var shown = 0;
    groups.forEach(function (g) {
      var groupOK = (!s || g.getAttribute("data-store") === s) &&
        (!c || (" " + g.getAttribute("data-classes") + " ").indexOf(" " + c + " ") >= 0);
      var groupText = g.getAttribute("data-search");
      var any = false;
      Array.prototype.forEach.call(g.querySelectorAll("tr.f"), function (r) {
        var ok = groupOK && Number(r.getAttribute("data-sev")) >= min &&
          (!text || groupText.indexOf(text) >= 0 || r.getAttribute("data-search").toLowerCase().indexOf(text) >= 0);
        r.hidden = !ok;
        if (ok) { any = true; shown++; }
      });
      g.hidden = !any;
    });
    count.textContent = shown + " of " + total + " findings";
    none.hidden = shown > 0;
  }
  function fromHash() {
    var h = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { h[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " ")); }
    });
    if (h.sev) { sev.value = h.sev; }
    if (h.store) { store.value = h.store; }
    if (h["class"]) { cls.value = h["class"]; }
    if (h.q) { q.value = h.q; }
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  [sev, store, cls].forEach(function (el) { el.addEventListener("change", apply); });
  q.addEventListener("input", apply);
  fromHash();
  apply();
  document.documentElement.setAttribute("data-js", "ready");
})();
