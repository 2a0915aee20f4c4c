// The progress of a background job: asks the server every second and moves the bar; when the job ends,
// reloads the page, which then shows the download or the error. Without JavaScript the page refreshes itself.
(function () {
  var box = document.querySelector("[data-job-status]");
  if (!box) return;
  var state = box.getAttribute("data-state");
  if (state !== "queued" && state !== "running") return;
  var url = box.getAttribute("data-job-status");
  var countText = box.getAttribute("data-count-text");
  var bar = box.querySelector("[data-job-bar]");
  var label = box.querySelector("[data-job-label]");
  var percent = box.querySelector("[data-job-percent]");
  var count = box.querySelector("[data-job-count]");

  function number(n) {
    return n.toLocaleString("vi-VN");
  }

  function show(job) {
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    percent.textContent = job.percent + "%";
    label.textContent = job.label;
    count.textContent = countText.replace("{done}", number(job.done)).replace("{total}", number(job.total));
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.state === "done" || job.state === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000); // a dropped connection on a phone: try again a little later
      });
  }

  window.setTimeout(poll, 1000);
})();
