// The review queue (templates/rollout/workflow_review_queue.html): grade the output on screen with
// the keys 1–4 (correct, minor issue, wrong, harmful). A key clicks the matching button, so the
// grade goes through the form's own htmx POST: the next item replaces this one without a page
// reload, and without JavaScript the buttons submit the form. Inside the note, Alt + the number
// does the same (plain digits are text there).
(() => {
  const keys = new Set(["1", "2", "3", "4"]);

  function typing(element) {
    if (!element || !element.closest) return false;
    return Boolean(element.closest("textarea, select, input:not([type=hidden]), [contenteditable]"));
  }

  document.addEventListener("keydown", (event) => {
    if (!keys.has(event.key) || event.ctrlKey || event.metaKey) return;
    if (typing(event.target) && !event.altKey) return;
    if (!typing(event.target) && event.altKey) return;
    const form = document.getElementById("review-grade-form");
    if (!form || form.closest(".htmx-request")) return;
    const button = form.querySelector(`button[data-key="${event.key}"]`);
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  // After a swap the new item takes the focus, so a screen reader announces it and the page
  // scrolls to it.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "review-item") {
      const item = document.getElementById("review-item");
      if (item) item.focus({ preventScroll: false });
    }
  });
})();
