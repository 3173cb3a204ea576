// The feedback inbox (templates/rollout/workflow_feedback.html): select a row to read and triage
// it in the side panel, triage from the keyboard, tick rows for the bulk bar. Without JavaScript
// every row links to the item's own page and the bulk bar is a plain form, so all of this is an
// addition. Every save goes through the same POSTs as the panel's forms (rollout.views.feedback).
//
// Keys (also listed in the page's "Keyboard shortcuts" dialog, opened with ?):
//   j / k        next / previous item, shown in the panel      Enter  show the focused item
//   o            open the item's own page                       x      tick / untick the item
//   1 … 5        status (in the order of FeedbackStatus)        a / u  assign to me / unassign
//   l m h c, 0   severity low, medium, high, critical; not set  A      choose an assignee (panel)
//   Esc          close the panel                                ?      the list of shortcuts
// None of them fires while the focus is in a field people type in (or a select).
(() => {
  const root = document.getElementById("triage");
  if (!root) return;
  const panel = document.getElementById("triage-panel");
  const toast = document.getElementById("triage-toast");
  const help = document.getElementById("triage-shortcuts");
  const canTriage = root.hasAttribute("data-can-triage");
  const statuses = (root.dataset.statuses || "").split(" ").filter(Boolean);
  const severities = { l: "low", m: "medium", h: "high", c: "critical", 0: "" };
  const ticked = new Set();
  let selectedId = null;
  let loadTimer = null;
  let toastTimer = null;

  const rows = () => [...root.querySelectorAll("tr[data-row]")];
  const selectedRow = () => (selectedId && document.getElementById(`feedback-${selectedId}`)) || null;
  // The panel needs a wide screen (the width is the CSS's, .triage.has-panel); on a narrower one
  // a row opens the item's own page instead.
  const wide = window.matchMedia("(min-width: 1100px)");
  const panelShown = () => wide.matches;

  function isTyping(element) {
    if (!element || !element.closest) return false;
    if (element.closest("textarea, select, [contenteditable]")) return true;
    const input = element.closest("input");
    return Boolean(input) && !["checkbox", "radio", "button", "submit", "reset"].includes(input.type);
  }

  function loadPanel(row) {
    clearTimeout(loadTimer);
    // j held down walks through many rows: load the one it stops on.
    loadTimer = setTimeout(() => {
      htmx.ajax("GET", row.dataset.url, { source: panel, target: "#triage-panel", swap: "innerHTML" });
    }, 60);
  }

  function select(row, { focus = true } = {}) {
    if (!row) return;
    selectedId = row.dataset.id;
    refresh();
    row.scrollIntoView({ block: "nearest" });
    const link = row.querySelector("[data-row-link]");
    if (focus && link) link.focus({ preventScroll: true });
    if (panelShown()) {
      root.classList.add("has-panel");
      loadPanel(row);
    }
  }

  function closePanel() {
    root.classList.remove("has-panel");
    const link = selectedRow() && selectedRow().querySelector("[data-row-link]");
    if (link) link.focus({ preventScroll: true });
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(selectedRow());
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    select(all[next]);
  }

  // Saves go one after the other, each built from its row as the previous save left it (the
  // response swaps the row in), so "3" then "h" pressed quickly keep both changes.
  let saving = Promise.resolve();
  function triage(row, change) {
    if (!canTriage || !row) return;
    const id = row.dataset.id;
    saving = saving
      .then(() => {
        const fresh = document.getElementById(`feedback-${id}`) || row;
        const values = {
          action: "triage",
          panel: "1",
          status: fresh.dataset.status,
          severity: fresh.dataset.severity,
          assignee: fresh.dataset.assignee,
          ...change,
        };
        return htmx.ajax("POST", fresh.dataset.url, { source: panel, target: "#triage-panel", swap: "innerHTML", values });
      })
      .catch(() => {});
  }

  function tick(row) {
    const box = row && row.querySelector("input[name=ids]");
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Marks the selected row, puts the ticks back on rows htmx replaced, counts the ticks.
  function refresh() {
    for (const row of rows()) {
      const selected = row.dataset.id === selectedId;
      row.classList.toggle("is-selected", selected);
      const link = row.querySelector("[data-row-link]");
      if (link) {
        if (selected) link.setAttribute("aria-current", "true");
        else link.removeAttribute("aria-current");
      }
      const box = row.querySelector("input[name=ids]");
      if (box) box.checked = ticked.has(row.dataset.id);
    }
    const count = root.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = ticked.size
        ? `${ticked.size.toLocaleString("en")} ticked:`
        : "Tick items (x) to change several at once.";
    }
    // The bar's fields wait until something is ticked (without JavaScript they are always there).
    const bar = root.querySelector("[data-bulk-bar]");
    if (bar) bar.classList.toggle("is-idle", ticked.size === 0);
    const all = root.querySelector("[data-tick-all]");
    if (all) {
      all.hidden = false;
      const boxes = rows().map((row) => row.querySelector("input[name=ids]")).filter(Boolean);
      all.checked = boxes.length > 0 && boxes.every((box) => box.checked);
    }
    for (const button of document.querySelectorAll("[data-shortcuts-open]")) button.hidden = false;
  }

  root.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-row]");
    if (!row || event.target.closest("input, button, select, label")) return;
    const link = event.target.closest("a");
    if (link && !link.hasAttribute("data-row-link")) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    if (!panelShown()) {
      if (!link) window.location.assign(row.dataset.url);
      return;
    }
    event.preventDefault();
    select(row, { focus: Boolean(link) });
  });

  root.addEventListener("change", (event) => {
    const box = event.target;
    if (box.matches("input[name=ids]")) {
      const id = box.closest("tr[data-row]").dataset.id;
      if (box.checked) ticked.add(id);
      else ticked.delete(id);
    } else if (box.matches("[data-tick-all]")) {
      for (const row of rows()) {
        if (box.checked) ticked.add(row.dataset.id);
        else ticked.delete(row.dataset.id);
      }
    } else {
      return;
    }
    refresh();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-shortcuts-open]")) help.showModal();
    if (event.target.closest("[data-panel-close]")) closePanel();
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      if (help.open) help.close();
      else help.showModal();
      return;
    }
    if (help.open) return;
    if (event.key === "Escape" && root.classList.contains("has-panel")) {
      closePanel();
      return;
    }
    const row = selectedRow();
    const key = event.key;
    let handled = true;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "o" && row) window.location.assign(row.dataset.url);
    else if (key === "x" && canTriage) tick(row);
    else if (/^[1-9]$/.test(key) && statuses[Number(key) - 1]) triage(row, { status: statuses[Number(key) - 1] });
    else if (key in severities) triage(row, { severity: severities[key] });
    else if (key === "a") triage(row, { assignee: root.dataset.me });
    else if (key === "u") triage(row, { assignee: "" });
    else if (key === "A" && row) {
      const field = panel.querySelector(`#assignee-${row.dataset.id}`);
      if (field) field.focus();
    } else handled = false;
    if (handled) event.preventDefault();
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "triage-list") {
      // A new list (filters, a page, a bulk change): its ticks are fresh, its rows may be too.
      ticked.clear();
      const row = selectedRow();
      if (!row) {
        // The selected item left the list (filters, another page): so does its panel.
        selectedId = null;
        root.classList.remove("has-panel");
      } else if (panelShown() && event.detail.requestConfig.verb === "post") {
        loadPanel(row);
      }
    }
    refresh();
  });
  document.body.addEventListener("htmx:oobAfterSwap", () => refresh());
  // Shown before its words change, so the change is announced from a visible status line.
  document.body.addEventListener("htmx:oobBeforeSwap", () => toast.classList.remove("is-faded"));

  // The confirmation stays readable for a while, then gets out of the way (it is still the text
  // of the status line until the next save).
  new MutationObserver(() => {
    toast.classList.remove("is-faded");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.add("is-faded"), 6000);
  }).observe(toast, { childList: true, subtree: true, characterData: true });

  refresh();
})();
