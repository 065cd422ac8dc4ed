// Admin area: "select all" for bulk labelling and the live training-run view.
"use strict";

document.querySelectorAll("[data-select-all]").forEach((toggle) => {
  toggle.addEventListener("change", () => {
    const form = toggle.closest("form");
    form.querySelectorAll('input[type="checkbox"][name="key"]').forEach((box) => {
      box.checked = toggle.checked;
    });
  });
});

const run = document.getElementById("run");
if (run && ["queued", "running"].includes(run.dataset.status)) {
  const progress = run.querySelector("[data-run-progress]");
  const stage = run.querySelector("[data-run-stage]");
  const status = run.querySelector("[data-run-status]");
  const log = run.querySelector("[data-run-log]");
  const error = run.querySelector("[data-run-error]");

  const poll = async () => {
    let data;
    try {
      const response = await fetch(`/admin/api/runs/${run.dataset.runId}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (problem) {
      stage.textContent = "Lost contact with the server; trying again…";
      setTimeout(poll, 3000);
      return;
    }
    progress.value = data.progress;
    progress.textContent = `${data.progress}%`;
    stage.textContent = data.stage || data.status;
    status.textContent = data.status;
    status.className = `run-status run-${data.status}`;
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = data.log.join("\n");
    if (atBottom) log.scrollTop = log.scrollHeight;
    if (data.status === "failed") {
      error.textContent = `The run failed: ${data.error} The active model was not changed.`;
      error.hidden = false;
      return;
    }
    if (data.status === "succeeded") {
      window.location.reload(); // the comparison is rendered on the server
      return;
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 500);
}
