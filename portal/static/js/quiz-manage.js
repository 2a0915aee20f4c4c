// The question and quiz forms: show only what the chosen kind uses, and option rows as they are needed.
// Without this file every part of the form shows and still works.
(function () {
  var form = document.querySelector("[data-kind-form]");
  if (!form) return;
  var kind = form.querySelector("[data-kind-switch]");
  var grading = form.querySelector("[data-grading-switch]");

  function update() {
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0;
    });
    var partial = kind.value === "multiple" && grading && grading.value === "partial";
    form.querySelectorAll("[data-partial]").forEach(function (el) {
      // A single-choice option keeps its partial credit (from a GIFT import) visible.
      var typed = kind.value === "single" && el.querySelector("input").value.trim() !== "";
      el.hidden = !(partial || typed);
    });
  }
  kind.addEventListener("change", update);
  if (grading) grading.addEventListener("change", update);
  update();

  // Option rows: at least four, plus one empty row after the last filled one; more on demand.
  var rows = Array.prototype.slice.call(form.querySelectorAll("[data-option-row]"));
  var add = form.querySelector("[data-add-option]");
  if (!rows.length || !add) return;

  function filled(row) {
    return Array.prototype.some.call(row.querySelectorAll("textarea, input"), function (input) {
      return input.type === "checkbox" ? input.checked : input.value.trim() !== "";
    });
  }
  var last = -1;
  rows.forEach(function (row, i) { if (filled(row)) last = i; });
  var shown = Math.max(4, last + 2);
  rows.forEach(function (row, i) { row.hidden = i >= shown; });
  add.hidden = shown >= rows.length;
  add.addEventListener("click", function () {
    var next = rows.filter(function (row) { return row.hidden; })[0];
    if (next) {
      next.hidden = false;
      next.querySelector("textarea").focus();
    }
    add.hidden = !rows.some(function (row) { return row.hidden; });
  });
})();
