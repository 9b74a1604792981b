/* Spec picker on the product page: one row of choices per spec (颜色, 尺码…);
   picking values selects the matching SKU radio, price and stock. Without
   JavaScript the SKU radios are used directly. */
(function () {
  var box = document.querySelector("[data-spec-picker]");
  if (!box) return;
  var skus = JSON.parse(box.getAttribute("data-skus"));
  var form = box.closest("form");
  var chosen = {};
  var current = form.querySelector("input[name=sku_id]:checked");
  skus.forEach(function (s) { if (current && String(s.id) === current.value) chosen = Object.assign({}, s.values); });
  function match() {
    return skus.filter(function (s) {
      return Object.keys(s.values).every(function (k) { return chosen[k] === s.values[k]; });
    })[0];
  }
  function render() {
    box.querySelectorAll("button[data-value]").forEach(function (b) {
      var on = chosen[b.getAttribute("data-spec")] === b.getAttribute("data-value");
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    var sku = match();
    var price = document.querySelector("[data-price]");
    var stock = box.querySelector("[data-stock]");
    var submit = form.querySelectorAll("button[type=submit]");
    if (sku) {
      var radio = form.querySelector("input[name=sku_id][value='" + sku.id + "']");
      if (radio) radio.checked = true;
      if (price) price.textContent = sku.price;
      [["[data-original]", sku.original, "[data-original]"], ["[data-member]", sku.member, ".member-price"]].forEach(function (x) {
        var el = document.querySelector(x[0]), wrap = document.querySelector(x[2]);
        if (el) el.textContent = x[1];
        if (wrap) wrap.hidden = !x[1];
      });
      if (stock) stock.textContent = sku.stock_text;
    } else if (stock) {
      stock.textContent = box.getAttribute("data-choose");
    }
    submit.forEach(function (b) { b.disabled = !sku || sku.stock <= 0; });
  }
  box.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-value]");
    if (!b) return;
    e.preventDefault();
    chosen[b.getAttribute("data-spec")] = b.getAttribute("data-value");
    render();
  });
  form.classList.add("has-spec-picker");
  box.hidden = false;
  render();
})();
