/*
 * Try it: the designer's side panel for a test run of the diagram on the canvas and a replay of
 * recent requests. The server renders the panel (htmx, designer/try_views.py) and runs the engine;
 * this script sends the canvas's diagram with every request and lights the path on the canvas
 * (the live view's markers, canvas.js markTrail).
 */
(function () {
  'use strict';

  const panel = document.getElementById('try-it');
  const button = document.querySelector('[data-action="try-it"]');
  if (!panel || !button || !window.BatonCanvas || !window.bootstrap) return;
  const { modeler, markTrail } = window.BatonCanvas;
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  const body = panel.querySelector('[data-slot="try-body"]');
  const offcanvas = window.bootstrap.Offcanvas.getOrCreateInstance(panel);
  let diagram = null;

  async function refreshDiagram() {
    try {
      diagram = (await modeler.saveXML({ format: false })).xml;
    } catch (e) { /* an empty canvas: the server tries the saved draft */ }
  }
  // A change to the diagram makes the path shown stale: it goes until the next try.
  modeler.on('commandStack.changed', () => { markTrail(null); refreshDiagram(); });

  function reveal(id) {
    const element = id && registry.get(id);
    if (element) canvas.scrollToElement(element, { top: 120, bottom: 120, left: 240, right: 460 });
  }

  function showTrail() {
    const pane = body.querySelector('#try-pane-run');
    const run = pane && pane.classList.contains('active') ? pane.querySelector('[data-trail]') : null;
    const trail = run ? JSON.parse(run.dataset.trail) : null;
    markTrail(trail);
    if (trail && trail.current.length) reveal(trail.current[0]);
  }

  button.addEventListener('click', async () => {
    await refreshDiagram();
    offcanvas.show();
    window.htmx.ajax('POST', panel.dataset.url, { target: body, swap: 'innerHTML', values: diagram ? { diagram } : {} });
  });

  // Every request of the panel tries what is on the canvas now, saved or not.
  panel.addEventListener('htmx:configRequest', (event) => {
    if (diagram) event.detail.parameters.diagram = diagram;
  });
  panel.addEventListener('htmx:afterSettle', showTrail);
  // htmx 2 does not swap error answers: the panel's 400s carry the form with its errors.
  panel.addEventListener('htmx:beforeSwap', (event) => {
    if (event.detail.xhr.status === 400) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  // Closing the panel leaves the path on the canvas (on a phone, the panel covers it).
  panel.addEventListener('shown.bs.tab', (event) => {
    if (event.target.id === 'try-tab-run') showTrail(); else markTrail(null);
  });

  panel.addEventListener('click', (event) => {
    const target = event.target.closest('[data-show-node]');
    if (target && target.tagName !== 'DETAILS') reveal(target.dataset.showNode);
  });
  // Opening a replay group shows where those requests part from before.
  panel.addEventListener('toggle', (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open || !details.dataset.showNode) return;
    markTrail({ visited: [], flows: [], current: [details.dataset.showNode], incidents: [] });
    reveal(details.dataset.showNode);
  }, true);
})();
