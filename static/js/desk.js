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

  function moveSelection(step) {
    var cards = Array.prototype.slice.call(document.querySelectorAll("#queue-cards .card"));
    if (!cards.length) return;
    var current = cards.findIndex(function (c) { return c.classList.contains("selected"); });
    var next = Math.min(cards.length - 1, Math.max(0, current + step));
    cards.forEach(function (c) { c.classList.remove("selected"); });
    cards[next].classList.add("selected");
    cards[next].querySelector("a").focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "reply-text") {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (event.key === "Escape" && overlay() && !overlay().hidden) {
      overlay().hidden = true;
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    switch (event.key) {
      case "?":
        if (overlay()) overlay().hidden = !overlay().hidden;
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

  // Canned replies fill the reply box.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select.macros") && event.target.value) {
      var reply = document.getElementById("reply-text");
      if (reply) { reply.value = event.target.value; reply.focus(); }
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
      var n = new Notification("New case assigned", { body: notice.dataset.title || "" });
      n.onclick = function () { window.location.href = "/cases/" + notice.dataset.case + "/"; };
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
