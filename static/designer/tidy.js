/* "Tidy up": lay the diagram out left to right (bpmn-auto-layout, bundled as window.BatonTidy) and
   move every block and path there as ONE undoable change, so the panel, autosave and Undo see an
   ordinary edit rather than a reloaded diagram. */
(function () {
  'use strict';
  const button = document.querySelector('[data-action="tidy"]');
  const modeler = window.batonModeler;
  if (!button || !modeler || !window.BatonTidy) return;

  const commandStack = modeler.get('commandStack');
  const registry = modeler.get('elementRegistry');
  const modeling = modeler.get('modeling');
  const moddle = modeler.get('moddle');
  const canvas = modeler.get('canvas');

  // The command: every move runs inside its preExecute, so one Undo takes the whole tidy back.
  function TidyHandler() {}
  TidyHandler.prototype.preExecute = function (context) {
    const { shapes, edges } = context;
    registry.filter((el) => shapes[el.id] && !el.labelTarget && el.type !== 'bpmn:BoundaryEvent').forEach((el) => {
      const to = shapes[el.id];
      const delta = { x: Math.round(to.x - el.x), y: Math.round(to.y - el.y) };
      if (delta.x || delta.y) modeling.moveShape(el, delta, null, { autoResize: false });
    });
    // Events on a step's edge moved with their step; put them where the layout puts them.
    registry.filter((el) => shapes[el.id] && el.type === 'bpmn:BoundaryEvent').forEach((el) => {
      const to = shapes[el.id];
      const delta = { x: Math.round(to.x - el.x), y: Math.round(to.y - el.y) };
      if (delta.x || delta.y) modeling.moveShape(el, delta, el.host, { attach: true, autoResize: false });
    });
    registry.filter((el) => edges[el.id] && el.waypoints).forEach((el) => {
      modeling.updateWaypoints(el, edges[el.id].map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) })));
    });
    // Names drawn outside their block kept their old offset: put each beside what it names.
    registry.filter((el) => el.labelTarget).forEach((label) => {
      const to = labelPlace(label, label.labelTarget);
      const delta = { x: Math.round(to.x - label.x), y: Math.round(to.y - label.y) };
      if (delta.x || delta.y) modeling.moveShape(label, delta, null, { autoResize: false });
    });
  };

  /** Where a name goes: above a Decision (its paths leave below and right), below an event,
      above the longest stretch of a path. */
  function labelPlace(label, target) {
    if (target.waypoints) {
      const points = target.waypoints;
      let best = [points[0], points[1]], longest = -1;
      for (let i = 1; i < points.length; i++) {
        const a = points[i - 1], b = points[i];
        const length = Math.abs(a.x - b.x) + Math.abs(a.y - b.y);
        if (length > longest) { longest = length; best = [a, b]; }
      }
      const mid = { x: (best[0].x + best[1].x) / 2, y: (best[0].y + best[1].y) / 2 };
      const vertical = best[0].x === best[1].x;
      return vertical ? { x: mid.x + 6, y: mid.y - label.height / 2 } : { x: mid.x - label.width / 2, y: mid.y - label.height - 4 };
    }
    const centre = target.x + target.width / 2;
    if (/Gateway$/.test(target.type)) return { x: centre - label.width / 2, y: target.y - label.height - 6 };
    return { x: centre - label.width / 2, y: target.y + target.height + 6 };
  }
  commandStack.registerHandler('baton.tidy', TidyHandler);

  function say(text) {
    let note = document.getElementById('tidy-note');
    if (!note) {
      note = document.createElement('div');
      note.id = 'tidy-note';
      note.className = 'alert alert-warning py-1 px-2 small mb-0 designer-tidy-note';
      note.setAttribute('role', 'status');
      note.dataset.testid = 'tidy-note';
      button.closest('.designer-actions').prepend(note);
    }
    note.textContent = text;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => note.remove(), 6000);
  }

  button.addEventListener('click', async () => {
    if (registry.find((el) => el.type === 'bpmn:SubProcess')) {
      say('Tidy up cannot arrange a diagram with a Group of steps yet: move its blocks by hand.');
      return;
    }
    button.disabled = true;
    try {
      const { xml } = await modeler.saveXML();
      const laidOut = await window.BatonTidy.layoutProcess(xml);
      const { rootElement } = await moddle.fromXML(laidOut);
      const shapes = {}, edges = {};
      (rootElement.diagrams || []).forEach((diagram) => (diagram.plane.planeElement || []).forEach((di) => {
        const id = di.bpmnElement && di.bpmnElement.id;
        if (!id) return;
        if (di.bounds) shapes[id] = di.bounds;
        if (di.waypoint) edges[id] = di.waypoint;
      }));
      commandStack.execute('baton.tidy', { shapes: shapes, edges: edges });
      const fit = document.querySelector('[data-action="zoom-fit"]');
      if (fit) fit.click(); else canvas.zoom('fit-viewport', 'auto');
    } catch (e) {
      say('Tidy up could not arrange this diagram; nothing was changed.');
    } finally {
      button.disabled = false;
    }
  });
})();
