// Keyboard shortcuts for reviewing; every action also works without JavaScript.
(function () {
  "use strict";
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }
  function messages() { return Array.from(document.querySelectorAll("[data-message]")); }
  function current() {
    var list = messages();
    var focused = list.indexOf(document.activeElement);
    return focused >= 0 ? list[focused] : null;
  }
  function move(step) {
    var list = messages();
    if (!list.length) return;
    var index = list.indexOf(current());
    var next = list[Math.min(list.length - 1, Math.max(0, index < 0 ? 0 : index + step))];
    next.focus();
    next.scrollIntoView({ block: "center" });
  }
  function press(role) {
    var message = current();
    var button = message && message.querySelector('[data-role="' + role + '"]');
    if (button) button.click();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var shortcut = document.querySelector('[data-shortcut="' + event.key + '"]');
    var handled = true;
    if (event.key === "j") move(1);
    else if (event.key === "k") move(-1);
    else if (event.key === "a") press("confirm");
    else if (event.key === "x") press("exclude");
    else if (event.key === "c") {
      var select = current() && current().querySelector('[data-role="intent"]');
      if (select) select.focus(); else handled = false;
    } else if (event.key === "r") {
      var form = document.getElementById("mark-reviewed");
      if (form) form.submit(); else handled = false;
    } else if (shortcut) shortcut.focus();
    else handled = false;
    if (handled) event.preventDefault();
  });
})();
