/* Report charts (issue 19): every <figure data-chart> holds a JSON data island
   (<script type="application/json">) and a table with the same figures. With
   ECharts loaded (static/vendor/echarts) the chart is drawn above the table;
   without JavaScript, or if ECharts fails, the table alone stays (the table
   fallback). Island: {"type": "line"|"bar"|"funnel", "labels": [...],
   "series": [{"name": "...", "data": [...], "money": true}]}; money values
   are fen and shown as yuan. */
(function () {
  "use strict";
  function yuan(v) { return (v / 100).toFixed(2); }
  function option(d) {
    var money = d.series.some(function (s) { return s.money; });
    var horizontal = d.type === "funnel";
    var cat = { type: "category", data: d.labels, inverse: horizontal };
    var val = { type: "value", axisLabel: { formatter: money ? function (v) { return yuan(v); } : null } };
    return {
      animation: false,
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return money ? "¥" + yuan(v) : v; }
      },
      legend: d.series.length > 1 ? { top: 0 } : undefined,
      grid: { left: 8, right: 16, top: d.series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? cat : val,
      series: d.series.map(function (s) {
        return {
          name: s.name,
          type: d.type === "line" ? "line" : "bar",
          smooth: d.type === "line",
          showSymbol: false,
          data: s.data,
          label: horizontal ? { show: true, position: "right" } : undefined
        };
      })
    };
  }
  function draw(fig) {
    if (!window.echarts || fig.dataset.drawn) { return; }
    var island = fig.querySelector("script[type='application/json']");
    if (!island) { return; }
    var data;
    try { data = JSON.parse(island.textContent); } catch (e) { return; }
    var box = document.createElement("div");
    box.className = "chart-canvas";
    box.setAttribute("aria-hidden", "true");
    fig.insertBefore(box, fig.firstChild);
    var chart = window.echarts.init(box, null, { renderer: "svg" });
    chart.setOption(option(data));
    fig.dataset.drawn = "1";
    fig.classList.add("chart-drawn");
    fig.querySelectorAll("details.chart-table").forEach(function (d) { d.open = false; });  // the table stays one click away
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function all() { document.querySelectorAll("figure[data-chart]").forEach(draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", all); } else { all(); }
})();
