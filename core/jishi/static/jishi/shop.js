/* Storefront behaviour, all of it optional: every page works without it.

   - Live forms: a form marked data-live-form is posted in the background
     on every change, as its data-live-action button would post it (the
     checkout's Recalculate, the cart's Update), and each part of the page
     marked data-live="<name>" is replaced by the same part of the answer:
     totals are never stale. Submit buttons wait while it runs. The button
     stays (pages without JavaScript, a failed request).
   - Quantity steppers: an input[data-stepper] gets - and + buttons.
   - Confirmations: a button or form with data-confirm="question" asks first.
   - Galleries: a thumbnail [data-gallery-thumb="<url>"] in a [data-gallery]
     shows its image in the gallery's big picture (img.hero).
   - Recent searches: the search page's [data-recent-searches] keeps the
     words searched (its data-query) in this browser's localStorage (the
     last 10, newest first; nothing goes to the server) and lists them as
     links, with a button that clears them. data-record-only: keep the
     word, show nothing (a page of results).
   - Search suggestions (搜索联想): an input[data-suggest="<url>"][list]
     asks <url>?q=<what is typed> (GET /api/v1/search/suggestions) a
     moment after the buyer stops typing and offers the product names in
     its <datalist>; an answer to an older question is dropped.
*/
(function () {
  "use strict";

  function liveForm(form) {
    if (!window.fetch || !window.DOMParser || !window.FormData) return;
    var seq = 0;
    var timer = null;
    var action = form.getAttribute("data-live-action");

    function parts(root) {
      var out = {};
      root.querySelectorAll("[data-live]").forEach(function (el) { out[el.getAttribute("data-live")] = el; });
      return out;
    }

    function busy(on) {
      if (on) form.setAttribute("aria-busy", "true"); else form.removeAttribute("aria-busy");
      document.documentElement.toggleAttribute("data-live-busy", on);
      if (on) {
        form.querySelectorAll("button[type=submit]:not([disabled])").forEach(function (b) {
          b.disabled = true;
          b.setAttribute("data-live-disabled", "");
        });
      } else {
        form.querySelectorAll("button[data-live-disabled]").forEach(function (b) {
          b.disabled = false;
          b.removeAttribute("data-live-disabled");
        });
      }
    }

    function run() {
      var mine = ++seq;
      var data = new FormData(form);
      if (action) data.set("action", action);
      busy(true);
      // form.action would be the button named "action": read the attribute
      fetch(form.getAttribute("action") || location.href, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (resp) {
          if (!resp.ok) throw new Error(String(resp.status));
          return resp.text().then(function (html) { return { url: resp.url, html: html }; });
        })
        .then(function (answer) {
          if (mine !== seq) return; // a later change is on its way
          var doc = new DOMParser().parseFromString(answer.html, "text/html");
          var now = parts(document);
          var fresh = parts(doc);
          var same = new URL(answer.url).pathname === location.pathname &&
            Object.keys(now).sort().join("|") === Object.keys(fresh).sort().join("|");
          if (!same) { // another page (the cart emptied, signed out...): go there
            location.href = answer.url;
            return;
          }
          Object.keys(now).forEach(function (name) { now[name].replaceWith(document.importNode(fresh[name], true)); });
          busy(false);
          form.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
        })
        .catch(function () {
          if (mine !== seq) return;
          busy(false);
        });
    }

    form.addEventListener("change", function (e) {
      if (e.target.closest("[data-live-ignore]")) return;
      clearTimeout(timer);
      if (e.target.type === "number") { // typing or stepping: wait for a pause, placing waits too
        busy(true);
        timer = setTimeout(run, 250);
      } else {
        run(); // at once, so a click on Place right after waits for the new total
      }
    });
    form.classList.add("is-live");
  }

  function stepper(input) {
    if (input.closest(".stepper")) return;
    var box = document.createElement("span");
    box.className = "stepper";
    input.parentNode.insertBefore(box, input);
    function button(text, delta, label) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "step";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.setAttribute("data-step", String(delta));
      b.addEventListener("click", function () {
        var min = input.min !== "" ? Number(input.min) : 1;
        var max = input.max !== "" ? Number(input.max) : Infinity;
        var value = Math.min(max, Math.max(min, (parseInt(input.value, 10) || min) + delta));
        if (String(value) === input.value) return;
        input.value = String(value);
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
      return b;
    }
    box.appendChild(button("\u2212", -1, input.getAttribute("data-less") || "-"));
    box.appendChild(input);
    box.appendChild(button("+", 1, input.getAttribute("data-more") || "+"));
  }

  document.addEventListener("click", function (e) {
    var thumb = e.target.closest("[data-gallery-thumb]");
    if (thumb) {
      var gallery = thumb.closest("[data-gallery]");
      var hero = gallery && gallery.querySelector("img.hero");
      if (hero) {
        e.preventDefault();
        hero.src = thumb.getAttribute("data-gallery-thumb");
        gallery.querySelectorAll("[data-gallery-thumb]").forEach(function (t) {
          t.setAttribute("aria-current", t === thumb ? "true" : "false");
        });
      }
      return;
    }
    var ask = e.target.closest("button[data-confirm], input[type=submit][data-confirm]");
    if (ask && !window.confirm(ask.getAttribute("data-confirm"))) e.preventDefault();
  });

  var RECENT_KEY = "jishi.recentSearches";
  var RECENT_MAX = 10;

  function recentSearches(box) {
    var store;
    try { store = window.localStorage; } catch (e) { return; }  // (storage blocked: nothing kept)
    if (!store) return;
    var words;
    try { words = JSON.parse(store.getItem(RECENT_KEY) || "[]"); } catch (e) { words = []; }
    if (!Array.isArray(words)) words = [];
    words = words.filter(function (w) { return typeof w === "string" && w; });
    var q = (box.getAttribute("data-query") || "").trim();
    if (q) {
      words = [q].concat(words.filter(function (w) { return w !== q; })).slice(0, RECENT_MAX);
      try { store.setItem(RECENT_KEY, JSON.stringify(words)); } catch (e) { /* full: not kept */ }
    }
    if (box.hasAttribute("data-record-only")) return;
    var panel = box.querySelector("[data-recent-box]");
    var list = box.querySelector("[data-recent-list]");
    if (!panel || !list || !words.length) return;
    var url = box.getAttribute("data-search-url") || "/search";
    words.forEach(function (w) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = url + "?q=" + encodeURIComponent(w);
      a.textContent = w;
      li.appendChild(a);
      list.appendChild(li);
    });
    panel.hidden = false;
    var clear = box.querySelector("[data-recent-clear]");
    if (clear) clear.addEventListener("click", function () {
      try { store.removeItem(RECENT_KEY); } catch (e) { /* nothing to do */ }
      list.textContent = "";
      panel.hidden = true;
    });
  }

  function suggest(input) {
    var url = input.getAttribute("data-suggest");
    var list = document.getElementById(input.getAttribute("list") || "");
    if (!window.fetch || !url || !list) return;
    var timer = null;
    var asked = 0;
    var last = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim().slice(0, 50);
        if (q === last) return;
        last = q;
        var mine = ++asked;
        if (!q) { list.textContent = ""; return; }
        fetch(url + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data || mine !== asked) return;  // (an answer to an older question)
            list.textContent = "";
            (data.items || []).forEach(function (name) {
              var option = document.createElement("option");
              option.value = name;
              list.appendChild(option);
            });
          })
          .catch(function () { /* no suggestions: the search still works */ });
      }, 150);
    });
  }

  document.querySelectorAll("input[data-stepper]").forEach(stepper);
  document.querySelectorAll("[data-recent-searches]").forEach(recentSearches);
  document.querySelectorAll("input[data-suggest][list]").forEach(suggest);
  document.querySelectorAll("form[data-live-form]").forEach(liveForm);
  document.addEventListener("live:updated", function () {
    document.querySelectorAll("input[data-stepper]").forEach(stepper);
  });
})();
