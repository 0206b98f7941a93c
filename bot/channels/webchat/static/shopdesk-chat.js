/*
 * shopdesk web chat: a chat window for a shop's page, talking to the Rasa server over
 * Rasa's socket.io channel. Embed with
 *
 *   <script src="https://chat.example-shop.com/shopdesk-chat.js"
 *           data-socket-url="https://bot.example-shop.com" defer></script>
 *
 * A shop whose customer is logged in may add `data-order-token="<token>"` (minted by the
 * shop's server, see bot/answers/order_tokens.py): it travels in every message's metadata, and the
 * bot then answers about that order without asking for its e-mail.
 *
 * It needs the socket.io client served next to it (/vendor/socket.io.min.js, installed by
 * scripts/setup.sh from npm). The conversation id and the messages shown are kept in the
 * browser's local storage, so a reload continues the same conversation.
 *
 * The conversation id is issued and signed by the server (bot/channels/socketio.py): the
 * widget presents the one it kept and uses whatever `session_confirm` returns. A different
 * id means the server did not accept the old one: a new conversation, so the old messages
 * are cleared. Messages are sent only once the server has confirmed the session; one the
 * server refuses (too many too fast) is taken back, and its text returned to the input.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var SOCKET_URL = script.getAttribute("data-socket-url") || window.location.origin;
  var ORDER_TOKEN = script.getAttribute("data-order-token") || "";
  var BASE = script.src.replace(/\/[^/]*$/, "");
  var STORAGE_KEY = "shopdesk-chat";
  var REPLY_WAIT_MS = 900; // typing dots stay until the bot has been quiet this long
  var HISTORY_LIMIT = 200;

  var state = load();
  var socket = null;
  var ready = false; // the server has confirmed this socket's session
  var typingTimer = null;
  var ui = {};

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "{}");
      return {
        sessionId: saved.sessionId || null,
        messages: Array.isArray(saved.messages) ? saved.messages : [],
        handedOver: Boolean(saved.handedOver),
        open: Boolean(saved.open)
      };
    } catch (error) {
      return { sessionId: null, messages: [], handedOver: false, open: false };
    }
  }

  function save() {
    state.messages = state.messages.slice(-HISTORY_LIMIT);
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (error) { /* private mode or full storage: the chat still works */ }
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Text with links made clickable; never HTML: every message is plain text.
  function withLinks(text) {
    var fragment = document.createDocumentFragment();
    var pattern = /https?:\/\/[^\s<>"')]+/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = element("a", null, match[0]);
      link.href = match[0];
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      fragment.appendChild(link);
      last = match.index + match[0].length;
    }
    fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  function redraw() {
    ui.log.textContent = "";
    state.messages.forEach(render);
  }

  function render(message) {
    var row = element("div", "sd-msg sd-" + message.from);
    if (message.text) {
      var bubble = element("div", "sd-bubble");
      bubble.appendChild(withLinks(message.text));
      row.appendChild(bubble);
    }
    if (message.buttons && message.buttons.length && !message.answered) {
      var buttons = element("div", "sd-buttons");
      message.buttons.forEach(function (button) {
        var choice = element("button", "sd-quick-reply", button.title);
        choice.type = "button";
        choice.addEventListener("click", function () {
          if (!send(button.payload, button.title)) return; // not connected: keep the buttons
          message.answered = true;
          buttons.remove();
        });
        buttons.appendChild(choice);
      });
      row.appendChild(buttons);
    }
    ui.log.appendChild(row);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function add(message) {
    state.messages.push(message);
    save();
    render(message);
  }

  function setStatus(text) {
    ui.status.textContent = text;
    ui.status.hidden = !text;
  }

  function showHandover() {
    ui.handover.hidden = !state.handedOver;
  }

  function typing(on) {
    window.clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    if (on) ui.log.appendChild(ui.typing);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // False when the message could not leave (not connected yet): the caller keeps its text.
  function send(payload, shownAs) {
    var text = (payload || "").trim();
    if (!text) return true;
    if (!socket || !ready) {
      setStatus("Connecting to the shop's assistant…");
      return false;
    }
    setStatus("");
    add({ from: "user", text: shownAs || text, payload: text });
    var message = { message: text, session_id: state.sessionId };
    if (ORDER_TOKEN) message.metadata = { order_token: ORDER_TOKEN };
    socket.emit("user_uttered", message);
    if (!state.handedOver) {
      typing(true);
      typingTimer = window.setTimeout(function () { typing(false); }, 20000);
    }
    return true;
  }

  // The server did not handle a message: take its bubble back and say why.
  function refused(message) {
    var why = message.refused || {};
    typing(false);
    for (var i = state.messages.length - 1; i >= 0; i--) {
      var sent = state.messages[i];
      if (sent.from === "user" && sent.payload === why.message) {
        state.messages.splice(i, 1);
        save();
        redraw();
        if (sent.text === sent.payload && !ui.input.value) ui.input.value = sent.text;
        break;
      }
    }
    if (why.reason === "session") {
      ready = false;
      socket.emit("session_request", { session_id: state.sessionId });
    }
    setStatus(message.text || "The message was not sent; please try again.");
  }

  function receive(message) {
    if (message && message.refused) {
      refused(message);
      return;
    }
    if (message && message.handoff) {
      state.handedOver = true;
      save();
      showHandover();
      return;
    }
    var buttons = (message.quick_replies || message.buttons || []).map(function (b) {
      return { title: b.title, payload: b.payload };
    });
    add({ from: "bot", text: message.text || "", buttons: buttons });
    typing(true);
    typingTimer = window.setTimeout(function () { typing(false); }, REPLY_WAIT_MS);
  }

  function connect() {
    socket = window.io(SOCKET_URL, { path: "/socket.io", transports: ["websocket", "polling"] });
    // On every (re)connect, rejoin the same conversation.
    socket.on("connect", function () {
      setStatus("");
      ready = false;
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", function (sessionId) {
      var id = typeof sessionId === "string" ? sessionId : (sessionId || {}).session_id;
      if (!id) return;
      if (state.sessionId && id !== state.sessionId) {
        // Not the conversation shown: the server started a new one.
        state.messages = [];
        state.handedOver = false;
        redraw();
        showHandover();
      }
      state.sessionId = id;
      ready = true;
      save();
      setStatus("");
    });
    socket.on("bot_uttered", receive);
    socket.on("disconnect", function () {
      ready = false;
      setStatus("Reconnecting…");
    });
    socket.on("connect_error", function () { setStatus("Can't reach the shop's assistant, retrying…"); });
  }

  function build() {
    var style = element("link");
    style.rel = "stylesheet";
    style.href = BASE + "/shopdesk-chat.css";
    document.head.appendChild(style);

    ui.toggle = element("button", "sd-toggle", "Chat with us");
    ui.toggle.type = "button";
    ui.panel = element("section", "sd-panel");
    ui.panel.setAttribute("aria-label", "Chat with the shop's assistant");
    var header = element("header", "sd-header", "Larkspur & Co. help");
    var close = element("button", "sd-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close chat");
    header.appendChild(close);
    ui.handover = element("p", "sd-handover", "A person from our support team has taken over this chat and will reply here.");
    ui.status = element("p", "sd-status");
    ui.log = element("div", "sd-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.typing = element("div", "sd-msg sd-bot sd-typing");
    ui.typing.setAttribute("aria-label", "The assistant is typing");
    ui.typing.appendChild(element("span"));
    ui.typing.appendChild(element("span"));
    ui.typing.appendChild(element("span"));
    var form = element("form", "sd-form");
    ui.input = element("input", "sd-input");
    ui.input.placeholder = "Type your question…";
    ui.input.setAttribute("aria-label", "Your message");
    ui.input.maxLength = 2000;
    var submit = element("button", "sd-send", "Send");
    submit.type = "submit";
    form.appendChild(ui.input);
    form.appendChild(submit);
    ui.panel.append(header, ui.handover, ui.status, ui.log, form);
    document.body.append(ui.toggle, ui.panel);

    function setOpen(open) {
      state.open = open;
      save();
      ui.panel.hidden = !open;
      ui.toggle.hidden = open;
      if (open) ui.input.focus();
    }
    ui.toggle.addEventListener("click", function () { setOpen(true); });
    close.addEventListener("click", function () { setOpen(false); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (send(ui.input.value)) ui.input.value = "";
    });

    redraw();
    typing(false);
    setStatus("");
    showHandover();
    setOpen(state.open);
  }

  function start() {
    build();
    if (window.io) {
      connect();
      return;
    }
    var client = element("script");
    client.src = BASE + "/vendor/socket.io.min.js";
    client.onload = connect;
    client.onerror = function () { setStatus("The chat could not load. Please reload the page."); };
    document.head.appendChild(client);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
