/* Optimizer Race — the page's chrome: the settings sheet on a phone, and the names, roles and
 * Tab order that Dash 4's components leave out (axe-core checks them: tests/test_accessibility_browser.py).
 * Nothing here knows about races; assets/player.js and assets/race.js do.
 */
(function () {
  "use strict";

  // ---- accessibility repairs, applied again whenever React redraws one of these components
  //
  // - Slider handles (role=slider) have no name: they take their label's ("Learning rate", from
  //   webapp/layout.py, id <slider>-label) and read out the value the page shows ("η = 0.001"),
  //   not the slider's position (−3).
  // - RadioItems and Checklist are a listbox of options that each hold a native radio or
  //   checkbox (an interactive control inside another): they become a named radio group or
  //   group of native inputs, which the keyboard and screen readers already understand.
  // - Dropdowns put an aria-hidden input in the Tab order, which hands focus to the real
  //   button: the button takes the Tab stop itself, and is named "<what it sets>, <its value>".
  // - MathJax makes every formula a Tab stop (for its context menu): formulas are read, not
  //   operated, so they leave the Tab order (the menu still opens with a right click).
  const GROUP_LABELS = { view: "view-label", visible: "visible-label", extras: "extras-label",
                         clock: "clock-label", "data-model": "data-model-label", "lab-panel": "lab-label" };
  const MENU_LABELS = { surface: "surface-label", scenario: "scenario-label", "schedule-kind": "schedule-label" };

  function setAttr(el, name, value) {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  }

  function repairSliders() {
    document.querySelectorAll(".control[id^='control-']").forEach((control) => {
      const id = control.id.slice("control-".length);
      const thumb = control.querySelector("[role=slider]");
      if (!thumb) return;
      if (document.getElementById(id + "-label")) setAttr(thumb, "aria-labelledby", id + "-label");
      const readout = document.getElementById(id + "-readout");
      const text = readout ? readout.textContent.trim() : "";
      if (text) setAttr(thumb, "aria-valuetext", text);
    });
  }

  function repairOptionLists() {
    document.querySelectorAll(".dash-options-list").forEach((list) => {
      const radios = list.classList.contains("dash-radioitems");
      setAttr(list, "role", radios ? "radiogroup" : "group");
      const label = GROUP_LABELS[list.id];
      if (label && document.getElementById(label)) setAttr(list, "aria-labelledby", label);
    });
    document.querySelectorAll(".dash-options-list-option[role], .dash-options-list-option[aria-selected]").forEach((option) => {
      option.removeAttribute("role");
      option.removeAttribute("aria-selected");
    });
  }

  function repairMenus() {
    document.querySelectorAll(".dash-dropdown-focus-target").forEach((dummy) => setAttr(dummy, "tabindex", "-1"));
    document.querySelectorAll("button.dash-dropdown").forEach((button) => {
      if (!button.disabled) setAttr(button, "tabindex", "0");
      const label = MENU_LABELS[button.id];
      if (label && document.getElementById(label)) setAttr(button, "aria-labelledby", label + " " + button.id + "-value");
    });
  }

  // dcc.Upload's file input, the Tab stop of its drop zone (Enter or Space opens the file
  // chooser; the zone shows its focus ring, assets/style.css), gets a name
  function repairUpload() {
    const input = document.querySelector("#data-upload input[type=file]");
    if (input) setAttr(input, "aria-label", "Choose a CSV file of examples");
  }

  function repairFormulas() {
    document.querySelectorAll("mjx-container[tabindex]").forEach((m) => m.removeAttribute("tabindex"));
  }

  function repair() {
    repairSliders();
    repairOptionLists();
    repairMenus();
    repairFormulas();
    repairUpload();
  }

  // Parts of the page that change every frame or hold thousands of nodes, and none of the
  // components above: their changes need no repair.
  const BUSY = "#leaderboard, #step-label, #scrubber-host, .js-plotly-plot, .live-numbers";
  function relevant(mutation) {
    const el = mutation.target.nodeType === 1 ? mutation.target : mutation.target.parentElement;
    return !(el && el.closest && el.closest(BUSY));
  }
  new MutationObserver((mutations) => {
    if (mutations.some(relevant)) repair();
  }).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ["tabindex", "role", "aria-selected", "aria-labelledby", "class"],
  });

  // ---- the settings sheet, on a phone: the screens assets/style.css lays out in one column (up
  // to 700 px wide, or a phone on its side: at most 500 px high and 1100 px wide). race.js shows
  // one map at a time there.
  const NARROW = window.matchMedia("(max-width: 700px), (max-height: 500px) and (max-width: 1100px)");

  function sheet() {
    return document.getElementById("controls");
  }
  function toggle() {
    return document.getElementById("btn-controls");
  }
  function isOpen() {
    const s = sheet();
    return !!s && s.classList.contains("open");
  }
  function setOpen(open, moveFocus) {
    const s = sheet();
    const t = toggle();
    if (!s) return;
    s.classList.toggle("open", open);
    document.body.classList.toggle("controls-open", open);
    if (t) setAttr(t, "aria-expanded", open ? "true" : "false");
    // the race in sight above the sheet: the map at the top of the screen
    const stage = document.querySelector(".stage");
    if (open && stage && NARROW.matches) stage.scrollIntoView({ block: "start" });
    if (!moveFocus) return;
    if (open) {
      const done = document.getElementById("btn-close-controls");
      if (done) done.focus({ preventScroll: true });
    } else if (t) {
      t.focus({ preventScroll: true });
    }
  }

  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest && ev.target.closest("button");
    if (!btn) return;
    if (btn.id === "btn-controls") setOpen(!isOpen(), true);
    else if (btn.id === "btn-close-controls") setOpen(false, true);
  });
  document.addEventListener("keydown", (ev) => {
    // Escape closes the sheet, unless it closes a menu inside it first
    if (ev.key !== "Escape" || !isOpen() || !NARROW.matches) return;
    if (document.querySelector("#controls .dash-dropdown[aria-expanded=true]")) return;
    setOpen(false, true);
  });
  // Wider than a phone, the settings are a column of the page: nothing to open or close.
  NARROW.addEventListener("change", () => {
    if (!NARROW.matches) setOpen(false, false);
  });

  window.OptimizerRacePage = { narrow: NARROW };

  function start() {
    if (!toggle()) return setTimeout(start, 100);
    setAttr(toggle(), "aria-expanded", "false");
    repair();
  }
  start();
})();
