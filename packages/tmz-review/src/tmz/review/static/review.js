// Keyboard use of the review page: 1-5 rate adequacy, Shift+1-5 fluency, Alt+letter toggles an error tag or
// focuses the correction (c) or the Tifinagh keyboard (k), Ctrl+Enter (or Enter on a choice) saves, and the
// Tifinagh keyboard types into the correction at its caret (arrow keys move between letters).
(() => {
  const form = document.getElementById("judgement");
  if (!form) return;
  const correction = document.getElementById("correction");
  const typing = (el) => el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "radio" && el.type !== "checkbox"));

  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
      return;
    }
    const letter = /^Key([A-Z])$/.exec(e.code);
    if (e.altKey && !e.ctrlKey && !e.metaKey && letter) {
      const target = form.querySelector(`[data-shortcut="${letter[1].toLowerCase()}"]`);
      if (target) {
        e.preventDefault();
        if (target.type === "checkbox") target.click();
        target.focus();
      }
      return;
    }
    const el = document.activeElement;
    if (typing(el) || e.ctrlKey || e.altKey || e.metaKey) return;
    const digit = /^(?:Digit|Numpad)([1-5])$/.exec(e.code);
    if (digit && !el.classList.contains("tfng-key")) {
      const scale = e.shiftKey ? "fluency" : "adequacy";
      const radio = form.querySelector(`input[name="${scale}"][value="${digit[1]}"]`);
      radio.checked = true;
      radio.focus();
      e.preventDefault();
    } else if (e.key === "Enter" && el && el.form === form && (el.type === "radio" || el.type === "checkbox")) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  const keys = Array.from(document.querySelectorAll(".tfng-key"));
  const type = (letter) => {
    const start = correction.selectionStart ?? correction.value.length;
    const end = correction.selectionEnd ?? start;
    correction.setRangeText(letter, start, end, "end");
    correction.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const move = (from, to) => {
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
  };
  const perRow = () => {
    const top = keys[0].offsetTop;
    const n = keys.findIndex((k) => k.offsetTop !== top);
    return n > 0 ? n : keys.length;
  };
  keys.forEach((key, i) => {
    key.addEventListener("click", () => type(key.dataset.letter));
    key.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow(), ArrowUp: -perRow() }[e.key];
      if (step === undefined) return;
      e.preventDefault();
      move(key, keys[Math.min(keys.length - 1, Math.max(0, i + step))]);
    });
  });
})();
