/*
 * How Baton's preset blocks look on every canvas (designer, published version, live view, operations
 * request page, compare): an Ask AI step (a service task running the AI connector) is drawn as a task
 * with a light violet fill and a sparkle where an Automated step has its gear.
 *
 * A bpmn-js module (window.BatonBlockLooks) for additionalModules. It draws the plain task through
 * bpmn-js's own renderer and adds the mark, so labels, For each markers and the canvas's
 * state markers (visited, current, problems) stay as they are for any task.
 */
(function () {
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  const AI_CONNECTOR = 'ai.ask';
  const AI_FILL = '#f3effc';
  const AI_INK = '#6f42c1';
  // Two four-pointed sparkles, drawn for this mark (a large one and a small one above it), in a 20 × 20 box.
  const SPARKLES = [
    'M8 3 Q9 8 14 9 Q9 10 8 15 Q7 10 2 9 Q7 8 8 3 Z',
    'M15 1 Q15.5 3.5 18 4 Q15.5 4.5 15 7 Q14.5 4.5 12 4 Q14.5 3.5 15 1 Z',
  ];

  function isAskAI(element) {
    const bo = element.businessObject;
    return !element.labelTarget && element.type === 'bpmn:ServiceTask' && !!bo &&
      bo.get('baton:connector') === AI_CONNECTOR;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs).forEach(([name, value]) => node.setAttribute(name, value));
    return node;
  }

  /** Draws Ask AI steps before bpmn-js's renderer (priority 1000) would draw them as service tasks. */
  function BlockLooks(eventBus, bpmnRenderer) {
    eventBus.on('render.shape', 1500, (event, context) => {
      const element = context.element;
      if (!isAskAI(element)) return undefined;
      // The plain task's drawing (bpmn-js's extension point for renderers that add to its shapes).
      const visual = bpmnRenderer._renderer('bpmn:Task')(context.gfx, element, { fill: AI_FILL });
      const mark = svg('g', { class: 'baton-ai-mark', transform: 'translate(5, 4)', 'data-testid': 'ai-mark' });
      mark.appendChild(svg('title', {})).textContent = 'Ask AI';
      SPARKLES.forEach((d) => mark.appendChild(svg('path', { d: d, fill: AI_INK, stroke: 'none' })));
      context.gfx.appendChild(mark);
      return visual;
    });
  }
  BlockLooks.$inject = ['eventBus', 'bpmnRenderer'];

  window.BatonBlockLooks = {
    __init__: ['batonBlockLooks'],
    batonBlockLooks: ['type', BlockLooks],
  };
})();
