/* Baton's chat widget for another site (docs/widget.md):
     <script src="https://baton.example.com/static/widget/embed.js" defer
             data-customer-token="…the shop's signed customer token, optional…"></script>
   It adds a "Chat with us" button that opens Baton's /chat/ page in an iframe: the chat runs
   on Baton's origin, apart from the shop's page and its scripts. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = script.dataset.batonOrigin || new URL(script.src).origin;
  var url = new URL("/chat/", origin);
  url.searchParams.set("embed", "1");
  if (script.dataset.customerToken) url.searchParams.set("customer", script.dataset.customerToken);

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = script.dataset.label || "Chat with us";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "baton-chat-frame");
  var b = button.style;
  b.position = "fixed"; b.right = "1rem"; b.bottom = "1rem"; b.zIndex = "2147483001";
  b.padding = ".7rem 1.1rem"; b.borderRadius = "2rem"; b.border = "0";
  b.background = "#0b5cad"; b.color = "#fff"; b.font = "600 1rem system-ui, sans-serif";
  b.cursor = "pointer"; b.boxShadow = "0 2px 8px rgba(0,0,0,.25)";

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "baton-chat-frame";
      frame.title = "Chat with us";
      frame.src = url.toString();
      var f = frame.style;
      f.position = "fixed"; f.zIndex = "2147483000"; f.border = "1px solid #d0d7de";
      f.borderRadius = ".75rem"; f.background = "#fff"; f.boxShadow = "0 4px 20px rgba(0,0,0,.25)";
      var phone = window.matchMedia("(max-width: 480px)").matches;
      // On a phone the chat fills the screen above the button, which stays free to close it.
      f.right = phone ? "0" : "1rem"; f.bottom = "4.5rem";
      if (phone) { f.top = "0"; }
      f.width = phone ? "100vw" : "24rem"; f.height = phone ? "auto" : "min(36rem, 80vh)";
      document.body.appendChild(frame);
    }
    var opening = frame.hidden || !frame.isConnected || button.getAttribute("aria-expanded") === "false";
    frame.hidden = !opening;
    button.setAttribute("aria-expanded", String(opening));
    button.textContent = opening ? "Close chat" : (script.dataset.label || "Chat with us");
    if (opening) frame.focus();
  }
  button.addEventListener("click", open);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && frame && !frame.hidden) open();
  });
  (document.body ? Promise.resolve() : new Promise(function (r) { document.addEventListener("DOMContentLoaded", r); }))
    .then(function () { document.body.appendChild(button); });
})();
