// Status: the server's own state, refreshed every two seconds, with its recent throughput as a chart.
import { api } from './api.js';
import { el, errorBox, section, number, duration, every } from './ui.js';
import { lineChart } from './charts.js';

const HISTORY = 90;   // samples kept for the chart: three minutes at one every two seconds

export function render(root) {
  const box = errorBox();
  const list = el('dl', { class: 'status', id: 'status-list' });
  const occupancy = el('meter', { min: 0, max: 1, value: 0, id: 'status-occupancy' });
  const chart = el('div', { id: 'status-chart' });
  const samples = [];
  const opened = Date.now();

  function paint(s) {
    occupancy.value = s.batch_occupancy;
    const rows = [
      ['model', s.model], ['state', s.ready ? 'serving' : 'loading the model'], ['uptime', duration(s.uptime_seconds)],
      ['threads', s.threads], ['context limit', `${s.context_limit} tokens`],
      ['queue depth', `${s.queue_depth} waiting (at most ${s.max_queued})`],
      ['batch occupancy', el('span', {}, occupancy, ` ${s.active_sequences} of ${s.max_batch} slots`)],
      ['tokens/s', number(s.tokens_per_second, 1)], ['tokens generated', s.generated_tokens],
      ['adapters served', s.adapters_loaded],
      ['objectives', s.objectives.map((o) => (o.description ? `${o.name} (${o.description})` : o.name)).join(', ') || 'none'],
      ['preference pairs', `${s.feedback.pairs} stored, ${s.feedback.pairs_since_last_job} since the last job`],
      ['realignment', s.realign.active_job ? `job ${s.realign.active_job} running`
        : (s.realign.auto_after_pairs > 0 ? `starts on its own after ${s.realign.auto_after_pairs} new pairs` : 'on request')],
    ];
    list.replaceChildren(...rows.flatMap(([name, value]) => [el('dt', { text: name }),
      el('dd', { 'data-field': name }, value instanceof Node ? value : String(value))]));
    samples.push({ t: (Date.now() - opened) / 1000, rate: s.tokens_per_second, active: s.active_sequences, queued: s.queue_depth });
    if (samples.length > HISTORY) samples.shift();
    chart.replaceChildren(lineChart([
      { name: 'tokens/s', points: samples.map((p) => [p.t, p.rate]) },
      { name: 'active sequences', points: samples.map((p) => [p.t, p.active]) },
      { name: 'queued', points: samples.map((p) => [p.t, p.queued]) },
    ], { title: 'Since this page opened', xLabel: 'seconds', yLabel: 'value', yMin: 0 }));
  }

  const stop = every(2000, async () => {
    try { paint(await api('GET', '/v1/status')); box.clear(); } catch (error) { box.show(error); }
  });
  root.append(el('h1', { text: 'Status' }), box.node, section('Server', list), section('Throughput', chart));
  return stop;
}
