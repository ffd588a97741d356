// Small DOM helpers shared by the pages.

/// An element with attributes (`class`, `text`, `on<event>` handlers, others as attributes) and children.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'value') node.value = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function message(error) { return error instanceof Error ? error.message : String(error); }

/// A banner that shows a failure (the server's own message) until cleared.
export function errorBox() {
  const node = el('div', { class: 'error', role: 'alert', hidden: true });
  return {
    node,
    show(error) { node.textContent = message(error); node.hidden = false; },
    clear() { node.textContent = ''; node.hidden = true; },
  };
}

export function section(title, ...children) {
  return el('section', { class: 'card' }, el('h2', { text: title }), ...children);
}

/// Wide content (tables) scrolls inside its box, so a phone-sized page never scrolls sideways.
export function scroller(child) { return el('div', { class: 'scroll' }, child); }

export function table(headings, rows) {
  return scroller(el('table', {},
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', { text: h })))),
    el('tbody', {}, rows)));
}

export function number(value, digits = 2) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export function time(unixSeconds) {
  return unixSeconds ? new Date(unixSeconds * 1000).toLocaleString() : '–';
}

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/// Weights scaled to sum 1 (all zero stays all zero).
export function normalise(weights) {
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => (total > 0 ? w / total : 0));
}

/// One slider per objective; `value()` is the trade-off to send (normalised), or null when every slider is 0.
export function tradeoffSliders(objectives, initial, label = 'Trade-off') {
  const sliders = objectives.map((objective, i) => el('input', {
    type: 'range', min: 0, max: 100, step: 1, value: String(initial ? initial[i] : 50),
    name: objective.name, 'aria-label': `${label}: ${objective.name}`,
  }));
  const shares = objectives.map(() => el('output', { class: 'share' }));
  const summary = el('p', { class: 'muted small' });
  const update = () => {
    const weights = normalise(sliders.map((s) => Number(s.value)));
    weights.forEach((w, i) => { shares[i].textContent = `${Math.round(w * 100)}%`; });
    summary.textContent = weights.every((w) => w === 0) ? 'All zero: the base model answers.' : '';
  };
  sliders.forEach((s) => s.addEventListener('input', update));
  update();
  const node = el('fieldset', { class: 'sliders' }, el('legend', { text: label }),
    objectives.map((objective, i) => el('label', { class: 'slider', title: objective.description || objective.name },
      el('span', { class: 'name', text: objective.name }), sliders[i], shares[i])),
    summary);
  return {
    node,
    sliders,
    value() {
      const weights = normalise(sliders.map((s) => Number(s.value)));
      if (weights.every((w) => w === 0)) return null;
      return Object.fromEntries(objectives.map((o, i) => [o.name, Math.round(weights[i] * 1000) / 1000]));
    },
    set(values) { sliders.forEach((s, i) => { s.value = String(values[i]); }); update(); },
  };
}

/// What served an answer, from the response's `mixture`.
export function describeMixture(mixture) {
  if (!mixture) return 'base model';
  const parts = [];
  if (mixture.tradeoff) {
    parts.push('trade-off ' + Object.entries(mixture.tradeoff).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', '));
  }
  if (mixture.base_model_only || !mixture.adapters || mixture.adapters.length === 0) {
    parts.push('served by the base model');
  } else {
    parts.push('served by ' + mixture.adapters.map((a) => `${a.id} v${a.version} ×${number(a.scale)}`).join(' + '));
  }
  return parts.join(' · ');
}

/// Calls `tick` now and every `ms` until the returned function is called.
export function every(ms, tick) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try { await tick(); } catch { /* each tick shows its own errors */ }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => { stopped = true; clearTimeout(timer); };
}
