/* The compare page: two read-only diagrams, what changed coloured on each (designer/compare.py says what). */
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('compare-data').textContent);
  const markers = data.markers || { added: [], changed: [], removed: [] };

  async function show(containerId, xml, kinds) {
    const viewer = new window.BpmnJS({
      container: '#' + containerId,
      moddleExtensions: { baton: data.descriptor },
      additionalModules: window.BatonBlockLooks ? [window.BatonBlockLooks] : [],
    });
    try {
      await viewer.importXML(xml);
    } catch (e) {
      document.getElementById(containerId).textContent = 'This diagram cannot be shown.';
      return null;
    }
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    kinds.forEach((kind) => (markers[kind] || []).forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, 'compare-' + kind);
    }));
    canvas.zoom('fit-viewport', 'auto');
    document.getElementById(containerId).dataset.ready = 'true';
    return viewer;
  }

  const views = Promise.all([
    show('compare-old', data.old, ['removed', 'changed']),
    show('compare-new', data.new, ['added', 'changed']),
  ]);

  // Pointing at a change in the list shows it on both diagrams.
  views.then((viewers) => {
    document.querySelectorAll('[data-testid="compare-changes"] [data-element]').forEach((item) => {
      const id = item.dataset.element;
      const toggle = (on) => viewers.forEach((viewer) => {
        if (!viewer || !viewer.get('elementRegistry').get(id)) return;
        const canvas = viewer.get('canvas');
        if (on) canvas.addMarker(id, 'compare-focus'); else canvas.removeMarker(id, 'compare-focus');
      });
      item.addEventListener('mouseenter', () => toggle(true));
      item.addEventListener('mouseleave', () => toggle(false));
    });
  });
})();
