// Keyboard shortcuts, assignment notifications, canned replies and the live indicator.
// Everything here is progressive: the desk works without it.
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]");
  }

  function clickKey(key) {
    var el = document.querySelector('[data-key="' + key + '"]:not([disabled])');
    if (!el) return false;
    el.click();
    return true;
  }

  var overlay = function () { return document.getElementById("shortcuts"); };
  var overlayOpener = null;

  function openOverlay() {
    overlayOpener = document.activeElement;
    overlay().hidden = false;
    document.getElementById("shortcuts-backdrop").hidden = false;
    overlay().focus();
  }

  function closeOverlay() {
    overlay().hidden = true;
    document.getElementById("shortcuts-backdrop").hidden = true;
    if (overlayOpener && overlayOpener.focus) overlayOpener.focus();
  }

  document.addEventListener("click", function (event) {
    // The close button, or a click on the backdrop.
    if (event.target.closest("[data-close-shortcuts]")) closeOverlay();
  });

  // The selected card, by case id, so a live push that redraws the list keeps it.
  var selectedCase = null;

  function select(card, focus) {
    document.querySelectorAll("#queue-cards .card.selected").forEach(function (c) {
      c.classList.remove("selected");
    });
    card.classList.add("selected");
    selectedCase = card.dataset.case;
    if (focus) card.querySelector("a").focus();
  }

  function moveSelection(step) {
    var cards = Array.prototype.slice.call(document.querySelectorAll("#queue-cards .card"));
    if (!cards.length) return;
    var current = cards.findIndex(function (c) { return c.classList.contains("selected"); });
    var next = Math.min(cards.length - 1, Math.max(0, current + step));
    select(cards[next], true);
  }

  function restoreSelection() {
    if (selectedCase === null) return;
    var card = document.querySelector('#queue-cards .card[data-case="' + selectedCase + '"]');
    var hadFocus = document.activeElement === document.body;
    if (card) select(card, hadFocus);
  }

  // A page restored from the back/forward cache shows a state that may have passed (its
  // socket was closed meanwhile): load it again, as it is now. Desk pages are no-store, so
  // browsers rarely keep one, but some do.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  // A live transcript stays at its newest message, unless the agent scrolled up to read.
  var transcriptAtEnd = true;
  document.addEventListener("scroll", function (event) {
    var list = event.target;
    if (list instanceof Element && list.matches("#transcript ol")) {
      transcriptAtEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    }
  }, true);

  function scrollTranscript() {
    var list = document.querySelector("#transcript ol");
    if (list && transcriptAtEnd) list.scrollTop = list.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", scrollTranscript);

  document.body.addEventListener("htmx:oobAfterSwap", function () {
    restoreSelection();
    scrollTranscript();
  });
  document.body.addEventListener("htmx:afterSwap", scrollTranscript);

  // Drafts: what an agent types in a case's reply box is kept in this browser, per case,
  // until it is sent, so a reload or a look at another case loses nothing. A kept draft wins
  // over the suggested reply the page fills in.
  function draftKey() {
    var ws = document.getElementById("workspace");
    return ws && ws.dataset.case ? "baton-draft-" + ws.dataset.case : null;
  }
  function restoreDraft() {
    var reply = document.getElementById("reply-text");
    var key = draftKey();
    if (!reply || !key || reply.dataset.draftRestored) return;
    reply.dataset.draftRestored = "1";
    reply.dataset.suggested = reply.value;
    var draft = localStorage.getItem(key);
    if (draft !== null && draft !== "") { reply.value = draft; checkLimit(reply); }
  }
  document.addEventListener("DOMContentLoaded", restoreDraft);
  document.body.addEventListener("htmx:afterSettle", restoreDraft);
  document.body.addEventListener("htmx:oobAfterSwap", restoreDraft);
  document.addEventListener("input", function (event) {
    if (event.target.id !== "reply-text") return;
    var key = draftKey();
    if (key) localStorage.setItem(key, event.target.value);
    typingSignal();
  });
  // Typed, as opposed to left as the page filled it in.
  function typedText(reply) {
    return reply.value.trim() !== "" && reply.value !== (reply.dataset.suggested || "");
  }

  // A sent reply empties the box (it is kept across other swaps: hx-preserve) and its draft.
  document.body.addEventListener("reply-sent", function () {
    var reply = document.getElementById("reply-text");
    if (reply) { reply.value = ""; reply.dataset.suggested = ""; checkLimit(reply); }
    var key = draftKey();
    if (key) localStorage.removeItem(key);
  });

  // Tell the others on the case that this person is typing (at most every 3 s).
  var lastTyping = 0;
  function typingSignal() {
    var signal = document.getElementById("typing-signal");
    if (!signal || Date.now() - lastTyping < 3000) return;
    lastTyping = Date.now();
    signal.dispatchEvent(new Event("baton-typing"));
  }
  document.body.addEventListener("note-added", function () {
    var note = document.getElementById("note-text");
    if (note) { note.value = ""; checkLimit(note); }
  });

  // The case page's side column: account and timeline as tabs (both show without script).
  document.addEventListener("DOMContentLoaded", setUpSideTabs);
  document.body.addEventListener("htmx:afterSettle", setUpSideTabs);
  function setUpSideTabs() {
    var side = document.querySelector(".side-col");
    if (!side || side.classList.contains("tabbed")) return;
    side.classList.add("tabbed");
    side.dataset.tab = sessionStorage.getItem("baton-side-tab") || "account";
    side.querySelector(".side-tabs").hidden = false;
  }
  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-side-tab]");
    if (!tab) return;
    tab.closest(".side-col").dataset.tab = tab.dataset.sideTab;
    sessionStorage.setItem("baton-side-tab", tab.dataset.sideTab);
  });

  // Length limits (data-limit): a live count, and a box over its limit keeps its form from
  // being sent (the browser says why). Nothing is cut: a maxlength would cut a paste.
  var numbers = new Intl.NumberFormat("en");
  function checkLimit(field) {
    var limit = parseInt(field.dataset.limit, 10);
    if (!limit) return;
    var length = field.value.length;
    var over = length > limit;
    field.setCustomValidity(over
      ? "This is " + numbers.format(length) + " characters; the limit is " +
        numbers.format(limit) + ". Shorten it by " + numbers.format(length - limit) + "."
      : "");
    var counter = document.querySelector('[data-count-for="' + field.id + '"]');
    if (!counter) return;
    // A one-line field counts only once it nears its limit; the reply box always does.
    var shown = field.tagName === "TEXTAREA" || length > limit * 0.8;
    counter.textContent = shown ? numbers.format(length) + " / " + numbers.format(limit) : "";
    counter.classList.toggle("over", over);
  }
  function checkLimits() {
    document.querySelectorAll("[data-limit]").forEach(checkLimit);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-limit]")) checkLimit(event.target);
  });
  document.addEventListener("DOMContentLoaded", checkLimits);
  document.body.addEventListener("htmx:afterSettle", checkLimits);
  // A pushed redraw settles its elements' attributes after the swap (htmx's settle delay), which
  // would take the counter's "over" class off again: count once more after it.
  document.body.addEventListener("htmx:oobAfterSwap", function () {
    checkLimits();
    window.setTimeout(checkLimits, 100);
  });

  // A request that fails says so, instead of doing nothing.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 404
      ? "That case is no longer yours to see (it may have moved to another team). Go back to the queue."
      : status === 403
        ? "You are not allowed to do that."
        : "Something went wrong (" + status + "). Nothing may have been saved; try again.";
    var flash = document.createElement("ul");
    flash.className = "flash";
    flash.setAttribute("role", "alert");
    flash.innerHTML = '<li class="error"></li>';
    flash.firstChild.textContent = text;
    var where = document.getElementById("workspace") || document.querySelector("main");
    if (where) where.prepend(flash);
  });
  document.body.addEventListener("htmx:sendError", function () {
    var live = document.getElementById("live-status");
    if (live) { live.textContent = "Offline: not saved"; live.classList.add("offline"); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "reply-text") {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (event.key === "Escape" && overlay() && !overlay().hidden) {
      closeOverlay();
      return;
    }
    // Esc leaves a field, so the shortcuts work again (what was typed stays).
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    // While the shortcut list is open, keys do not act on the page behind it.
    if (overlay() && !overlay().hidden && event.key !== "?") return;
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    switch (event.key) {
      case "?":
        if (overlay()) { if (overlay().hidden) openOverlay(); else closeOverlay(); }
        break;
      case "n":
        window.location.href = "/next/";
        break;
      case "j":
        moveSelection(1);
        break;
      case "k":
        moveSelection(-1);
        break;
      case "r":
        var reply = document.getElementById("reply-text");
        if (reply) { event.preventDefault(); reply.focus(); }
        break;
      case "e":
        var outcome = document.getElementById("resolve-outcome");
        if (outcome) { event.preventDefault(); outcome.focus(); }
        break;
      case "i":
        var note = document.getElementById("note-text");
        if (note) { event.preventDefault(); note.focus(); }
        break;
      case "m":
        var target = document.getElementById("transfer-target");
        if (target) { event.preventDefault(); target.focus(); }
        break;
      case "x":
        var reason = document.querySelector("#actions form input[name=note][aria-label='Rejection reason']");
        if (reason) { event.preventDefault(); reason.focus(); }
        break;
      case "a":
      case "t":
        if (clickKey(event.key)) event.preventDefault();
        break;
    }
  });

  // Enter on the outcome list (where `e` puts the focus) resolves with that outcome.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.id === "resolve-outcome" && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  // Canned replies fill the reply box; over typed text only if the agent says so.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select.macros") && event.target.value) {
      var reply = document.getElementById("reply-text");
      if (reply && (!typedText(reply) ||
          window.confirm("Replace what you have typed with this canned reply?"))) {
        reply.value = event.target.value;
        checkLimit(reply);
        var key = draftKey();
        if (key) localStorage.setItem(key, reply.value);
      }
      if (reply) reply.focus();
      event.target.value = "";
    }
  });

  // Optional browser notification and a short tone on a new assignment.
  var toggle = function () { return document.getElementById("notify-toggle"); };
  document.addEventListener("DOMContentLoaded", function () {
    var box = toggle();
    if (!box) return;
    box.checked = localStorage.getItem("baton-notify") === "1";
    box.addEventListener("change", function () {
      localStorage.setItem("baton-notify", box.checked ? "1" : "0");
      if (box.checked && "Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
  });

  function tone() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio: the visual cue is enough */ }
  }

  document.body.addEventListener("htmx:wsAfterMessage", function (event) {
    var notice = document.getElementById("notify");
    if (!notice || !notice.dataset.case || notice.dataset.seen === notice.dataset.case) return;
    notice.dataset.seen = notice.dataset.case;
    if (localStorage.getItem("baton-notify") !== "1") return;
    tone();
    if ("Notification" in window && Notification.permission === "granted") {
      // One notification per case, however many desk tabs are open (the tag replaces).
      var n = new Notification(notice.dataset.title || "A case is yours now", {
        body: notice.dataset.body || "",
        tag: "baton-case-" + notice.dataset.case,
      });
      n.onclick = function () { window.location.href = "/cases/" + notice.dataset.case + "/"; };
    }
  });

  // Supervisor controls answer with their panels out of band, a refused input with 400 and
  // the panel saying why: show it.
  var fromControls = function (elt) { return elt && elt.closest && elt.closest("[data-controls]"); };
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 400 && fromControls(event.detail.elt)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // The control's own push may redraw its panel before the answer arrives: the form that
  // asked is then detached, and htmx looks for the answer's out-of-band targets in the
  // detached panel. Swap them into the page as it is now.
  var controlPanels = ["supervisor-controls", "control-flash", "supervisor-alerts"];
  document.body.addEventListener("htmx:oobErrorNoTarget", function (event) {
    var content = event.detail.content;
    if (!content || controlPanels.indexOf(content.id) < 0) return;
    var target = document.getElementById(content.id);
    if (!target) return;
    content.removeAttribute("hx-swap-oob");
    htmx.swap(target, content.outerHTML, { swapStyle: "outerHTML" });
  });

  // Supervisors who opt in get a browser notification when a pushed alerts panel carries a
  // newly raised alert (or one that turned red).
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("alert-notify-toggle");
    if (!box) return;
    box.checked = localStorage.getItem("baton-alert-notify") === "1";
    box.addEventListener("change", function () {
      localStorage.setItem("baton-alert-notify", box.checked ? "1" : "0");
      if (box.checked && "Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
  });
  var alertSeen = "";
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    var notice = document.getElementById("alert-notify");
    if (!notice || !notice.dataset.alert || notice.dataset.alert === alertSeen) return;
    alertSeen = notice.dataset.alert;
    if (localStorage.getItem("baton-alert-notify") !== "1") return;
    tone();
    if ("Notification" in window && Notification.permission === "granted") {
      // One notification per alert and level, however many console tabs are open.
      var n = new Notification(notice.dataset.title || "Alert", {
        body: notice.dataset.body || "",
        tag: "baton-alert-" + notice.dataset.alert,
      });
      n.onclick = function () { window.focus(); };
    }
  });

  document.body.addEventListener("htmx:wsOpen", function () {
    var live = document.getElementById("live-status");
    if (live) { live.textContent = "Live"; live.classList.remove("offline"); }
  });
  document.body.addEventListener("htmx:wsClose", function () {
    var live = document.getElementById("live-status");
    if (live) { live.textContent = "Reconnecting…"; live.classList.add("offline"); }
  });
})();
