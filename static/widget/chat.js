/* The customer's chat widget (docs/widget.md). Everything shown comes from the socket. The
   page keeps its conversation token and its unacked messages in localStorage, so a reload
   opens the same conversation (from seq 0: a fresh page shows nothing yet); a dropped
   connection resumes from the last seq this page showed. */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root) return;
  var KEY = "baton-widget";
  var log = document.getElementById("chat-log");
  var alertBox = document.getElementById("chat-alert");
  var queue = document.getElementById("chat-queue");
  var typingLine = document.getElementById("chat-typing");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var offline = document.getElementById("chat-offline");
  var survey = document.getElementById("chat-survey");
  var surveyParts = document.getElementById("chat-survey-parts");
  var newChat = document.getElementById("chat-new");

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(KEY) || "null");
      // A conversation kept for another customer on this browser is not theirs to resume.
      if (saved && typeof saved.token === "string" && saved.customer === root.dataset.customer) {
        return saved;
      }
    } catch (e) { /* a broken entry starts afresh */ }
    return null;
  }
  var store = load() || {
    token: root.dataset.token, customer: root.dataset.customer, pending: [], skipped: false
  };
  store.pending = store.pending || [];
  function save() { localStorage.setItem(KEY, JSON.stringify(store)); }
  save();

  var socket = null;
  var retries = 0;
  var lost = false;
  var shown = {};
  var lastSeq = 0;
  var ended = false;

  function announce(text) {
    // Re-set so the same words are announced again.
    alertBox.textContent = "";
    window.setTimeout(function () { alertBox.textContent = text; }, 30);
  }

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var WHO = { customer: "You", ai: "Assistant", system: "" };

  function bubble(role, text, author) {
    var item = document.createElement("li");
    item.className = "msg msg-" + role;
    var who = role === "agent" ? (author || "Our team") : WHO[role];
    if (who) {
      var name = document.createElement("span");
      name.className = "msg-who";
      name.textContent = who;
      item.appendChild(name);
    }
    var body = document.createElement("p");
    body.className = "msg-text";
    body.textContent = text;
    item.appendChild(body);
    return item;
  }

  function setStatus(item, state, detail) {
    var status = item.querySelector(".msg-status");
    if (!status) {
      status = document.createElement("span");
      status.className = "msg-status";
      item.appendChild(status);
    }
    item.dataset.state = state;
    status.textContent = detail || { sending: "Sending…", delivered: "Delivered", failed: "Not sent" }[state];
  }

  function ownBubble(clientId) {
    return log.querySelector('li[data-client="' + clientId + '"]');
  }

  function showPending(entry) {
    if (ownBubble(entry.id)) return;
    var item = bubble("customer", entry.text);
    item.dataset.client = entry.id;
    setStatus(item, "sending");
    log.appendChild(item);
    scroll();
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function onEvent(frame) {
    lastSeq = Math.max(lastSeq, frame.seq);
    if (shown[frame.id]) return;
    shown[frame.id] = true;
    var item = frame.client_id ? ownBubble(frame.client_id) : null;
    if (item) {
      setStatus(item, "delivered");
    } else {
      item = bubble(frame.role, frame.text, frame.author);
      if (frame.client_id) { item.dataset.client = frame.client_id; setStatus(item, "delivered"); }
      log.appendChild(item);
      if (frame.role === "agent" || frame.role === "ai") typing(false);
    }
    item.dataset.id = frame.id;
    dropPending(frame.client_id);
    scroll();
  }

  function dropPending(clientId) {
    if (!clientId) return;
    store.pending = store.pending.filter(function (p) { return p.id !== clientId; });
  }

  function onAck(frame) {
    var item = ownBubble(frame.id);
    if (item) setStatus(item, "delivered");
    dropPending(frame.id);
    save();
  }

  function onError(frame) {
    var item = frame.id ? ownBubble(frame.id) : null;
    if (item) {
      setStatus(item, "failed", "Not sent: " + frame.detail);
      dropPending(frame.id);
      save();
    }
    announce(frame.detail);
  }

  var typingTimer = null;
  function typing(on) {
    window.clearTimeout(typingTimer);
    typingLine.hidden = !on;
    typingLine.textContent = on ? "Someone from our team is typing…" : "";
    if (on) typingTimer = window.setTimeout(function () { typing(false); }, 6000);
  }

  function onState(frame) {
    ended = frame.ended;
    if (frame.waiting) {
      queue.textContent = queueText(frame.queue);
    } else if (frame.owner === "human" && !frame.ended) {
      queue.textContent = frame.agent
        ? "You're chatting with " + frame.agent + " from our team."
        : "You're chatting with a person from our team.";
    } else {
      queue.textContent = "";
    }
    offline.hidden = frame.agents_online || frame.closed;
    form.hidden = frame.closed;
    newChat.hidden = !frame.closed;
    document.getElementById("chat-end").hidden = frame.closed;
    showSurvey(frame.survey || []);
    // The panels above the box took room from the log: keep its newest line in view.
    scroll();
  }

  // The estimate comes from the server, or not at all: no number is made up here.
  function queueText(q) {
    var text = "You're in the queue for a person from our team. You don't need to repeat anything.";
    if (!q) return text;
    if (q.next_available) return text + " You're next: someone will be with you shortly.";
    text += " You're number " + q.position + " in the queue.";
    if (q.low_minutes && q.high_minutes) {
      text += q.low_minutes === q.high_minutes
        ? " Expected wait: about " + q.low_minutes + " min."
        : " Expected wait: usually " + q.low_minutes + "–" + q.high_minutes + " min.";
    }
    return text;
  }

  // Parts are added as they become due and never redrawn: a rating or comment half written
  // in one part survives the other part's answer.
  function showSurvey(parts) {
    if (store.skipped) { survey.hidden = true; return; }
    parts.forEach(function (part) {
      if (!surveyParts.querySelector('[data-part="' + part.part + '"]')) {
        surveyParts.appendChild(surveyForm(part));
      }
    });
    survey.hidden = !surveyParts.children.length;
  }

  function surveyForm(part) {
    var f = document.createElement("form");
    f.className = "survey-part";
    f.dataset.part = part.part;
    var set = document.createElement("fieldset");
    var legend = document.createElement("legend");
    legend.textContent = part.question + " (1 = not at all, 5 = completely)";
    set.appendChild(legend);
    var scale = document.createElement("div");
    scale.className = "survey-scale";
    for (var n = 1; n <= 5; n++) {
      var label = document.createElement("label");
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "rating-" + part.part;
      radio.value = String(n);
      radio.required = true;
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + n));
      scale.appendChild(label);
    }
    set.appendChild(scale);
    var commentLabel = document.createElement("label");
    commentLabel.textContent = "Anything to add? (optional)";
    var comment = document.createElement("textarea");
    comment.rows = 1;
    comment.maxLength = 2000;
    commentLabel.appendChild(comment);
    set.appendChild(commentLabel);
    var send = document.createElement("button");
    send.type = "submit";
    send.textContent = "Send rating";
    set.appendChild(send);
    f.appendChild(set);
    f.addEventListener("submit", function (event) {
      event.preventDefault();
      var picked = f.querySelector("input[type=radio]:checked");
      if (!picked) return;
      if (!sendFrame({ type: "feedback", part: part.part, rating: Number(picked.value), comment: comment.value })) return;
      var thanks = document.createElement("p");
      thanks.className = "survey-thanks";
      thanks.dataset.part = part.part;
      thanks.textContent = "Thank you for rating.";
      f.replaceWith(thanks);
    });
    return f;
  }

  function sendFrame(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      announce("Not connected yet: try again in a moment.");
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + root.dataset.socket);
    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({ type: "hello", token: store.token, after: lastSeq }));
    });
    socket.addEventListener("message", function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame.type === "ready") {
        retries = 0;
        if (lost) { announce("Reconnected."); lost = false; }
        // Sent again with the same ids: stored once, acked as duplicates if they had landed.
        store.pending.forEach(function (p) {
          showPending(p);
          socket.send(JSON.stringify({ type: "message", id: p.id, text: p.text }));
        });
      } else if (frame.type === "event") { onEvent(frame); save(); }
      else if (frame.type === "ack") onAck(frame);
      else if (frame.type === "error") onError(frame);
      else if (frame.type === "state") onState(frame);
      else if (frame.type === "typing") typing(true);
      else if (frame.type === "notice") announce(frame.detail);
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4403 || event.code === 4401) {
        // This page's conversation cannot be opened any more: start a new one.
        announce("That conversation has expired. You can start a new chat.");
        startOver();
        return;
      }
      lost = true;
      announce("Connection lost. Reconnecting…");
      var wait = Math.min(10000, 500 * Math.pow(2, retries++));
      window.setTimeout(connect, wait);
    });
  }

  function startOver() {
    store = { token: root.dataset.token, customer: root.dataset.customer, pending: [], skipped: false };
    save();
    window.location.reload();
  }

  function send() {
    var text = input.value.trim();
    if (!text) return;
    var entry = { id: newId(), text: text };
    store.pending.push(entry);
    save();
    showPending(entry);
    input.value = "";
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "message", id: entry.id, text: text }));
    }
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); send(); input.focus(); });
  var lastTyping = 0;
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping > 3000 && input.value && socket && socket.readyState === WebSocket.OPEN) {
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });
  document.getElementById("chat-offline-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var email = document.getElementById("chat-offline-email");
    var entry = { id: newId(), text: "No one was online: please reply to me by email at " + email.value + "." };
    showPending(entry);
    if (sendFrame({ type: "email_reply", id: entry.id, email: email.value })) email.value = "";
  });
  document.getElementById("chat-transcript-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var email = document.getElementById("chat-transcript-email");
    sendFrame({ type: "transcript", email: email.value });
  });
  document.getElementById("chat-end").addEventListener("click", function () {
    sendFrame({ type: "end" });
  });
  document.getElementById("chat-survey-skip").addEventListener("click", function () {
    store.skipped = true;
    save();
    survey.hidden = true;
    input.focus();
  });
  newChat.addEventListener("click", startOver);

  connect();
})();
