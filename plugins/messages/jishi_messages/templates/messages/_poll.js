/* Progressive enhancement of the buyer's conversation page: every few
   seconds, ask the API for messages newer than the last one shown, add
   them, and mark the conversation read. Without JavaScript the page works
   as is (reload to see new messages). */
(function () {
  var box = document.querySelector("[data-poll-url]");
  if (!box || !window.fetch) return;
  var list = box.querySelector("[data-messages]");
  var seconds = parseInt(box.dataset.pollSeconds, 10) || 10;
  function lastId() {
    var items = list.querySelectorAll("[data-message-id]");
    return items.length ? parseInt(items[items.length - 1].dataset.messageId, 10) : 0;
  }
  function who(m) {
    if (m.side === "platform") return box.dataset.platform;
    return m.mine ? box.dataset.me : box.dataset.shop;
  }
  function add(m) {
    if (document.getElementById("m" + m.id)) return;
    var empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.className = "msg side-" + m.side + (m.mine ? " mine" : "");
    li.id = "m" + m.id;
    li.dataset.messageId = m.id;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = who(m);
    li.appendChild(meta);
    if (m.body) {
      var b = document.createElement("div");
      b.className = "bubble";
      b.textContent = m.body;
      li.appendChild(b);
    }
    if (m.product) {
      var c = document.createElement("div");
      c.className = "msg-card";
      c.textContent = m.product.name;
      li.appendChild(c);
    }
    if (m.order) {
      var o = document.createElement("div");
      o.className = "msg-card";
      o.textContent = m.order.number;
      li.appendChild(o);
    }
    (m.images || []).forEach(function (pic) {
      var url = pic.urls.medium || pic.urls.large || Object.values(pic.urls)[0];
      if (!url) return;
      var img = document.createElement("img");
      img.src = url;
      img.alt = "";
      li.appendChild(img);
    });
    list.appendChild(li);
  }
  // Shown messages are marked read; a mark that failed (a dropped
  // connection, a busy server) is asked again at the next poll.
  var unreadShown = false;
  function markRead() {
    var token = document.querySelector("input[name=csrf_token]");
    return fetch(box.dataset.readUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
      body: "{}"
    }).then(function (r) { if (r.ok) unreadShown = false; });
  }
  function poll() {
    fetch(box.dataset.pollUrl + "?after=" + lastId(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.messages.length) {
          data.messages.forEach(add);
          unreadShown = true;
        }
        if (unreadShown) return markRead();
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, seconds * 1000); });
  }
  setTimeout(poll, seconds * 1000);
})();
