// The people picker (rollout/forms/people.py, templates/_shared/people_picker.html) as an ARIA
// combobox with a listbox popup: typing asks the server for matches (htmx hx-get on the input),
// ArrowDown/ArrowUp move through them, Enter or a click chooses one, Escape closes the list.
// A chosen person becomes a chip holding a hidden input with their id; a single picker keeps one
// chip, a multiple one adds chips that each have a remove button. Without this script the input
// is a plain text field for email addresses, which the server resolves.
(() => {
  "use strict";

  const setStatus = (picker, text) => {
    const status = picker.querySelector("[role=status]");
    if (status) status.textContent = text;
  };

  const setup = (picker) => {
    if (picker.dataset.pickerReady) return;
    picker.dataset.pickerReady = "true";
    const input = picker.querySelector("[data-picker-input]");
    const listbox = picker.querySelector("[role=listbox]");
    const chosen = picker.querySelector(".picker-chosen");
    const multiple = picker.hasAttribute("data-multiple");
    const name = picker.dataset.name;
    let active = -1;

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    picker.querySelectorAll(".chip-remove").forEach((button) => {
      button.hidden = false;
    });

    const options = () => Array.from(listbox.querySelectorAll("[role=option]"));
    const choosable = () => options().filter((o) => o.getAttribute("aria-disabled") !== "true");
    const isOpen = () => !listbox.hidden;

    const highlight = (index) => {
      const items = choosable();
      options().forEach((o) => {
        o.classList.remove("is-active");
        o.setAttribute("aria-selected", "false");
      });
      active = items.length ? (index + items.length) % items.length : -1;
      if (active < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      const option = items[active];
      option.classList.add("is-active");
      option.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    };

    const open = () => {
      if (!options().length) return;
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    };

    const close = () => {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    };

    const chipFor = (id, label, email) => {
      const chip = document.createElement("li");
      chip.className = "chip";
      chip.dataset.id = id;
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = id;
      const nameSpan = document.createElement("span");
      nameSpan.className = "chip-name";
      nameSpan.textContent = label;
      const emailSpan = document.createElement("span");
      emailSpan.className = "chip-email";
      emailSpan.textContent = email;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.setAttribute("aria-label", `Remove ${label}`);
      const cross = document.createElement("span");
      cross.setAttribute("aria-hidden", "true");
      cross.textContent = "×";
      remove.append(cross);
      chip.append(hidden, nameSpan, " ", emailSpan, remove);
      return chip;
    };

    const chipCount = () => chosen.querySelectorAll(".chip").length;

    // Says what typing does now: search, or (one person chosen already) choose someone else.
    const updatePlaceholder = () => {
      input.placeholder =
        !multiple && chipCount() ? "Type to choose someone else" : "Search by name or email";
    };
    updatePlaceholder();

    const choose = (option) => {
      if (!option || option.getAttribute("aria-disabled") === "true") return;
      const { id, name: label, email } = option.dataset;
      if (!multiple) chosen.replaceChildren();
      if (!chosen.querySelector(`.chip[data-id="${id}"]`)) {
        chosen.append(chipFor(id, label, email));
      }
      chosen.hidden = false;
      input.value = "";
      close();
      listbox.replaceChildren();
      input.focus();
      const count = chipCount();
      updatePlaceholder();
      setStatus(
        picker,
        multiple
          ? `${label} added. ${count} ${count === 1 ? "person" : "people"} chosen.`
          : `${label} chosen.`,
      );
    };

    // The search reads `q`; the input's own name is for the form without JavaScript.
    input.addEventListener("htmx:configRequest", (event) => {
      const params = event.detail.parameters;
      delete params[input.name];
      params.q = input.value;
    });

    listbox.addEventListener("htmx:afterSwap", () => {
      const taken = new Set(Array.from(chosen.querySelectorAll(".chip")).map((c) => c.dataset.id));
      options().forEach((o) => {
        if (o.dataset.id && taken.has(o.dataset.id)) {
          o.setAttribute("aria-disabled", "true");
          o.classList.add("is-chosen");
        }
      });
      active = -1;
      if (document.activeElement === input) open();
      const found = choosable().length;
      const hint = listbox.querySelector(".picker-hint");
      setStatus(
        picker,
        found
          ? `${found} ${found === 1 ? "match" : "matches"}: use the arrow keys to choose.`
          : hint
            ? hint.textContent
            : "",
      );
    });

    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!isOpen()) open();
        highlight(event.key === "ArrowDown" ? active + 1 : active < 0 ? -1 : active - 1);
      } else if (event.key === "Enter") {
        if (isOpen() && active >= 0) {
          event.preventDefault();
          choose(choosable()[active]);
        }
      } else if (event.key === "Escape") {
        if (isOpen()) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Backspace" && multiple && input.value === "") {
        const last = chosen.querySelector(".chip:last-child");
        if (last) removeChip(last);
      }
    });

    input.addEventListener("blur", () => {
      // After a click on an option has been handled.
      setTimeout(() => {
        if (!picker.contains(document.activeElement)) close();
      }, 150);
    });

    // mousedown would move the focus out of the input before the click chooses.
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      choose(event.target.closest("[role=option]"));
    });

    const removeChip = (chip) => {
      const label = chip.querySelector(".chip-name").textContent;
      chip.remove();
      if (!chipCount()) chosen.hidden = true;
      updatePlaceholder();
      input.focus();
      setStatus(picker, `${label} removed.`);
    };

    chosen.addEventListener("click", (event) => {
      const button = event.target.closest(".chip-remove");
      if (button) removeChip(button.closest(".chip"));
    });
  };

  const init = (root) => {
    if (root.matches && root.matches("[data-picker]")) setup(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-picker]").forEach(setup);
  };

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", () => init(document));
  }
})();
