/* medlens review UI: sends the CSRF token with every htmx request, shows 4xx answers in #messages, and binds the
   keyboard shortcuts documented in docs/review-ui.md. No inline script anywhere (the pages' CSP forbids it). */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });

  // 4xx answers carry a short HTML message (no record text): show it instead of dropping it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    if (status >= 400 && status < 500) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
      e.detail.target = document.getElementById("messages") || e.detail.target;
    }
  });

  function typing(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function byId(id) { return document.getElementById(id); }

  function open(id) {
    var el = byId(id);
    if (!el) { return; }
    if (el.tagName === "DIALOG") {
      if (!el.open) { el.showModal(); }
    } else {
      el.hidden = false;
    }
    var first = el.querySelector("select, input, button");
    if (first) { first.focus(); }
  }

  function close(id) {
    var el = byId(id);
    if (!el) { return; }
    if (el.tagName === "DIALOG") { if (el.open) { el.close(); } } else { el.hidden = true; }
  }

  function submit(id) {
    var form = byId(id);
    if (form) { form.requestSubmit(); }
  }

  // Queue-like tables: rows with data-href, one selected.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.qrow")); }

  function moveSelection(step) {
    var all = rows();
    if (!all.length) { return; }
    var at = all.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = Math.max(0, Math.min(all.length - 1, (at < 0 ? 0 : at + step)));
    all.forEach(function (r) { r.classList.remove("selected"); });
    all[next].classList.add("selected");
    all[next].scrollIntoView({ block: "nearest" });
  }

  function openSelection() {
    var row = document.querySelector("tr.qrow.selected");
    if (row && row.dataset.href) { window.location.assign(row.dataset.href); }
  }

  function toggleHelp() {
    var help = byId("help");
    if (help) { help.hidden = !help.hidden; }
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("[data-open], [data-close], [data-help-toggle], tr.qrow") : null;
    if (!t) { return; }
    if (t.hasAttribute("data-help-toggle")) { toggleHelp(); return; }
    if (t.dataset.open) { var el = byId(t.dataset.open); if (el && !el.hidden && el.tagName !== "DIALOG") { close(t.dataset.open); } else { open(t.dataset.open); } return; }
    if (t.dataset.close) { close(t.dataset.close); return; }
    if (t.classList.contains("qrow") && e.target.tagName !== "A") {
      rows().forEach(function (r) { r.classList.remove("selected"); });
      t.classList.add("selected");
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.altKey || e.metaKey) { return; }
    var active = document.activeElement;
    if (e.key === "Escape") {
      close("reject-dialog");
      var help = byId("help");
      if (help) { help.hidden = true; }
      return;
    }
    if (e.ctrlKey) {
      if (e.key === "Enter" && active && active.form && active.form.id === "edit-form") {
        e.preventDefault();
        submit("edit-form");
      }
      return;
    }
    if (e.key === "Enter" && active && active.tagName === "SELECT" && active.form && active.form.id === "reject-form") {
      e.preventDefault();
      submit("reject-form");
      return;
    }
    if (typing(active)) { return; }
    var body = document.body;
    var list = body.dataset.page !== "review";
    switch (e.key) {
      case "?": toggleHelp(); break;
      case "j":
        if (list) { moveSelection(1); } else if (body.dataset.next) { window.location.assign(body.dataset.next); }
        break;
      case "k":
        if (list) { moveSelection(-1); } else if (body.dataset.prev) { window.location.assign(body.dataset.prev); }
        break;
      case "Enter": case "o":
        if (list) { openSelection(); } else { return; }
        break;
      case "a": if (byId("accept-form")) { submit("accept-form"); } else { return; } break;
      case "r": if (byId("reject-dialog")) { open("reject-dialog"); } else { return; } break;
      case "e": if (byId("edit-panel")) { open("edit-panel"); } else { return; } break;
      default: return;
    }
    e.preventDefault();
  });

  // Hovering a claim outlines its evidence in the text (and the reverse).
  function focusClaim(cid, on) {
    document.querySelectorAll("mark[data-c], .claim[data-c]").forEach(function (m) {
      if ((" " + m.dataset.c + " ").indexOf(" " + cid + " ") >= 0) { m.classList.toggle("focus", on); }
    });
  }
  ["mouseover", "mouseout"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      var el = e.target.closest ? e.target.closest(".claim[data-c], mark[data-c]") : null;
      if (el) { el.dataset.c.split(" ").forEach(function (cid) { focusClaim(cid, type === "mouseover"); }); }
    });
  });
})();
