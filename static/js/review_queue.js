// The review queue (templates/rollout/workflow_review_queue.html): grade the output on screen with
// the keys 1–4 (correct, minor issue, wrong, harmful). A key clicks the matching button, so the
// grade goes through the form's own htmx POST: the next item replaces this one without a page
// reload, and without JavaScript the buttons submit the form. Inside the note, Alt + the number
// does the same (plain digits are text there).
//
// While a grade is on its way, and until htmx has settled the next item (it enables the new form
// only then: a click before would submit it the plain way), the item is aria-busy and keys wait:
// a second key must not grade the same output twice, nor the next one unseen. A swapped-in item
// arrives busy (the view renders it so) and is made ready here. (The form has no id on purpose:
// htmx copies the classes of an element with the same id while it settles, and the old form's
// "htmx-request" would make the new one look busy.)
(() => {
  const keys = new Set(["1", "2", "3", "4"]);
  const item = () => document.getElementById("review-item");

  function typing(element) {
    if (!element || !element.closest) return false;
    return Boolean(element.closest("textarea, select, input:not([type=hidden]), [contenteditable]"));
  }

  document.addEventListener("keydown", (event) => {
    if (!keys.has(event.key) || event.ctrlKey || event.metaKey) return;
    if (typing(event.target) !== event.altKey) return;
    const section = item();
    if (!section || section.getAttribute("aria-busy") === "true") return;
    const button = section.querySelector(`.review-grade-form button[data-key="${event.key}"]`);
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const section = item();
    if (section && section.contains(event.detail.elt)) section.setAttribute("aria-busy", "true");
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target && event.detail.target.id === "review-item") {
      const section = item();
      if (section) section.setAttribute("aria-busy", "false");
    }
  });
  // A failed request leaves the item as it was: ready again.
  for (const name of ["htmx:responseError", "htmx:sendError"]) {
    document.body.addEventListener(name, () => {
      const section = item();
      if (section) section.setAttribute("aria-busy", "false");
    });
  }

  // After a swap the new item takes the focus, so a screen reader announces it and the page
  // scrolls to it.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "review-item") {
      const section = item();
      if (section) section.focus({ preventScroll: false });
    }
  });
})();
