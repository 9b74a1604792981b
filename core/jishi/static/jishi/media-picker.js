/* The media picker: a button next to every field marked data-media-picker
   ("single": an <input> holding one address; "multi": a <textarea> holding
   one address per line) opens the signed-in seller's media library (the
   API's GET data-media-api) and puts the chosen image's address in the
   field. Without this script the field still takes an address typed or
   pasted from the media library page. */
(function () {
  "use strict";

  function panelFor(field, button) {
    var panel = document.createElement("div");
    panel.className = "media-picker-panel";
    panel.hidden = true;
    button.insertAdjacentElement("afterend", panel);
    return panel;
  }

  function choose(field, url) {
    if (field.dataset.mediaPicker === "multi") {
      var lines = field.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      if (lines.indexOf(url) === -1) lines.push(url);
      field.value = lines.join("\n");
    } else {
      field.value = url;
    }
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function open(field, panel) {
    panel.hidden = false;
    panel.textContent = field.dataset.mediaLoading || "…";
    fetch(field.dataset.mediaApi + "?limit=100", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { if (!resp.ok) throw new Error(resp.status); return resp.json(); })
      .then(function (page) {
        panel.textContent = "";
        if (!page.items.length) { panel.textContent = field.dataset.mediaEmpty || ""; return; }
        var grid = document.createElement("ul");
        grid.className = "media-grid";
        page.items.forEach(function (item) {
          var li = document.createElement("li");
          var b = document.createElement("button");
          b.type = "button";
          b.className = "media-choice";
          b.title = item.filename;
          b.dataset.url = item.urls.large;
          var img = document.createElement("img");
          img.src = item.urls.thumb || item.urls.large;
          img.alt = item.filename;
          b.appendChild(img);
          b.addEventListener("click", function () { choose(field, item.urls.large); panel.hidden = true; });
          li.appendChild(b);
          grid.appendChild(li);
        });
        panel.appendChild(grid);
      })
      .catch(function () { panel.textContent = field.dataset.mediaFailed || "!"; });
  }

  function setUp(field) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-ghost media-picker-open";
    button.textContent = field.dataset.mediaLabel || "…";
    field.insertAdjacentElement("afterend", button);
    var panel = panelFor(field, button);
    button.addEventListener("click", function () {
      if (!panel.hidden) { panel.hidden = true; return; }
      open(field, panel);
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-media-picker]"), setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
