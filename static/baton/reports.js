// Draws the reports page's charts with Chart.js from the JSON the page carries (#report-charts):
// { <section key>: { kind: "bar" | "line" | "horizontal-bar" | "stacked-bar", labels, unit, series: [{label, values, tone}] } }.
(() => {
  const source = document.getElementById('report-charts');
  if (!source || typeof Chart === 'undefined') return;
  const charts = JSON.parse(source.textContent);
  const css = getComputedStyle(document.documentElement);
  const colour = (tone) => css.getPropertyValue(`--bs-${tone}`).trim() || '#3b4cca';
  Chart.defaults.font.family = css.getPropertyValue('--bs-body-font-family');
  Chart.defaults.color = css.getPropertyValue('--bs-secondary-color').trim();

  document.querySelectorAll('canvas[data-chart]').forEach((canvas) => {
    const chart = charts[canvas.dataset.chart];
    if (!chart) return;
    const horizontal = chart.kind === 'horizontal-bar';
    const stacked = chart.kind === 'stacked-bar';
    const unit = chart.unit ? ` ${chart.unit}` : '';
    new Chart(canvas, {
      type: chart.kind === 'line' ? 'line' : 'bar',
      data: {
        labels: chart.labels,
        datasets: chart.series.map((s) => ({
          label: s.label,
          data: s.values,
          backgroundColor: colour(s.tone),
          borderColor: colour(s.tone),
          borderRadius: 3,
          maxBarThickness: 28,
        })),
      },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: chart.series.length > 1, position: 'bottom' },
          tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.formattedValue}${unit}` } },
        },
        scales: {
          x: { stacked, beginAtZero: true, grid: { display: horizontal }, ticks: { precision: horizontal ? undefined : 0, autoSkip: true, maxRotation: 0 },
               title: { display: horizontal && !!chart.unit, text: chart.unit } },
          y: { stacked, beginAtZero: true, grid: { display: !horizontal }, ticks: { precision: 0 } },
        },
      },
    });
  });
})();
