/*
 * The designer's side panel, browser half (the forms are server-rendered: designer/panel.py).
 *
 * BatonPanel.apply(modeler, payload) makes the changes a valid panel form answered with
 * (HX-Trigger "baton:apply") through bpmn-js commands, as ONE undoable step, and reselects
 * the element. The rest is the forms' small behaviour: showing the parts that fit the current
 * choice, adding and removing rows, inserting variables, and switching between the friendly
 * editors (condition builder, text with {{variables}}) and CEL.
 */
(function () {
  'use strict';

  // --- applying a payload to the diagram ------------------------------------------------------

  const COMMAND = 'baton.panel.apply';
  const EXTENSION_TYPES = {
    formField: 'baton:FormField', messageField: 'baton:MessageField', property: 'baton:Property',
    input: 'baton:Input', output: 'baton:Output', answerField: 'baton:AnswerField', tool: 'baton:Tool',
  };
  const TIMER_KINDS = ['timeDuration', 'timeDate', 'timeCycle'];
  const registered = new WeakSet();

  function apply(modeler, payload) {
    const commandStack = modeler.get('commandStack');
    if (!registered.has(commandStack)) {
      // A command whose preExecute runs the modeling calls: they undo and redo together.
      commandStack.register(COMMAND, {
        preExecute: (context) => change(modeler, context.element, context.payload),
        execute: () => [],
        revert: () => [],
      });
      registered.add(commandStack);
    }
    const element = modeler.get('elementRegistry').get(payload.element);
    if (!element) return false;
    commandStack.execute(COMMAND, { element: element, payload: payload });
    // A selected event that was just removed leaves nothing to select.
    if (!modeler.get('elementRegistry').get(payload.element)) return true;
    modeler.get('selection').select(element);
    return true;
  }

  function change(modeler, element, payload) {
    const modeling = modeler.get('modeling');
    const bpmnFactory = modeler.get('bpmnFactory');
    const bo = element.businessObject;
    if (payload.remove) {
      const registry = modeler.get('elementRegistry');
      modeling.removeElements(payload.remove.map((id) => registry.get(id)).filter(Boolean));
    }
    // Names are compared as the compiler reads them: a line break from the label editor is kept.
    if ('name' in payload && words(bo.name) !== words(payload.name)) {
      // updateLabel creates the external label of an event or gateway that had none.
      if (element.parent) modeling.updateLabel(element, payload.name || null);
      else modeling.updateProperties(element, { name: payload.name || undefined });
    }
    const props = {};
    Object.keys(payload.attrs || {}).forEach((key) => {
      const value = payload.attrs[key];
      props[key] = value === null ? undefined : value;
    });
    if ('script' in payload) {
      props.scriptFormat = 'cel';
      props.script = payload.script;
    }
    if ('condition' in payload) {
      props.conditionExpression = payload.condition
        ? bpmnFactory.create('bpmn:FormalExpression', { body: payload.condition })
        : undefined;
    }
    if (payload.startKind === 'form' || payload.startKind === 'webhook' || payload.noDefinition) {
      if (bo.get('eventDefinitions').length) props.eventDefinitions = [];
    }
    if (Object.keys(props).length) modeling.updateProperties(element, props);
    if (payload.extensions) setExtensions(modeler, element, payload.extensions);
    if ('isDefault' in payload) setDefault(modeling, element, payload.isDefault);
    const other = payload.otherDefault && modeler.get('elementRegistry').get(payload.otherDefault);
    if (other) setDefault(modeling, other, true);
    if (payload.timer) setTimer(modeler, element, payload.timer);
    if (payload.message) setMessage(modeler, element, payload.message.name);
    if (payload.error) setError(modeler, element, payload.error.code);
    if (payload.terminate) eventDefinition(modeler, element, 'bpmn:TerminateEventDefinition');
    if ('loop' in payload) setLoop(modeler, element, payload.loop);
    if (payload.attach) attach(modeler, element, payload.attach);
    if (payload.paths) payload.paths.forEach((path) => decisionPath(modeler, element, path));
  }

  function words(text) {
    return (text || '').split(/\s+/).filter(Boolean).join(' ');
  }

  function setExtensions(modeler, element, extensions) {
    const modeling = modeler.get('modeling');
    const moddle = modeler.get('moddle');
    const bo = element.businessObject;
    let container = bo.get('extensionElements');
    const kinds = Object.keys(extensions);
    const created = {};
    kinds.forEach((kind) => {
      created[kind] = extensions[kind].map((attrs) => moddle.create(EXTENSION_TYPES[kind], attrs));
    });
    // Replaced kinds take the place of their first old element; everything else stays where it was.
    const values = [];
    const placed = new Set();
    (container ? container.get('values') : []).forEach((value) => {
      const kind = kinds.find((k) => EXTENSION_TYPES[k] === value.$type);
      if (!kind) values.push(value);
      else if (!placed.has(kind)) {
        values.push(...created[kind]);
        placed.add(kind);
      }
    });
    kinds.forEach((kind) => { if (!placed.has(kind)) values.push(...created[kind]); });
    if (!values.length) {
      if (container) modeling.updateProperties(element, { extensionElements: undefined });
      return;
    }
    if (!container) {
      container = modeler.get('bpmnFactory').create('bpmn:ExtensionElements', { values: values });
      container.$parent = bo;
      values.forEach((value) => { value.$parent = container; });
      modeling.updateProperties(element, { extensionElements: container });
      return;
    }
    values.forEach((value) => { value.$parent = container; });
    modeling.updateModdleProperties(element, container, { values: values });
  }

  function setDefault(modeling, flow, isDefault) {
    const gateway = flow.source;
    if (!gateway) return;
    const current = gateway.businessObject.get('default');
    if (isDefault && current !== flow.businessObject) modeling.updateProperties(gateway, { default: flow });
    if (!isDefault && current === flow.businessObject) modeling.updateProperties(gateway, { default: undefined });
  }

  // The event's one definition, of this type: the current one when it fits, else a new one.
  function eventDefinition(modeler, element, type) {
    const bo = element.businessObject;
    const current = bo.get('eventDefinitions');
    if (current.length === 1 && current[0].$type === type) return current[0];
    const definition = modeler.get('bpmnFactory').create(type);
    definition.$parent = bo;
    modeler.get('modeling').updateProperties(element, { eventDefinitions: [definition] });
    return definition;
  }

  function setTimer(modeler, element, timer) {
    const definition = eventDefinition(modeler, element, 'bpmn:TimerEventDefinition');
    const expression = modeler.get('bpmnFactory').create('bpmn:FormalExpression', { body: timer.value });
    expression.$parent = definition;
    const props = {};
    TIMER_KINDS.forEach((kind) => { props[kind] = kind === timer.kind ? expression : undefined; });
    modeler.get('modeling').updateModdleProperties(element, definition, props);
  }

  function setMessage(modeler, element, name) {
    const modeling = modeler.get('modeling');
    const definitions = modeler.getDefinitions();
    const roots = definitions.get('rootElements');
    let message = roots.find((root) => root.$type === 'bpmn:Message' && (root.name || '').trim() === name);
    if (!message) {
      message = modeler.get('bpmnFactory').create('bpmn:Message', { name: name });
      message.$parent = definitions;
      modeling.updateModdleProperties(element, definitions, { rootElements: roots.concat([message]) });
    }
    const definition = eventDefinition(modeler, element, 'bpmn:MessageEventDefinition');
    if (definition.messageRef !== message) modeling.updateModdleProperties(element, definition, { messageRef: message });
  }

  // The error an "If it fails" or an End with error names: reused by its code, else created.
  function setError(modeler, element, code) {
    const modeling = modeler.get('modeling');
    const definition = eventDefinition(modeler, element, 'bpmn:ErrorEventDefinition');
    let error;
    if (code) {
      const definitions = modeler.getDefinitions();
      const roots = definitions.get('rootElements');
      error = roots.find((root) => root.$type === 'bpmn:Error' && (root.errorCode || '').trim() === code);
      if (!error) {
        error = modeler.get('bpmnFactory').create('bpmn:Error', { name: code, errorCode: code });
        error.$parent = definitions;
        modeling.updateModdleProperties(element, definitions, { rootElements: roots.concat([error]) });
      }
    }
    if (definition.errorRef !== error) modeling.updateModdleProperties(element, definition, { errorRef: error });
  }

  // For each: bpmn-js draws the loop's three bars from the multi-instance characteristics.
  function setLoop(modeler, element, loop) {
    const modeling = modeler.get('modeling');
    const bpmnFactory = modeler.get('bpmnFactory');
    const bo = element.businessObject;
    let current = bo.get('loopCharacteristics');
    if (!loop) {
      if (current) modeling.updateProperties(element, { loopCharacteristics: undefined });
      return;
    }
    if (!current || current.$type !== 'bpmn:MultiInstanceLoopCharacteristics') {
      current = bpmnFactory.create('bpmn:MultiInstanceLoopCharacteristics');
      current.$parent = bo;
      modeling.updateProperties(element, { loopCharacteristics: current });
    }
    const props = {
      isSequential: loop.isSequential || (current.get('isSequential') ? false : undefined),
      'baton:collection': loop.collection || undefined,
      'baton:elementVariable': loop.elementVariable || undefined,
      'baton:outputCollection': loop.outputCollection || undefined,
      'baton:outputElement': loop.outputElement || undefined,
    };
    const old = current.get('completionCondition');
    if (!old || (old.body || '').trim() !== loop.completion) {
      props.completionCondition = loop.completion ? bpmnFactory.create('bpmn:FormalExpression', { body: loop.completion }) : undefined;
      if (props.completionCondition) props.completionCondition.$parent = current;
    }
    modeling.updateModdleProperties(element, current, props);
  }

  // A new event on the step's bottom edge, with a path down to a new End; then its own settings.
  function attach(modeler, host, spec) {
    const modeling = modeler.get('modeling');
    const bpmnFactory = modeler.get('bpmnFactory');
    const elementFactory = modeler.get('elementFactory');
    const type = 'bpmn:' + spec.definition.charAt(0).toUpperCase() + spec.definition.slice(1) + 'EventDefinition';
    const attrs = { id: spec.id };
    if (!spec.interrupting) attrs.cancelActivity = false;
    const shape = elementFactory.createShape({
      type: 'bpmn:BoundaryEvent', eventDefinitionType: type,
      businessObject: bpmnFactory.create('bpmn:BoundaryEvent', attrs),
    });
    // Right corner, left corner, middle of the bottom edge; each path's End a row lower, so labels stay apart.
    const taken = (host.attachers || []).length;
    const x = host.x + [host.width - 18, 18, host.width / 2][taken % 3];
    const event = modeling.createShape(shape, { x: x, y: host.y + host.height }, host, { attach: true });
    const end = elementFactory.createShape({
      type: 'bpmn:EndEvent', businessObject: bpmnFactory.create('bpmn:EndEvent', { id: spec.end.id, name: spec.end.name || undefined }),
    });
    modeling.createShape(end, { x: x + 40, y: host.y + host.height + 80 + taken * 70 }, host.parent);
    modeling.connect(event, end, { type: 'bpmn:SequenceFlow', businessObject: bpmnFactory.create('bpmn:SequenceFlow', { id: spec.flow }) });
    change(modeler, event, spec.settings);
  }

  // An Approval's path for one decision: an existing path marked, or a new one to a new End placed to
  // the right, in its decision's row or the first free one below (paths then never cross blocks).
  const ORDER = ['approved', 'rejected', 'changes_requested'];

  function decisionPath(modeler, source, path) {
    const modeling = modeler.get('modeling');
    const registry = modeler.get('elementRegistry');
    let flow = registry.get(path.flow);
    if (path.end) {
      const bpmnFactory = modeler.get('bpmnFactory');
      const shape = modeler.get('elementFactory').createShape({
        type: 'bpmn:EndEvent',
        businessObject: bpmnFactory.create('bpmn:EndEvent', { id: path.end.id, name: path.end.name }),
      });
      // Approved on the approval's own row, Rejected a row below, Changes requested two below.
      const row = Math.max(ORDER.indexOf(path.outcome), 0);
      const middle = source.y + source.height / 2;
      const x = source.x + source.width + 120;
      let y = middle + 100 * row;
      while (occupied(registry, x, y)) y += 100;
      const end = modeling.createShape(shape, { x: x + 18, y: y }, source.parent);
      modeling.updateProperties(end, { 'baton:outcome': path.outcome });
      flow = modeling.connect(source, end, {
        type: 'bpmn:SequenceFlow', businessObject: bpmnFactory.create('bpmn:SequenceFlow', { id: path.flow }),
      });
      if (y !== middle) {
        // Down from the approval's bottom edge, then right: the second row leaves further left, so
        // no two paths cross and none runs along the path of the row above.
        const down = source.x + source.width * (row === 2 ? 0.25 : 0.5);
        modeling.updateWaypoints(flow, [
          { x: down, y: source.y + source.height }, { x: down, y: y }, { x: end.x, y: y },
        ]);
      }
    }
    if (!flow) return;
    modeling.updateProperties(flow, { 'baton:outcome': path.outcome });
    modeling.updateLabel(flow, path.name);
  }

  // Whether a new End at (x, y) would overlap a block (or a label) already drawn there.
  function occupied(registry, x, y) {
    const box = { x: x - 10, y: y - 40, width: 76, height: 80 };
    return registry.filter((el) => !el.waypoints && el.parent && el.type !== 'bpmn:Participant'
      && el.type !== 'bpmn:Lane' && el.type !== 'bpmn:SubProcess'
      && !(el.x > box.x + box.width || el.x + el.width < box.x || el.y > box.y + box.height || el.y + el.height < box.y)).length > 0;
  }

  // --- the forms' behaviour -------------------------------------------------------------------

  const FORM = '[data-baton-panel-form]';

  // The value a show rule looks at: in the same row first (row fields are named prefix-N-name).
  function currentValue(el, name) {
    const scope = el.closest('[data-baton-row]') || el.closest('form');
    if (!scope) return '';
    const inputs = Array.from(scope.querySelectorAll('input, select, textarea'))
      .filter((input) => input.name === name || input.name.endsWith('-' + name));
    for (const input of inputs) {
      if (input.type === 'radio') { if (input.checked) return input.value; continue; }
      if (input.type === 'checkbox') return input.checked ? (input.value || 'on') : '';
      return input.value;
    }
    return '';
  }

  function refresh(root) {
    root.querySelectorAll('[data-baton-show]').forEach((el) => {
      const rule = el.dataset.batonShow;
      const at = rule.indexOf('=');
      const wanted = rule.slice(at + 1).split('|');
      el.hidden = !wanted.includes(currentValue(el, rule.slice(0, at)));
    });
    root.querySelectorAll('[data-baton-builder]').forEach(fitOperators);
  }

  // The condition builder offers the comparisons that fit the chosen value's type.
  function fitOperators(box) {
    const field = box.querySelector('[name="field"]');
    const operator = box.querySelector('[name="operator"]');
    const value = box.querySelector('[name="value"]');
    const choices = box.querySelector('datalist');
    const option = field.selectedOptions[0];
    const kind = option ? option.dataset.kind || '' : '';
    Array.from(operator.options).forEach((o) => {
      const fits = !kind || o.dataset.kinds.split(' ').includes(kind);
      o.hidden = !fits;
      o.disabled = !fits;
    });
    if (!operator.selectedOptions[0] || operator.selectedOptions[0].disabled) {
      const first = Array.from(operator.options).find((o) => !o.disabled);
      if (first) operator.value = first.value;
    }
    const chosen = operator.selectedOptions[0];
    value.hidden = chosen ? chosen.dataset.needsValue === '0' : false;
    choices.replaceChildren(...((option && option.dataset.choices) || '').split(',').filter(Boolean).map((c) => {
      const item = document.createElement('option');
      item.value = c;
      return item;
    }));
  }

  function insertAtCursor(input, text) {
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = start + text.length;
    input.focus();
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  // Run the field's check and hand its answer (data-cel, data-text, data-field…) to callback.
  function withCheck(input, targetId, callback) {
    const target = document.getElementById(targetId);
    if (!target || !window.htmx) return;
    target.addEventListener('htmx:afterSettle', () => callback(target.querySelector('[data-baton-result]')), { once: true });
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  // A sentence under a field's check that the next check does not overwrite; '' removes it.
  function note(targetId, text) {
    const box = document.getElementById(targetId);
    if (!box) return;
    let message = box.nextElementSibling;
    if (!message || !message.hasAttribute('data-baton-note')) {
      message = document.createElement('div');
      message.className = 'small text-danger';
      message.setAttribute('data-baton-note', '');
      box.after(message);
    }
    message.textContent = text;
    message.hidden = !text;
  }

  function toggleTextMode(button) {
    const form = button.closest('form');
    const name = button.dataset.batonMode;
    const input = form.elements[name];
    const mode = form.elements[name + '_mode'];
    const toCel = mode.value !== 'cel';
    const flip = () => {
      note('check-' + name, '');
      mode.value = toCel ? 'cel' : 'text';
      button.textContent = toCel ? 'Write text' : 'Write a formula';
      input.dispatchEvent(new Event('change', { bubbles: true }));
    };
    if (!input.value.trim()) return flip();
    withCheck(input, 'check-' + name, (result) => {
      const value = result && (toCel ? result.getAttribute('data-cel') : result.getAttribute('data-text'));
      if (value === null || value === undefined) {
        return note('check-' + name, toCel ? 'Fix the text first.' : 'This expression cannot be written as text.');
      }
      input.value = value;
      flip();
    });
  }

  function toggleConditionMode(button) {
    const form = button.closest('form');
    const mode = form.elements.condition_mode;
    const text = form.elements.condition;
    const builder = form.querySelector('[data-baton-builder]');
    const done = (next) => {
      note('check-condition', '');
      mode.value = next;
      button.textContent = next === 'cel' ? 'Use the builder' : 'Write a formula';
      refresh(form);
    };
    if (mode.value !== 'cel') {
      return withCheck(builder.querySelector('[name="field"]'), 'check-condition', (result) => {
        if (result && result.dataset.cel) text.value = result.dataset.cel;
        done('cel');
      });
    }
    if (!text.value.trim()) return done('builder');
    withCheck(text, 'check-condition', (result) => {
      if (!result || !result.dataset.field) return note('check-condition', 'This condition is too complex for the builder.');
      builder.querySelector('[name="field"]').value = result.dataset.field;
      builder.querySelector('[name="operator"]').value = result.dataset.operator;
      builder.querySelector('[name="value"]').value = result.dataset.value || '';
      done('builder');
    });
  }

  function addRow(section) {
    const prefix = section.dataset.batonRows;
    const total = section.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    const index = Number(total.value);
    const html = section.querySelector('template[data-baton-row-template]').innerHTML.replace(/__prefix__/g, index);
    const list = section.querySelector('[data-baton-row-list]');
    list.insertAdjacentHTML('beforeend', html);
    total.value = index + 1;
    const row = list.lastElementChild;
    if (window.htmx) window.htmx.process(row);
    refresh(row);
    return row;
  }

  document.addEventListener('click', (event) => {
    if (!event.target.closest(FORM)) return;
    const add = event.target.closest('[data-baton-add-row]');
    if (add) {
      const row = addRow(add.closest('[data-baton-rows]'));
      const first = row.querySelector('input, select');
      if (first) first.focus();
      return;
    }
    const remove = event.target.closest('[data-baton-remove-row]');
    // Removing leaves a gap in the row numbers, which the server's row sets skip.
    if (remove) return remove.closest('[data-baton-row]').remove();
    const textMode = event.target.closest('[data-baton-mode]');
    if (textMode) return toggleTextMode(textMode);
    const conditionMode = event.target.closest('[data-baton-condition-mode]');
    if (conditionMode) return toggleConditionMode(conditionMode);
  });

  document.addEventListener('focusin', (event) => {
    const section = event.target.closest('[data-baton-rows]');
    if (section && event.target.name && event.target.name.endsWith('-expression')) section.dataset.lastFocus = event.target.id;
  });

  document.addEventListener('change', (event) => {
    const form = event.target.closest(FORM);
    if (!form) return;
    const picker = event.target.closest('select[data-baton-insert], select[data-baton-insert-row]');
    if (picker) {
      const name = picker.value;
      picker.value = '';
      if (!name) return;
      let input = document.getElementById(picker.dataset.batonInsert || '');
      if (picker.hasAttribute('data-baton-insert-row')) {
        const section = picker.closest('[data-baton-rows]');
        input = document.getElementById(section.dataset.lastFocus || '');
        if (!input || !section.contains(input)) {
          const rows = section.querySelectorAll('[data-baton-row]');
          const row = rows.length ? rows[rows.length - 1] : addRow(section);
          input = row.querySelector('[name$="-expression"]');
        }
      }
      if (!input) return;
      const mode = form.elements[input.name + '_mode'];
      insertAtCursor(input, mode && mode.value !== 'cel' ? '{{' + name + '}}' : name);
      return;
    }
    refresh(form);
  });

  // htmx is loaded with defer, after this script: listen for its event rather than call it.
  document.addEventListener('htmx:load', (event) => refresh(event.detail.elt));

  // --- nothing typed is lost: a form with changes not in the diagram is "pending" -------------

  const shown = () => document.querySelector('#designer-panel ' + FORM);
  const values = (form) => new URLSearchParams(new FormData(form)).toString();
  const loaded = new WeakMap(); // each form's values as the server rendered them

  // Pending: the values differ from the rendered ones, or the server refused them (not applied).
  function pending(form) {
    form = form || shown();
    if (!form) return false;
    if (!loaded.has(form)) loaded.set(form, values(form)); // just swapped in: htmx:load comes at settle
    return form.hasAttribute('data-baton-unapplied') || values(form) !== loaded.get(form);
  }

  function markPending() {
    const form = shown();
    const badge = form && form.closest('.baton-panel').querySelector('[data-testid="panel-unsaved"]');
    if (badge) badge.hidden = !pending(form);
    document.dispatchEvent(new CustomEvent('baton:pending')); // the canvas's Undo counts typed changes
  }

  // After refresh() (registered above) has settled the form's own choices.
  document.addEventListener('htmx:load', (event) => {
    const form = event.detail.elt.matches(FORM) ? event.detail.elt : event.detail.elt.querySelector(FORM);
    if (form && !loaded.has(form)) loaded.set(form, values(form));
  });
  ['input', 'change', 'click'].forEach((type) => document.addEventListener(type, (event) => {
    if (event.target.closest && event.target.closest(FORM)) setTimeout(markPending); // after row changes
  }));

  /**
   * Leaving the panel (another selection, the canvas, Escape): pending changes go through Apply,
   * the same request and one undo step as the button. Resolves true when nothing is left pending;
   * false when the form was refused, which then shows its errors with "Not applied yet".
   */
  async function leave() {
    const form = shown();
    if (!pending(form)) return true;
    await window.htmx.ajax('POST', form.getAttribute('hx-post'), { source: form, target: '#designer-panel', swap: 'innerHTML' });
    const now = shown();
    if (!pending(now)) return true;
    if (now) now.closest('.baton-panel').querySelector('[data-testid="panel-not-applied"]').hidden = false;
    return false;
  }

  // "Keep editing" puts the cursor in the first field to fix; "Discard" is the canvas's (it reselects).
  document.addEventListener('click', (event) => {
    if (!event.target.closest('[data-baton-keep]')) return;
    const box = event.target.closest('.baton-panel');
    box.querySelector('[data-testid="panel-not-applied"]').hidden = true;
    const field = box.querySelector('[aria-invalid="true"], .is-invalid');
    if (field) field.focus();
  });

  window.BatonPanel = { apply: apply, refresh: refresh, pending: () => pending(), leave: leave };
})();
