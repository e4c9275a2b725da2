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
