// The pane's only script: show the chosen type's examples in the chosen formats,
// the fields of the chosen authentication, and add key/value rows. Every form
// works without it.
(function () {
  "use strict";
  function $(selector, root) { return (root || document).querySelector(selector); }
  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  // The request example in the Content type, the expected answers in the Accept format.
  function showExamples() {
    var type = $("#type"), sent = $("#content_type"), accept = $("#accept");
    if (!type) { return; }
    all(".example").forEach(function (section) { section.hidden = section.dataset.type !== type.value; });
    all(".example .fmt").forEach(function (pre) {
      var chosen = pre.dataset.part === "request" ? sent : accept;
      pre.hidden = pre.dataset.format !== (chosen ? chosen.value : "json");
    });
  }

  function showAuth() {
    var auth = $("#auth");
    if (!auth) { return; }
    all(".auth").forEach(function (box) { box.hidden = box.dataset.auth !== auth.value; });
  }

  function showSigning() {
    var signing = $("#signing"), field = $(".signing-secret");
    if (signing && field) { field.hidden = signing.value !== "set"; }
  }

  document.addEventListener("change", function (event) {
    var id = event.target.id;
    if (id === "type" || id === "content_type" || id === "accept") { showExamples(); }
    if (id === "auth") { showAuth(); }
    if (id === "signing") { showSigning(); }
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-pair]");
    if (add) {
      var list = $('[data-pairs="' + add.dataset.addPair + '"]');
      var row = list.lastElementChild.cloneNode(true);
      all("input", row).forEach(function (input) { input.value = ""; });
      list.appendChild(row);
    }
    var confirmed = event.target.closest("[data-confirm]");
    if (confirmed && !window.confirm(confirmed.dataset.confirm)) { event.preventDefault(); }
  });

  showExamples();
  showAuth();
  showSigning();
})();
