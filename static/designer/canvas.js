/*
 * Baton designer canvas: bpmn-js with a business palette, autosave with conflict
 * detection, problems marked on the canvas, the side-panel hook, and the live view.
 *
 * One file for the three canvas pages (data-mode on .designer-shell):
 *   edit     the Modeler on the workflow's draft
 *   version  a read-only NavigatedViewer on one published version
 *   live     a read-only NavigatedViewer with running counts and one instance's path
 * The side panel's forms and their apply() live in panel.js (window.BatonPanel).
 */
(function () {
  'use strict';

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const readJson = (id) => JSON.parse(document.getElementById(id).textContent);

  const config = readJson('designer-config');
  const initialXml = readJson('designer-xml');
  const descriptor = readJson('designer-descriptor');
  const editing = config.mode === 'edit';
  const container = document.getElementById('designer-canvas');

  // --- the blocks a business user draws (and nothing else) -------------------------------

  // The palette comes from the block kinds' registry (orchestration/engine/blocks), in its order.
  const BLOCKS = editing ? config.palette.blocks : [];
  const BLOCK = Object.fromEntries(BLOCKS.map((b) => [b.key, b]));
  // What the context pad offers to append after a block, in this order.
  const APPENDS = editing ? config.palette.appends : [];
  const TOOLS = ['hand-tool', 'lasso-tool', 'global-connect-tool'];

  const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function blockShape(block, elementFactory, bpmnFactory) {
    const attrs = { type: block.type };
    if (block.eventDefinitionType) attrs.eventDefinitionType = block.eventDefinitionType;
    if (block.attrs) attrs.businessObject = bpmnFactory.create(block.type, block.attrs);
    if (block.holdsSteps) attrs.isExpanded = true;
    return elementFactory.createShape(attrs);
  }

  // Start dragging a new block; one that holds steps (a Group) comes open, with its Start inside,
  // as bpmn-js's own palette creates an expanded sub-process.
  function startCreate(create, event, block, elementFactory, bpmnFactory) {
    const shape = blockShape(block, elementFactory, bpmnFactory);
    if (!block.holdsSteps) return create.start(event, shape);
    const start = elementFactory.createShape({ type: 'bpmn:StartEvent', x: 40, y: 82, parent: shape });
    return create.start(event, [shape, start], { hints: { autoSelect: [shape] } });
  }

  /** Palette: the navigation tools, then the business blocks with visible labels. */
  function BusinessPalette(palette, create, elementFactory, bpmnFactory) {
    this._create = create;
    this._elementFactory = elementFactory;
    this._bpmnFactory = bpmnFactory;
    palette.registerProvider(500, this); // after bpmn-js's provider (1000): we edit its entries
  }
  BusinessPalette.$inject = ['palette', 'create', 'elementFactory', 'bpmnFactory'];
  BusinessPalette.prototype.getPaletteEntries = function () {
    const self = this;
    return function (entries) {
      const kept = {};
      TOOLS.forEach((id) => { if (entries[id]) kept[id] = Object.assign({}, entries[id], { group: 'tools' }); });
      BLOCKS.forEach((block) => {
        const start = (event) => startCreate(self._create, event, block, self._elementFactory, self._bpmnFactory);
        kept['create.baton-' + block.key] = {
          group: block.group,
          title: block.label + ': ' + block.hint,
          html: '<div class="entry baton-palette-entry" draggable="true" data-block="' + block.key + '">' +
            '<span class="baton-palette-icon ' + block.icon + '" aria-hidden="true"></span>' +
            '<span class="baton-palette-label">' + escapeHtml(block.label) + '</span></div>',
          action: { dragstart: start, click: start },
        };
      });
      return kept;
    };
  };

  /** Context pad: connect, delete, and append the common next blocks; no "change element". */
  function BusinessContextPad(contextPad, create, elementFactory, bpmnFactory, injector) {
    this._create = create;
    this._elementFactory = elementFactory;
    this._bpmnFactory = bpmnFactory;
    this._autoPlace = injector.get('autoPlace', false);
    contextPad.registerProvider(500, this);
  }
  BusinessContextPad.$inject = ['contextPad', 'create', 'elementFactory', 'bpmnFactory', 'injector'];
  BusinessContextPad.prototype.getContextPadEntries = function () {
    const self = this;
    return function (entries) {
      const kept = {};
      if (entries['append.append-task']) { // bpmn-js offers appends here: offer ours instead
        APPENDS.forEach((key) => {
          const block = BLOCK[key];
          const shape = () => blockShape(block, self._elementFactory, self._bpmnFactory);
          kept['append.baton-' + key] = {
            group: 'model',
            className: block.icon,
            // "Add an approval…", but "Add Ask AI…": a name with an acronym keeps its capitals.
            title: 'Add ' + (/[A-Z]{2}/.test(block.label) ? block.label : block.label.toLowerCase()) + ' after this',
            action: {
              click: (event, element) => (self._autoPlace
                ? self._autoPlace.append(element, shape())
                : self._create.start(event, shape(), { source: element })),
              dragstart: (event, element) => self._create.start(event, shape(), { source: element }),
            },
          };
        });
      }
      ['connect', 'delete'].forEach((id) => { if (entries[id]) kept[id] = entries[id]; });
      if (kept.delete) kept.delete = guardedDelete(kept.delete);
      if (kept.connect) kept.connect = Object.assign({}, kept.connect, { title: 'Connect to another block' });
      return kept;
    };
  };
  BusinessContextPad.prototype.getMultiElementContextPadEntries = function () {
    return (entries) => (entries.delete ? { delete: guardedDelete(entries.delete) } : {});
  };

  /**
   * Deleting the block whose side panel holds changes not applied yet asks first: never a
   * silent discard. True when the deletion may go on (the panel's changes are then dropped).
   */
  function mayDelete(elements) {
    if (!window.BatonPanel || !window.BatonPanel.pending()) return true;
    const form = document.querySelector('#designer-panel [data-testid="designer-panel-form"]');
    const editingId = form && form.dataset.element;
    if (!elements.some((element) => element.id === editingId)) return true;
    if (!window.confirm('Delete this block? What you typed in its settings is not applied yet and would be lost.')) {
      return false;
    }
    document.getElementById('designer-panel').innerHTML = ''; // gone with the block, as the person chose
    return true;
  }

  /** A context pad "delete" entry that asks :func:`mayDelete` first. */
  function guardedDelete(entry) {
    const run = typeof entry.action === 'function' ? entry.action : entry.action.click;
    return Object.assign({}, entry, {
      action: {
        click: (event, target) => { if (mayDelete([].concat(target))) run(event, target); },
      },
    });
  }

  /** The "change element" menu stays empty (so bpmn-js does not offer it at all). */
  function NoReplaceMenu(popupMenu) {
    popupMenu.registerProvider('bpmn-replace', 100, this);
  }
  NoReplaceMenu.$inject = ['popupMenu'];
  NoReplaceMenu.prototype.getPopupMenuEntries = () => () => ({});
  NoReplaceMenu.prototype.getPopupMenuHeaderEntries = () => () => ({});

  /**
   * Events reach a step's edge through the step's side panel ("Deadlines and reminders"…), never
   * by dropping a block on its border: dragging may move blocks into a Group, and an event along
   * its step's edge, but not attach anything else.
   */
  function NoBoundaryEvents(eventBus, bpmnRules) {
    eventBus.on('commandStack.shape.attach.canExecute', 2000, () => false);
    eventBus.on('commandStack.elements.move.canExecute', 2000, (event) => {
      const ctx = event.context;
      const shapes = ctx.shapes || [];
      if (shapes.every((s) => s.type === 'bpmn:BoundaryEvent')) return undefined;
      return bpmnRules.canAttach(shapes, ctx.target, null, ctx.position) === 'attach' ? false : undefined;
    });
  }
  NoBoundaryEvents.$inject = ['eventBus', 'bpmnRules'];

  const BusinessModule = {
    __init__: ['batonPalette', 'batonContextPad', 'batonNoReplace', 'batonNoBoundary'],
    batonPalette: ['type', BusinessPalette],
    batonContextPad: ['type', BusinessContextPad],
    batonNoReplace: ['type', NoReplaceMenu],
    batonNoBoundary: ['type', NoBoundaryEvents],
  };

  // --- the canvas --------------------------------------------------------------------------

  const modules = (editing ? [BusinessModule] : [])
    .concat(window.BatonBlockLooks ? [window.BatonBlockLooks] : [])
    .concat(window.DiagramJSMinimap ? [window.DiagramJSMinimap] : []);
  const modeler = new window.BpmnJS({
    container: container,
    moddleExtensions: { baton: descriptor },
    additionalModules: modules,
    canvas: { autoFocus: editing },
  });
  window.batonModeler = modeler; // for the browser tests and the curious

  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  const overlays = modeler.get('overlays');
  const eventBus = modeler.get('eventBus');

  // bpmn-js deselects the one selected element when it is clicked again, which closed its panel
  // under the user's hand: a plain click on it keeps it selected (Shift+click still deselects).
  eventBus.on('element.click', 1500, (event) => {
    const original = event.originalEvent || {};
    const selected = modeler.get('selection').get();
    if (original.button || original.shiftKey) return undefined;
    if (selected.length === 1 && selected[0] === event.element) return false;
    return undefined;
  });

  /** Show the whole diagram, no bigger than 100 %, clear of the palette on the left. */
  function fitDiagram() {
    const box = canvas.viewbox();
    const inner = box.inner, outer = box.outer;
    if (!inner.width || !inner.height) return;
    const padLeft = editing ? 210 : 40, pad = 48, padBottom = 64;
    const width = outer.width - padLeft - pad, height = outer.height - pad - padBottom;
    const scale = Math.max(0.2, Math.min(1, width / inner.width, height / inner.height));
    // A diagram that fits is centred; a small one (a new workflow) starts near the palette instead.
    const spareX = Math.max(0, width / scale - inner.width), spareY = Math.max(0, height / scale - inner.height);
    const small = inner.width < width / 3;
    canvas.viewbox({
      x: inner.x - padLeft / scale - (small ? Math.min(spareX / 2, 80) : spareX / 2),
      y: inner.y - pad / scale - (small ? spareY / 3 : spareY / 2),
      width: outer.width / scale,
      height: outer.height / scale,
    });
  }

  $$('[data-action^="zoom-"]').forEach((button) => button.addEventListener('click', () => {
    const action = button.dataset.action;
    if (action === 'zoom-fit') return fitDiagram();
    canvas.zoom(canvas.zoom() * (action === 'zoom-in' ? 1.25 : 0.8));
  }));

  // --- side panel (panel.js renders and applies; we tell it what is selected) -----------------

  const panel = document.getElementById('designer-panel');
  let latestXml = initialXml;

  async function currentXml() {
    const result = await modeler.saveXML({ format: true });
    latestXml = result.xml;
    return latestXml;
  }

  // htmx loads deferred (django-htmx's script tag) and initialises on DOMContentLoaded.
  const pageReady = new Promise((resolve) => {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => setTimeout(resolve));
    else resolve();
  });

  let panelRequest = 0; // numbers the panel's requests: only the latest one's answer is shown
  let imported = false; // selection changes while the diagram is being imported are not the user's

  async function loadPanel(elementId) {
    if (!config.panelUrl || !panel || config.mode === 'live') return;
    await pageReady;
    if (!window.htmx) return;
    const values = { xml: editing ? await currentXml() : initialXml, element: elementId || '' };
    if (!editing) values.readonly = '1';
    panelRequest += 1;
    window.htmx.ajax('POST', config.panelUrl, {
      target: '#designer-panel', swap: 'innerHTML', values: values,
      headers: { 'X-CSRFToken': config.csrf, 'X-Baton-Panel-Request': String(panelRequest) },
    });
  }

  // Leaving a panel with changes not applied yet: apply them first (panel.js), then go where the
  // user was going; when they cannot be applied, stay on the element with "Not applied yet".
  const leaving = { busy: false, showing: null, target: null };

  async function leavePanel(target) {
    leaving.target = target;
    if (leaving.busy) return;
    leaving.busy = true;
    const shownForm = panel.querySelector('[data-testid="designer-panel-form"]');
    leaving.showing = shownForm && registry.get(shownForm.dataset.element);
    let applied = false;
    try { applied = await window.BatonPanel.leave(); } finally { leaving.busy = false; }
    const selection = modeler.get('selection');
    if (!applied) {
      selection.select(leaving.showing); // the panel and the canvas agree on what is being edited
      return;
    }
    selection.select(leaving.target.filter((element) => registry.get(element.id)));
  }

  function onSelection(selected) {
    if (leaving.busy) return; // the apply reselects its element; where the user was going is kept
    if (editing && window.BatonPanel && window.BatonPanel.pending()) {
      const shownForm = panel.querySelector('[data-testid="designer-panel-form"]');
      const element = selected.length === 1 ? (selected[0].labelTarget || selected[0]) : null;
      if (!element || element.id !== shownForm.dataset.element) return leavePanel(selected);
    }
    showSelection(selected);
  }

  if (config.mode !== 'live') {
    eventBus.on('selection.changed', (event) => { if (imported) onSelection(event.newSelection); });
    if (editing) {
      // "Discard changes": drop the panel's edits and go on to what the user had chosen.
      document.addEventListener('click', (event) => {
        if (!event.target.closest('[data-baton-discard]')) return;
        const target = (leaving.target || []).filter((element) => registry.get(element.id));
        panel.innerHTML = ''; // so that the selection below loads the panel afresh
        modeler.get('selection').select(target);
      });
      // Escape in the panel means "done here": pending changes are applied, or kept with the mark.
      panel.addEventListener('keydown', (event) => {
        if (event.key !== 'Escape' || !window.BatonPanel.pending()) return;
        event.preventDefault();
        leavePanel(modeler.get('selection').get()).then(() => canvas.focus());
      });
      window.addEventListener('beforeunload', (event) => {
        if (!window.BatonPanel || !window.BatonPanel.pending()) return;
        event.preventDefault();
        event.returnValue = '';
      });
    }
  }

  function showSelection(selected) {
    if (selected.length > 1) {
      panel.innerHTML = '<div class="designer-panel-empty"><i class="bi bi-bounding-box" aria-hidden="true"></i>' +
        '<p>' + selected.length + ' blocks selected.</p></div>';
      return;
    }
    const element = selected[0] ? selected[0].labelTarget || selected[0] : null;
    // Re-selecting what the panel shows (e.g. after Apply) keeps the form as it is.
    const shown = panel.querySelector('[data-testid="designer-panel-form"]');
    if (shown && (element ? shown.dataset.element === element.id : shown.dataset.kind === 'process')) return;
    loadPanel(element ? element.id : '');
  }

  if (config.mode !== 'live') {
    // After undo or redo the panel shows the selected block's settings as they are now.
    eventBus.on('commandStack.changed', (event) => {
      if (!imported || (event.trigger !== 'undo' && event.trigger !== 'redo')) return;
      const element = modeler.get('selection').get()[0];
      if (element && !registry.get(element.id)) return;
      loadPanel(element ? (element.labelTarget || element).id : '');
    });
    document.body.addEventListener('htmx:configRequest', (event) => {
      if (panel && panel.contains(event.detail.elt)) event.detail.parameters.xml = latestXml;
    });
    // A failed panel request shows a sentence in the panel, never the server's error page.
    document.body.addEventListener('htmx:beforeSwap', (event) => {
      if (event.detail.target !== panel) return;
      // Selecting quickly sends several requests: only the answer for the latest selection is shown.
      const sent = (event.detail.requestConfig && event.detail.requestConfig.headers || {})['X-Baton-Panel-Request'];
      if (sent && sent !== String(panelRequest)) { event.detail.shouldSwap = false; return; }
      if (event.detail.xhr.status < 400) return;
      event.detail.shouldSwap = false;
      const form = panel.querySelector('[data-baton-panel-form]');
      if (!sent && form) { // an Apply the server refused: the form keeps what was typed
        const note = panel.querySelector('[data-testid="panel-apply-failed"]') || document.createElement('div');
        note.className = 'alert alert-danger py-1 px-2 small mb-2';
        note.setAttribute('role', 'alert');
        note.dataset.testid = 'panel-apply-failed';
        note.textContent = 'Not applied: the server answered with error ' + event.detail.xhr.status + '. Your changes are kept here; try Apply again.';
        form.before(note);
        return;
      }
      panel.innerHTML = '<div class="designer-panel-empty"><i class="bi bi-exclamation-triangle" aria-hidden="true"></i>' +
        '<p>The settings could not be loaded (error ' + event.detail.xhr.status + '). Select the block again to retry.</p></div>';
    });
    document.body.addEventListener('baton:apply', (event) => {
      if (editing && window.BatonPanel) window.BatonPanel.apply(modeler, event.detail);
    });
  }

  // --- problems on the canvas and in the list ------------------------------------------------

  const problemBox = document.getElementById('problems');
  let problems = config.problems || [];

  function markProblems(list) {
    problems = list || [];
    overlays.remove({ type: 'baton-problem' });
    registry.forEach((element) => {
      canvas.removeMarker(element, 'baton-error');
      canvas.removeMarker(element, 'baton-warning');
    });
    const worst = {};
    problems.forEach((p) => {
      if (p.element_id && registry.get(p.element_id) && worst[p.element_id] !== 'error') worst[p.element_id] = p.severity;
    });
    Object.entries(worst).forEach(([id, severity]) => {
      const element = registry.get(id);
      canvas.addMarker(element, 'baton-' + severity);
      if (element.waypoints) return; // a flow is coloured; a badge would float in the air
      overlays.add(element, 'baton-problem', {
        position: { top: -10, right: 10 },
        html: '<span class="baton-problem-badge ' + severity + '" title="' +
          escapeHtml(problems.filter((p) => p.element_id === id).map((p) => p.message).join('\n')) + '">' +
          (severity === 'error' ? '!' : '?') + '</span>',
      });
    });
    renderProblemList();
  }

  function renderProblemList() {
    if (!problemBox) return;
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.length - errors;
    const summary = $('[data-slot="summary"]', problemBox);
    problemBox.dataset.errors = errors;
    if (!problems.length) {
      summary.innerHTML = '<i class="bi bi-check-circle-fill text-success" aria-hidden="true"></i> No problems: ready to publish';
    } else {
      const parts = [];
      if (errors) parts.push('<span class="text-danger fw-semibold"><i class="bi bi-x-octagon-fill" aria-hidden="true"></i> ' + errors + ' error' + (errors > 1 ? 's' : '') + '</span>');
      if (warnings) parts.push('<span class="text-warning-emphasis"><i class="bi bi-exclamation-triangle-fill" aria-hidden="true"></i> ' + warnings + ' warning' + (warnings > 1 ? 's' : '') + '</span>');
      summary.innerHTML = parts.join(' <span class="text-body-tertiary">·</span> ') +
        (errors ? ' <span class="text-body-secondary small ms-2">to fix before publishing</span>' : '');
    }
    const list = $('#problem-list');
    list.innerHTML = '';
    problems.forEach((p) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'designer-problem ' + p.severity;
      button.dataset.element = p.element_id || '';
      button.innerHTML = '<i class="bi ' + (p.severity === 'error' ? 'bi-x-octagon-fill' : 'bi-exclamation-triangle-fill') +
        '" aria-hidden="true"></i><span><strong></strong> <span class="msg"></span></span>';
      $('strong', button).textContent = p.label;
      $('.msg', button).textContent = p.message + (p.line ? ' (line ' + p.line + (p.column ? ', column ' + p.column : '') + ')' : '');
      button.addEventListener('click', () => showElement(p.element_id));
      item.appendChild(button);
      if (p.technical) {
        // The compiler's own wording, with the block's id, for whoever reads the diagram file.
        const details = document.createElement('details');
        details.className = 'designer-problem-details';
        details.innerHTML = '<summary>Details</summary><code></code>';
        $('code', details).textContent = p.technical;
        item.appendChild(details);
      }
      list.appendChild(item);
    });
    if (!problems.length) toggleProblems(false);
  }

  function toggleProblems(open) {
    if (!problemBox) return;
    const list = $('#problem-list');
    const show = open === undefined ? list.hidden : open;
    list.hidden = !show || !problems.length;
    $('[data-action="toggle-problems"]').setAttribute('aria-expanded', String(!list.hidden));
    problemBox.classList.toggle('open', !list.hidden);
  }

  function showElement(id) {
    const element = id && registry.get(id);
    const selection = modeler.get('selection');
    if (!element) { // the process itself, or the file
      // With changes pending, the selection's own handler applies them first, then loads the panel.
      const pending = editing && window.BatonPanel && window.BatonPanel.pending();
      selection.select(null);
      if (!pending) loadPanel('');
      return;
    }
    selection.select(element);
    canvas.scrollToElement(element, { top: 120, bottom: 120, left: 240, right: 120 });
  }

  if (problemBox) $('[data-action="toggle-problems"]').addEventListener('click', () => toggleProblems());
  // "Edit" next to an event listed in a step's panel selects that event on the canvas.
  document.addEventListener('click', (event) => {
    const button = event.target.closest('[data-baton-select]');
    if (button) showElement(button.dataset.batonSelect);
  });

  // --- edit mode: undo/redo, autosave, conflicts, publish, import/export -----------------------

  function setupEditing() {
    const commandStack = modeler.get('commandStack');
    const stateBox = document.getElementById('save-state');
    const backupKey = 'baton:designer:' + config.workflow;
    const save = {
      draft: config.draft, revision: config.revision, savedXml: null,
      running: null, again: false, timer: null, conflict: false, dirty: false, leaving: false, published: null,
    };

    const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    function setState(state, text) {
      const icons = {
        saved: 'bi-cloud-check', clean: 'bi-check2', dirty: 'bi-pencil', saving: 'bi-arrow-repeat spin',
        conflict: 'bi-exclamation-octagon-fill', offline: 'bi-wifi-off', error: 'bi-exclamation-triangle-fill',
        published: 'bi-rocket-takeoff',
      };
      stateBox.dataset.state = state;
      stateBox.innerHTML = '<i class="bi ' + icons[state] + '" aria-hidden="true"></i> ';
      stateBox.appendChild(document.createTextNode(text));
    }
    if (save.draft && config.savedAt) setState('saved', 'Saved · ' + time(config.savedAt));

    function updateHistoryButtons() {
      // Typed but not applied counts: Undo applies it, then takes it back.
      const typed = window.BatonPanel && window.BatonPanel.pending();
      $('[data-action="undo"]').disabled = !commandStack.canUndo() && !typed;
      $('[data-action="redo"]').disabled = !commandStack.canRedo();
    }
    /** Undo or redo; changes typed in the panel and not applied yet go into the diagram first (one
        step), so Undo takes them back visibly and Redo brings them again: nothing typed is dropped. */
    async function history(action) {
      if (window.BatonPanel && window.BatonPanel.pending()) {
        const applied = await window.BatonPanel.leave();
        if (!applied) return; // refused: the panel shows why, with "Not applied yet"
      }
      commandStack[action]();
    }
    $('[data-action="undo"]').addEventListener('click', () => { history('undo').then(() => canvas.focus()); });
    $('[data-action="redo"]').addEventListener('click', () => { history('redo').then(() => canvas.focus()); });
    document.addEventListener('baton:pending', updateHistoryButtons);
    // The canvas's own Ctrl+Z / Ctrl+Y go the same way.
    const editorActions = modeler.get('editorActions', false);
    if (editorActions) {
      ['undo', 'redo'].forEach((name) => {
        if (editorActions.isRegistered(name)) editorActions.unregister(name);
        editorActions.register(name, () => history(name));
      });
    }
    // Ctrl+Z / Ctrl+Y also when the focus is on the page rather than the canvas.
    document.addEventListener('keydown', (event) => {
      if (event.defaultPrevented || !(event.ctrlKey || event.metaKey)) return;
      if (event.target !== document.body && !container.contains(event.target)) return;
      const key = event.key.toLowerCase();
      if (key === 'z' && !event.shiftKey) { history('undo'); event.preventDefault(); }
      if (key === 'y' || (key === 'z' && event.shiftKey)) { history('redo'); event.preventDefault(); }
    });
    // Delete from the keyboard asks first too (see mayDelete).
    if (editorActions && editorActions.isRegistered('removeSelection')) {
      editorActions.unregister('removeSelection');
      editorActions.register('removeSelection', () => {
        const selected = modeler.get('selection').get().slice();
        if (selected.length && mayDelete(selected)) modeler.get('modeling').removeElements(selected);
      });
    }

    function backup(xml) {
      try {
        sessionStorage.setItem(backupKey, JSON.stringify({ xml: xml, draft: save.draft, revision: save.revision, at: new Date().toISOString() }));
      } catch (e) { /* storage full or disabled: the server copy and beforeunload remain */ }
    }
    const clearBackup = () => sessionStorage.removeItem(backupKey);

    async function changed() {
      updateHistoryButtons();
      const xml = await currentXml();
      if (xml === save.savedXml) {
        save.dirty = false;
        clearTimeout(save.timer);
        if (!save.running && !save.conflict) setState(save.draft ? 'saved' : 'clean', save.draft ? 'Saved' : 'No changes');
        return;
      }
      save.dirty = true;
      backup(xml);
      if (save.conflict) return;
      if (!save.running) setState('dirty', 'Unsaved changes');
      clearTimeout(save.timer);
      save.timer = setTimeout(saveNow, 1200);
    }
    eventBus.on('commandStack.changed', changed);

    async function post(url, fields, form) {
      const body = form ? new FormData(form) : new FormData();
      Object.entries(fields).forEach(([k, v]) => body.set(k, v === null || v === undefined ? '' : v));
      const response = await fetch(url, {
        method: 'POST', body: body, credentials: 'same-origin',
        headers: { 'X-CSRFToken': config.csrf, Accept: 'application/json' },
      });
      const json = (response.headers.get('content-type') || '').includes('application/json');
      return { status: response.status, ok: response.ok, data: json ? await response.json() : null };
    }

    /** Save the canvas now (or once more after the save in flight); true when the server has it. */
    async function saveNow() {
      clearTimeout(save.timer);
      if (save.conflict) return false;
      if (save.running) { save.again = true; return save.running; }
      const xml = latestXml;
      if (xml === save.savedXml) return true;
      setState('saving', 'Saving…');
      save.running = (async () => {
        let answer;
        try {
          answer = await post(config.urls.save, { xml: xml, draft: save.draft, revision: save.revision });
        } catch (e) {
          setState('offline', 'Offline: will retry');
          save.timer = setTimeout(saveNow, 5000);
          return false;
        }
        if (answer.status === 409) { showConflict(answer.data); return false; }
        if (!answer.ok || !answer.data) {
          const why = answer.status === 403 ? 'Not saved: signed out or no longer allowed. Your changes are kept in this tab.' : 'Not saved (error ' + answer.status + '): will retry';
          setState('error', why);
          if (answer.status >= 500) save.timer = setTimeout(saveNow, 5000);
          return false;
        }
        save.draft = answer.data.draft;
        save.revision = answer.data.revision;
        save.published = null;
        save.savedXml = xml;
        markProblems(answer.data.problems);
        setDraftBadge();
        if (latestXml === xml) {
          save.dirty = false;
          clearBackup();
          setState('saved', 'Saved · ' + time(answer.data.saved_at));
        }
        return true;
      })();
      let result;
      try { result = await save.running; } finally { save.running = null; }
      if (save.again || (result && latestXml !== save.savedXml)) {
        save.again = false;
        return saveNow();
      }
      return result;
    }

    function setDraftBadge(text) {
      const badge = $('[data-testid="draft-badge"]');
      if (!badge) return;
      badge.textContent = text || 'Draft';
      badge.className = 'badge rounded-pill align-middle border ' + (text ? 'text-bg-success-subtle text-success-emphasis border-success-subtle' : 'text-bg-warning-subtle text-warning-emphasis border-warning-subtle');
    }

    function showConflict(answer) {
      const detail = answer.saved_at ? answer.detail.replace(/\.$/, ' at ' + time(answer.saved_at) + '.') : answer.detail;
      save.conflict = true;
      clearTimeout(save.timer);
      setState('conflict', 'Conflict: not saved');
      const banner = document.getElementById('conflict-banner');
      $('[data-slot="detail"]', banner).textContent = detail;
      banner.classList.remove('d-none');
    }

    function download(xml, name) {
      const url = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
      const link = Object.assign(document.createElement('a'), { href: url, download: name });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }

    document.addEventListener('click', async (event) => {
      const button = event.target.closest('[data-action]');
      if (!button) return;
      const action = button.dataset.action;
      if (action === 'export') {
        download(await currentXml(), config.workflow + (save.draft ? '-draft' : '') + '.bpmn');
      } else if (action === 'reload') {
        save.leaving = true;
        clearBackup();
        window.location.reload();
      } else if (action === 'save-copy') {
        button.disabled = true;
        const answer = await post(config.urls.copy, { xml: await currentXml() });
        if (answer.ok) { save.leaving = true; clearBackup(); window.location.href = answer.data.url; }
        else { button.disabled = false; alert((answer.data && answer.data.detail) || 'The copy could not be saved.'); }
      } else if (action === 'import') {
        document.getElementById('import-file').click();
      } else if (action === 'publish') {
        startPublish();
      } else if (action === 'dismiss') {
        button.closest('.designer-banner').classList.add('d-none');
      }
    });

    document.getElementById('import-file').addEventListener('change', async (event) => {
      const file = event.target.files[0];
      if (!file) return;
      if (!window.confirm('Importing ' + file.name + ' replaces the diagram on the canvas (you can go back through Versions). Continue?')) {
        event.target.value = '';
        return;
      }
      if (save.dirty && !(await saveNow()) && !save.conflict) return;
      const form = document.getElementById('import-form');
      form.elements.draft.value = save.draft || '';
      form.elements.revision.value = save.revision;
      save.leaving = true;
      clearBackup();
      form.submit();
    });

    // --- publish
    const modalElement = document.getElementById('publish-modal');
    const modal = modalElement && window.bootstrap ? new window.bootstrap.Modal(modalElement) : null;

    async function startPublish() {
      if (save.conflict) return;
      if (save.dirty || save.running) { if (!(await saveNow())) return; }
      if (!save.draft || save.published) {
        setState('clean', 'Nothing changed since version ' + (save.published || config.basisNumber || ''));
        return;
      }
      const errors = problems.filter((p) => p.severity === 'error').length;
      if (errors) {
        toggleProblems(true);
        setState('error', 'Fix ' + errors + ' error' + (errors > 1 ? 's' : '') + ' before publishing');
        problemBox.classList.add('attention');
        setTimeout(() => problemBox.classList.remove('attention'), 1600);
        return;
      }
      const warnings = problems.length;
      $('[data-slot="warnings"]', modalElement).textContent = warnings
        ? warnings + ' warning' + (warnings > 1 ? 's' : '') + ' (things Baton ignores) will not stop it.' : '';
      modal.show();
    }

    // Who may start requests: the groups and people only count when "only these" is chosen.
    const publishForm = document.getElementById('publish-form');
    function showChosen() {
      const chosen = $('[data-slot="chosen"]', publishForm);
      const who = publishForm.elements.who;
      if (!chosen || !who) return;
      const off = who.value === 'everyone';
      chosen.classList.toggle('opacity-50', off);
      chosen.querySelectorAll('input').forEach((input) => { input.disabled = off; });
    }
    function showFieldErrors(fields) {
      publishForm.querySelectorAll('[data-error-for]').forEach((box) => {
        const errors = (fields || {})[box.dataset.errorFor] || [];
        box.textContent = errors.join(' ');
        const choices = publishForm.querySelector('[data-field="' + box.dataset.errorFor + '"]');
        if (choices) choices.classList.toggle('border-danger', errors.length > 0);
      });
    }
    publishForm.addEventListener('change', showChosen);
    publishForm.addEventListener('submit', (event) => {
      event.preventDefault();
      confirmPublish($('[data-action="confirm-publish"]', publishForm));
    });
    showChosen();

    async function confirmPublish(button) {
      button.disabled = true;
      let answer;
      try {
        answer = await post(config.urls.publish, { draft: save.draft, revision: save.revision }, publishForm);
      } finally { button.disabled = false; }
      if (answer.status === 400 && answer.data && answer.data.fields) {
        showFieldErrors(answer.data.fields);  // the dialog stays open on what to fix
        return;
      }
      showFieldErrors({});
      modal.hide();
      if (answer.status === 409) return showConflict(answer.data);
      if (answer.status === 400 && answer.data && answer.data.problems) {
        markProblems(answer.data.problems);
        toggleProblems(true);
        setState('error', answer.data.detail);
        return;
      }
      if (!answer.ok) return setState('error', 'Not published (error ' + answer.status + ')');
      const data = answer.data;
      save.published = data.number;
      setState('published', 'Published as version ' + data.number + ' · ' + time(data.published_at));
      setDraftBadge('Version ' + data.number);
      const banner = document.getElementById('published-banner');
      $('[data-slot="detail"]', banner).textContent = 'Version ' + data.number + ' is live. ' + (data.summary || '');
      $('[data-slot="where"]', banner).textContent = data.where + (data.visible ? ': ' : '.');
      $('[data-slot="catalog"]', banner).href = data.catalog;
      $('[data-slot="catalog"]', banner).textContent = data.visible ? data.catalog : '';
      $('[data-slot="link"]', banner).href = data.url;
      $('[data-slot="link"]', banner).textContent = 'Open version ' + data.number;
      banner.classList.remove('d-none');
    }

    window.addEventListener('beforeunload', (event) => {
      if (save.leaving || !(save.dirty || save.running || save.conflict)) return;
      event.preventDefault();
      event.returnValue = '';
    });

    // --- changes that never reached the server (closed tab, lost connection): offer them back
    function offerBackup() {
      let stored = null;
      try { stored = JSON.parse(sessionStorage.getItem(backupKey) || 'null'); } catch (e) { stored = null; }
      if (!stored || stored.xml === save.savedXml) { clearBackup(); return; }
      const banner = document.getElementById('restore-banner');
      const same = stored.draft === save.draft && stored.revision === save.revision;
      $('[data-slot="detail"]', banner).textContent = same
        ? 'Changes you made at ' + time(stored.at) + ' did not reach the server.'
        : 'Changes you made at ' + time(stored.at) + ' did not reach the server, and the draft was changed since. Download them to compare.';
      const restore = $('[data-action="restore"]', banner);
      restore.textContent = same ? 'Restore them' : 'Download them';
      restore.addEventListener('click', async () => {
        banner.classList.add('d-none');
        if (!same) { download(stored.xml, config.workflow + '-unsaved.bpmn'); return; }
        await modeler.importXML(stored.xml);
        await changed();
      });
      $('[data-action="discard-backup"]', banner).addEventListener('click', () => { clearBackup(); banner.classList.add('d-none'); });
      banner.classList.remove('d-none');
    }

    return {
      ready: async () => {
        save.savedXml = await currentXml();
        updateHistoryButtons();
        offerBackup();
      },
    };
  }

  // --- a path on the canvas: the live view's instance, a test run in the designer ------------

  const TRAIL_MARKERS = ['baton-visited', 'baton-current', 'baton-incident'];

  /** Mark the blocks and paths a run went through (visited), where it is (current) and its problems. */
  function markTrail(path) {
    registry.forEach((element) => TRAIL_MARKERS.forEach((m) => canvas.removeMarker(element, m)));
    if (!path) return;
    const mark = (ids, marker) => ids.forEach((id) => { if (registry.get(id)) canvas.addMarker(id, marker); });
    mark(path.visited, 'baton-visited');
    mark(path.flows, 'baton-visited');
    mark(path.current, 'baton-current');
    mark(path.incidents, 'baton-incident');
  }

  // What the Try it panel (try_it.js) uses of the canvas.
  window.BatonCanvas = { modeler, markTrail, showElement, currentXml };

  // --- live view: counts at each block, one instance's path ----------------------------------

  function setupLive() {
    const live = config.live;
    let following = live.instance;

    function render(data) {
      overlays.remove({ type: 'baton-count' });
      Object.entries(data.counts).forEach(([id, count]) => {
        const element = registry.get(id);
        if (!element) return;
        let html = '<span class="designer-count-badge" data-testid="count-' + escapeHtml(id) + '" title="' +
          count.waiting + ' running request' + (count.waiting === 1 ? '' : 's') + ' here">' + count.waiting + '</span>';
        if (count.incidents) {
          html += '<span class="designer-count-badge incident" title="' + count.incidents + ' with an incident">' +
            '<i class="bi bi-exclamation-triangle-fill" aria-hidden="true"></i> ' + count.incidents + '</span>';
        }
        // A step with events on its edge keeps its bottom edge clear: the count goes on top.
        const edge = (element.attachers || []).length ? { top: -10 } : { bottom: 12 };
        overlays.add(element, 'baton-count', { position: Object.assign(edge, { right: element.width > 60 ? 18 : 8 }), html: '<div class="designer-counts">' + html + '</div>' });
      });
      const total = $('[data-slot="running"]');
      if (total) total.textContent = data.running;
      if (data.instance) renderPath(data.instance);
    }

    function renderPath(path) {
      markTrail(path);
      const list = document.getElementById('instance-steps');
      if (!list) return;
      list.innerHTML = '';
      path.steps.forEach((step) => {
        const item = document.createElement('li');
        const open = ['active', 'waiting', 'queued', 'running', 'retry_wait'].includes(step.status);
        const dot = step.status === 'incident' ? 'bad' : open ? 'now' : step.status === 'completed' ? 'ok' : '';
        item.innerHTML = '<span class="dot ' + dot + '"></span><div class="fw-medium"></div><div class="when"></div>';
        item.children[1].textContent = step.name;
        item.children[2].textContent = step.status_label + ' · ' + (step.at_text || step.at);
        if (step.decided) {
          // A Decision the AI decided: which path, and why (shown to operators only).
          const decided = document.createElement('div');
          decided.className = 'small';
          decided.dataset.testid = 'step-decided';
          decided.textContent = step.decided;
          item.appendChild(decided);
        }
        item.addEventListener('click', () => showElement(step.node_id));
        list.appendChild(item);
      });
    }

    async function refresh() {
      if (document.hidden) return;
      try {
        const response = await fetch(config.urls.data, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        if (response.ok) render(await response.json());
      } catch (e) { /* the next tick tries again */ }
    }

    return {
      ready: async () => {
        render(live);
        if (following && following.current.length) {
          const element = registry.get(following.current[0]);
          if (element) canvas.scrollToElement(element, { top: 120, bottom: 120, left: 80, right: 80 });
        }
        setInterval(refresh, 5000);
      },
    };
  }

  // --- start ------------------------------------------------------------------------------------

  const mode = editing ? setupEditing() : config.mode === 'live' ? setupLive() : { ready: async () => {} };

  modeler.importXML(initialXml).then(async (result) => {
    const loading = $('[data-testid="canvas-loading"]');
    if (loading) loading.remove();
    fitDiagram();
    if (result.warnings && result.warnings.length && window.console) console.warn('bpmn-js import warnings', result.warnings);
    await mode.ready();
    if (editing) markProblems(problems);
    container.dataset.ready = 'true';
    imported = true;
    if (config.mode !== 'live') loadPanel('');
  }).catch((error) => {
    container.innerHTML = '<div class="alert alert-danger m-4" role="alert"><strong>This diagram cannot be shown.</strong> ' +
      escapeHtml(error.message || error) + '</div>';
  });
})();
