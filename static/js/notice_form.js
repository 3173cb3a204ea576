// The notice form: when the live preview says the notice is urgent (rule 5), open the field that
// asks why it cannot wait. Without JavaScript the "Preview" button renders the form open instead.
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "notice-preview") return;
  const details = document.querySelector("details.notice-urgent-reason");
  if (details && target.querySelector("[data-urgent-hint]")) details.open = true;
});
