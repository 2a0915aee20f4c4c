// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (event) {
  // Buttons with data-confirm ask before a destructive POST.
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
  // Buttons with data-print print the page (a password handed over on paper).
  if (event.target.closest("[data-print]")) window.print();
  // Close the menu when clicking elsewhere.
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
document.addEventListener("change", function (event) {
  // Selects with data-autosubmit submit their form (filters).
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
