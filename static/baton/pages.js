// Small behaviours of Baton's pages, kept out of the HTML so the Content Security Policy
// can refuse every inline script.
//   <form data-confirm="Sure?"> / <button data-confirm="Sure?">: asks before submitting.
//   <input type="checkbox" data-check-all="task">: ticks or clears every checkbox named "task".
document.addEventListener('submit', (event) => {
  const form = event.target;
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener('click', (event) => {
  const box = event.target.closest('input[data-check-all]');
  if (!box) return;
  document.querySelectorAll(`input[name="${box.dataset.checkAll}"]`).forEach((c) => { c.checked = box.checked; });
});

// <details data-keep-open="key">: stays open when a page's own refresh (htmx polling) replaces it,
// so an operator can read what a step sent and received while the request runs on.
const keptOpen = new Set();
document.addEventListener('toggle', (event) => {
  const box = event.target;
  if (!(box instanceof HTMLDetailsElement) || !box.dataset.keepOpen) return;
  if (box.open) keptOpen.add(box.dataset.keepOpen); else keptOpen.delete(box.dataset.keepOpen);
}, true);
function reopenKept() {
  document.querySelectorAll('details[data-keep-open]').forEach((box) => {
    if (keptOpen.has(box.dataset.keepOpen) && !box.open) box.open = true;
  });
}
document.addEventListener('htmx:oobAfterSwap', reopenKept);
document.addEventListener('htmx:afterSettle', reopenKept);
