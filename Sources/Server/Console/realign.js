// Realign: start a job (server defaults or edited fields), watch it train, cancel it, read past jobs' reports.
import { api } from './api.js';
import { el, errorBox, section, table, number, time, duration, message, every } from './ui.js';
import { lineChart, COLOURS } from './charts.js';
import { numberOrText } from './chat.js';

const FIELDS = [
  ['method', 'method'], ['steps', 'steps per grid point'], ['min_pairs', 'minimum pairs'],
  ['learning_rate', 'learning rate'], ['beta', 'β'], ['c', 'conflict aversion c'], ['rank', 'LoRA rank'],
  ['batch_size', 'batch size'], ['held_out', 'held-out fraction'], ['seed', 'seed'],
];

/// "1,0; 0.5,0.5" ⇄ [[1, 0], [0.5, 0.5]]; entries that are not numbers are sent as typed, for the server to judge.
function formatWeights(weights) { return (weights || []).map((w) => w.map((x) => Number(x.toFixed(4))).join(',')).join('; '); }
function parseWeights(text) {
  return text.split(';').map((v) => v.trim()).filter((v) => v).map((v) => v.split(',').map((x) => numberOrText(x)));
}

/// The charts of a job: training loss and accuracy per objective against the step (live samples, or the
/// report's first and last values once the samples are gone), and held-out accuracy per grid point.
export function jobCharts(job, samples, objectives) {
  const names = objectives.map((o) => o.name);
  const runs = job.report?.training?.runs || [];
  const lossSeries = names.map((name) => ({ name, points: samples.map((s) => [s.x, s.losses[name]]) }));
  const accuracySeries = names.map((name) => ({ name, points: samples.map((s) => [s.x, s.accuracies[name]]) }));
  if (samples.length === 0 && runs.length > 0) {
    names.forEach((name, k) => {
      let x = 0;
      for (const run of runs) {
        lossSeries[k].points.push([x + 1, run.initialTrainLoss?.[name]], [x + run.steps, run.finalTrainLoss?.[name]]);
        x += run.steps;
      }
    });
  }
  const active = job.state === 'queued' || job.state === 'running';
  const charts = [
    lineChart(lossSeries, { title: 'Training loss per objective', xLabel: 'step (all grid points)', yLabel: 'DPO loss',
      empty: active ? 'Waiting for the first training step…' : 'No training steps recorded.' }),
    lineChart(accuracySeries, { title: 'Training accuracy per objective', xLabel: 'step (all grid points)', yLabel: 'accuracy',
      yMin: 0, yMax: 1, empty: samples.length ? 'No labelled rows.'
        : (active ? 'Waiting for the first training step…' : 'Live accuracy is shown while a job trains.') }),
  ];
  if (runs.length > 0) {
    charts.push(frontChart(job.report, names));
  }
  return charts;
}

/// Held-out accuracy per objective at each grid point (x: the first objective's weight), before and after.
export function frontChart(report, names) {
  const runs = report?.training?.runs || [];
  // Before (dashed, pale) first, so the after lines are drawn over them where they coincide.
  const series = [];
  names.forEach((name, k) => {
    series.push({ name: `${name} before`, dashed: true, colour: ['#93c5fd', '#fca5a5', '#6ee7b7', '#fcd34d'][k % 4],
      points: runs.map((r) => [r.weights[0], r.heldOutLogRatioAccuracyBefore?.[name]]) });
  });
  names.forEach((name, k) => {
    series.push({ name: `${name} after`, colour: COLOURS[k % COLOURS.length],
      points: runs.map((r) => [r.weights[0], r.heldOutLogRatioAccuracyAfter?.[name]]) });
  });
  series.forEach((s) => s.points.sort((a, b) => a[0] - b[0]));
  return lineChart(series, { title: 'Held-out accuracy at each grid point', xLabel: `weight of ${names[0] || 'objective 1'}`,
    yLabel: 'accuracy', yMin: 0, yMax: 1, xMin: 0, xMax: 1, empty: 'No held-out rows in this job.' });
}

export function reportView(job, objectives) {
  const report = job.report;
  if (!report) return el('p', { class: 'muted', text: job.error ? `Error: ${job.error}` : 'No report yet.' });
  const names = objectives.map((o) => o.name);
  const training = report.training || {};
  const promoted = (report.promoted || []).map((p) => `${p.id} v${p.version}`).join(', ') || 'none';
  const kept = (report.kept || []).join(', ') || 'none';
  return el('div', { class: 'report' },
    el('p', { class: 'promotion', text: `Promoted: ${promoted}. Kept (no held-out gain): ${kept}.` }),
    el('p', { class: 'muted small', text: `${training.method || ''} on ${training.rows ?? '?'} rows (${training.trainRows ?? '?'} train, ${training.heldOutRows ?? '?'} held out, ${training.skippedRows ?? 0} skipped) in ${duration(report.seconds)}.` }),
    table(['weights', ...names.flatMap((n) => [`${n} loss`, `${n} held-out acc.`])],
      (training.runs || []).map((run) => el('tr', {},
        el('td', { text: run.weights.map((w) => number(w)).join(' / ') }),
        names.flatMap((n) => [
          el('td', { text: `${number(run.initialTrainLoss?.[n], 3)} → ${number(run.finalTrainLoss?.[n], 3)}` }),
          el('td', { text: `${number(run.heldOutLogRatioAccuracyBefore?.[n])} → ${number(run.heldOutLogRatioAccuracyAfter?.[n])}` }),
        ])))));
}

export function render(root, { objectives }) {
  const box = errorBox();
  const inputs = {};
  const weights = el('input', { type: 'text', id: 'realign-weights', size: 30 });
  let defaults = null;
  const form = el('form', { class: 'fields', id: 'realign-form' },
    FIELDS.map(([name, text]) => {
      inputs[name] = name === 'method'
        ? el('select', { id: 'realign-method' }, ['raco', 'cagrad', 'dpo-lw'].map((m) => el('option', { value: m, text: m })))
        : el('input', { type: 'text', id: `realign-${name.replace('_', '-')}`, size: 10 });
      return el('label', {}, el('span', { text: text }), inputs[name]);
    }),
    el('label', { class: 'wide' }, el('span', { text: 'grid weights (vectors separated by ;)' }), weights),
    el('div', { class: 'row wide' },
      el('button', { type: 'submit', id: 'realign-start', text: 'Start job' }),
      el('button', { type: 'button', id: 'realign-defaults', class: 'secondary', text: 'Start with server defaults' }),
      el('button', { type: 'button', id: 'realign-reset', class: 'secondary', text: 'Reset fields' })));

  const jobPanel = el('div', { id: 'realign-job' }, el('p', { class: 'muted', text: 'No job selected.' }));
  const history = el('div', { id: 'realign-history' });
  let stopPolling = null;
  let samples = [];
  let watched = null;

  function fill() {
    if (!defaults) return;
    for (const [name] of FIELDS) inputs[name].value = String(defaults[name] ?? '');
    weights.value = formatWeights(defaults.weights);
  }

  /// Only the fields changed from the server's defaults are sent: the rest stay the server's to choose.
  function edited() {
    const body = {};
    for (const [name] of FIELDS) {
      const text = inputs[name].value.trim();
      if (text === String(defaults?.[name] ?? '')) continue;
      body[name] = name === 'method' ? text : (text === '' ? null : numberOrText(text));
    }
    if (weights.value.trim() !== formatWeights(defaults?.weights)) body.weights = parseWeights(weights.value);
    return body;
  }

  async function start(body) {
    box.clear();
    try {
      const job = await api('POST', '/v1/realign', body);
      watch(job.id);
      loadHistory();
    } catch (error) {
      box.show(error);
    }
  }

  function paintJob(job) {
    const progress = job.progress;
    if (progress && job.state === 'running') {
      const x = progress.weightIndex * progress.totalSteps + progress.step;
      if (!samples.some((s) => s.x === x)) {
        samples.push({ x, losses: progress.losses || {}, accuracies: progress.accuracies || {} });
        samples.sort((a, b) => a.x - b.x);
      }
    }
    let stepText = '', eta = '';
    if (progress) {
      stepText = `grid point ${progress.weightIndex + 1} of ${progress.weightCount}, step ${progress.step} of ${progress.totalSteps}`;
      const perStep = progress.step > 0 ? progress.elapsedSeconds / progress.step : NaN;
      const left = (progress.totalSteps - progress.step) + (progress.weightCount - progress.weightIndex - 1) * progress.totalSteps;
      if (job.state === 'running') eta = `about ${duration(perStep * left)} left`;
    }
    const active = job.state === 'queued' || job.state === 'running';
    const cancel = el('button', { type: 'button', id: 'realign-cancel', class: 'danger', text: 'Cancel job', hidden: !active,
      onclick: async () => {
        try { await api('POST', `/v1/realign/${encodeURIComponent(job.id)}/cancel`, {}); } catch (error) { box.show(error); }
      } });
    jobPanel.replaceChildren(...[
      el('div', { class: 'row' },
        el('strong', { text: job.id }),
        el('span', { class: `state state-${job.state}`, id: 'realign-state', 'data-state': job.state, text: job.state }),
        el('span', { id: 'realign-step', text: stepText }), el('span', { class: 'muted', id: 'realign-eta', text: eta }), cancel),
      job.error ? el('p', { class: 'error-text', text: job.error }) : null,
      el('div', { class: 'charts', id: 'realign-charts' }, jobCharts(job, samples, objectives)),
      job.report ? reportView(job, objectives) : null,
    ].filter(Boolean));
  }

  function watch(id) {
    if (stopPolling) stopPolling();
    samples = [];
    watched = id;
    stopPolling = every(1000, async () => {
      try {
        const job = await api('GET', `/v1/realign/${encodeURIComponent(id)}`);
        if (watched !== id) return;
        paintJob(job);
        if (job.state !== 'queued' && job.state !== 'running') {
          stopPolling();
          stopPolling = null;
          loadHistory();
        }
      } catch (error) {
        box.show(error);
      }
    });
  }

  async function loadHistory() {
    try {
      const list = await api('GET', '/v1/realign');
      history.replaceChildren(list.data.length === 0 ? el('p', { class: 'muted', text: 'No jobs yet.' }) : el('div', {},
        list.data.map((job) => {
          const promoted = (job.report?.promoted || []).map((p) => `${p.id} v${p.version}`).join(', ');
          const details = el('details', { class: 'job', 'data-id': job.id },
            el('summary', {},
              el('span', { class: `state state-${job.state}`, text: job.state }), ' ',
              job.request?.starter ? el('span', { class: 'chip', text: `starter: ${job.request.starter}` }) : null,
              el('span', { text: `${time(job.created)} · ${job.pairs_used ?? '?'} pairs` }),
              promoted ? el('span', { class: 'muted', text: ` · promoted ${promoted}` }) : null,
              job.report && (job.report.kept || []).length ? el('span', { class: 'muted', text: ` · kept ${job.report.kept.length}` }) : null),
            el('button', { type: 'button', class: 'secondary small', text: 'Show charts', onclick: () => watch(job.id) }),
            reportView(job, objectives));
          return details;
        })));
    } catch (error) {
      box.show(error);
    }
  }

  form.addEventListener('submit', (event) => { event.preventDefault(); start(edited()); });
  form.querySelector('#realign-defaults').addEventListener('click', () => start({}));
  form.querySelector('#realign-reset').addEventListener('click', fill);

  root.append(el('h1', { text: 'Realign' }), box.node,
    section('New job', el('p', { class: 'muted small', id: 'realign-pairs' }), form),
    section('Job', jobPanel),
    section('History', history));

  (async () => {
    try {
      const status = await api('GET', '/v1/status');
      defaults = status.realign.defaults;
      fill();
      root.querySelector('#realign-pairs').textContent =
        `${status.feedback.pairs} preference pairs stored, ${status.feedback.pairs_since_last_job} since the last job.`;
      const current = status.realign.active_job || status.realign.last_job;
      if (current) watch(current);
    } catch (error) {
      box.show(message(error));
    }
  })();
  loadHistory();
  return () => { watched = null; if (stopPolling) stopPolling(); };
}
