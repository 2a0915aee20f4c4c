// The contest's certificate texts: a live preview that follows what the organiser types.
// Half a second after the last change, the form's fields (with the CSRF token, without the image
// files) are posted to the preview address, which renders a sample certificate and saves nothing;
// the returned document goes into the sandboxed iframe. Without this file the Preview button
// posts the same form into the iframe.
(function () {
  var form = document.querySelector("form[data-preview-url]");
  if (!form) return;
  var url = form.getAttribute("data-preview-url");
  var frame = document.getElementById("certificate-preview");
  var box = form.querySelector("[data-preview-frame]");
  var status = form.querySelector("[data-preview-status]");
  var button = form.querySelector("[data-preview-button]");
  var kind = form.querySelector("[data-preview-kind]");
  var sample = form.querySelector("[data-sample-link]");
  var PAGE_WIDTH = 1123, PAGE_HEIGHT = 794; // A4 landscape at 96 px per inch
  var timer = null, sent = 0, controller = null;
  var hint = status ? status.textContent : "", offline = status ? status.getAttribute("data-offline") : "";

  function fit() {
    var scale = box.clientWidth / PAGE_WIDTH;
    frame.style.width = PAGE_WIDTH + "px";
    frame.style.height = PAGE_HEIGHT + "px";
    frame.style.transform = "scale(" + scale + ")";
    box.style.height = Math.ceil(PAGE_HEIGHT * scale) + "px";
  }

  function refresh() {
    timer = null;
    var data = new FormData(form);
    form.querySelectorAll("input[type=file]").forEach(function (input) { data.delete(input.name); });
    var token = data.get("csrf_token");
    var mine = ++sent;
    if (controller) controller.abort(); // only the latest texts matter
    controller = window.AbortController ? new AbortController() : null;
    form.classList.add("previewing");
    fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: token ? {"X-CSRFToken": token} : {},
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.text().then(function (html) { return {ok: response.ok, html: html}; });
    }).then(function (result) {
      if (mine !== sent) return;
      form.classList.remove("previewing");
      if (result.ok) {
        frame.srcdoc = result.html;
        say(hint, false);
      } else {
        // A wording the server refuses (an unknown placeholder): keep the last preview, say what is wrong.
        var page = new DOMParser().parseFromString(result.html, "text/html");
        var node = page.querySelector("[role=alert]") || page.querySelector("main h1") || page.body;
        say(node.textContent.trim() || offline, true);
      }
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;
      form.classList.remove("previewing");
      say(offline, true);
    });
  }

  function say(text, problem) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", problem);
    status.setAttribute("role", problem ? "alert" : "status");
  }

  function sampleKind() {
    // The sample PDF (from the saved texts) shows the kind chosen for the preview.
    if (!sample || !kind) return;
    var link = new URL(sample.href, window.location.href);
    link.searchParams.set("kind", kind.value);
    sample.href = link.toString();
  }

  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  }

  form.addEventListener("input", function (event) {
    if (event.target.type !== "file") later();
  });
  form.addEventListener("change", function (event) {
    if (event.target.type !== "file") later();
  });
  if (button) button.hidden = true; // the preview follows the typing
  if (kind) kind.addEventListener("change", sampleKind);
  sampleKind();
  window.addEventListener("resize", fit);
  fit();
  refresh();
})();
