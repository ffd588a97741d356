// Adapters: what is served, the trade-off grid it covers, the last job's held-out front; load and unload.
import { api } from './api.js';
import { el, errorBox, section, table, number, time } from './ui.js';
import { lineChart } from './charts.js';
import { frontChart } from './realign.js';

export function render(root, { objectives }) {
  const box = errorBox();
  const names = objectives.map((o) => o.name);
  const list = el('div', { id: 'adapters-table' });
  const grid = el('div', { id: 'adapters-grid' });
  const front = el('div', { id: 'adapters-front' });
  const loadId = el('input', { type: 'text', id: 'adapter-load-id', placeholder: 'id', size: 24 });
  const loadPath = el('input', { type: 'text', id: 'adapter-load-path', placeholder: 'file (default: <id>.gguf)', size: 28 });
  const loaded = el('p', { class: 'ok', role: 'status' });
  const loadForm = el('form', { class: 'row', id: 'adapter-load' }, loadId, loadPath,
    el('button', { type: 'submit', text: 'Load or replace' }));

  /// An adapter's weights in the order of the configured objectives, or null when it is not a grid adapter.
  function gridPoint(adapter) {
    if (adapter.objectives.length !== names.length || !names.every((n) => adapter.objectives.includes(n))) return null;
    const total = adapter.weights.reduce((s, w) => s + w, 0) || 1;
    return names.map((n) => adapter.weights[adapter.objectives.indexOf(n)] / total);
  }

  async function refresh() {
    box.clear();
    try {
      const adapters = (await api('GET', '/v1/adapters')).data;
      list.replaceChildren(adapters.length === 0
        ? el('p', { class: 'muted', text: 'No adapters are served: every answer comes from the base model.' })
        : table(['id', 'version', 'objectives and weights', 'rank', 'method', 'loaded', 'file', ''],
          adapters.map((a) => el('tr', { 'data-id': a.id, 'data-version': String(a.version) },
            el('td', { text: a.id }), el('td', { class: 'version', text: `v${a.version}` }),
            el('td', { text: a.objectives.map((o, i) => `${o} ${number(a.weights[i])}`).join(', ') || '–' }),
            el('td', { text: String(a.rank) }), el('td', { text: a.method || '–' }),
            el('td', { class: 'nowrap', text: time(a.loaded_at) }), el('td', { text: a.source || '–' }),
            el('td', {}, el('button', { type: 'button', class: 'danger small', text: 'Unload', onclick: () => unload(a.id) }))))));
      const points = adapters.map((a) => [a, gridPoint(a)]).filter(([, p]) => p);
      if (points.length === 0) {
        grid.replaceChildren(el('p', { class: 'muted', text: 'No grid adapters: a trade-off is answered by the base model.' }));
      } else if (names.length === 2) {
        grid.replaceChildren(lineChart(points.map(([a, p]) => ({ name: `${a.id} v${a.version}`, points: [[p[0], p[1]]] })),
          { title: 'Grid points served (a trade-off between two points mixes them)', xLabel: `weight of ${names[0]}`,
            yLabel: `weight of ${names[1]}`, xMin: 0, xMax: 1, yMin: 0, yMax: 1 }));
      } else {
        grid.replaceChildren(table(['adapter', ...names], points.map(([a, p]) =>
          el('tr', {}, el('td', { text: `${a.id} v${a.version}` }), p.map((w) => el('td', { text: number(w) }))))));
      }
      const jobs = (await api('GET', '/v1/realign')).data;
      const last = jobs.find((j) => j.state === 'succeeded' && j.report);
      front.replaceChildren(last
        ? el('div', {}, el('p', { class: 'muted small', text: `Job ${last.id}, ${time(last.finished)}.` }), frontChart(last.report, names))
        : el('p', { class: 'muted', text: 'No realignment job has succeeded yet.' }));
    } catch (error) {
      box.show(error);
    }
  }

  async function unload(id) {
    box.clear();
    try {
      await api('DELETE', `/v1/adapters/${encodeURIComponent(id)}`);
      loaded.textContent = `Unloaded ${id}.`;
      await refresh();
    } catch (error) {
      box.show(error);
    }
  }

  loadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    box.clear();
    const body = { id: loadId.value.trim() };
    if (loadPath.value.trim()) body.path = loadPath.value.trim();
    try {
      const adapter = await api('POST', '/v1/adapters', body);
      loaded.textContent = `Serving ${adapter.id} v${adapter.version}.`;
      await refresh();
    } catch (error) {
      box.show(error);
    }
  });

  root.append(el('h1', { text: 'Adapters' }), box.node,
    section('Served adapters', list,
      el('h3', { text: 'Load from the adapters directory' }), loadForm, loaded),
    el('div', { class: 'two-up' }, section('Trade-off grid', grid), section('Held-out front of the last job', front)));
  refresh();
  return null;
}
