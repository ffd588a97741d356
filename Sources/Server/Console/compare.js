// Compare: one prompt, two answers generated at the same time, and a vote per objective.
import { api } from './api.js';
import { el, errorBox, section, tradeoffSliders, message } from './ui.js';
import { answerView, streamAnswer, numberOrText } from './chat.js';

const VOTES = [['A', 1], ['B', -1], ['tie', 0]];

export function render(root, { objectives, model }) {
  const box = errorBox();
  const prompt = el('textarea', { id: 'compare-prompt', rows: 3, placeholder: 'One prompt, two answers' });
  const maxTokens = el('input', { type: 'text', inputmode: 'numeric', id: 'compare-max-tokens', value: '64', size: 6 });
  const mode = el('select', { id: 'compare-mode' },
    el('option', { value: 'tradeoff', text: 'two trade-offs' }), el('option', { value: 'adapter', text: 'two adapters' }));
  const corner = (k) => objectives.map((_, i) => (objectives.length === 1 || i === k ? 100 : 0));
  const sides = ['A', 'B'].map((name, k) => {
    const sliders = tradeoffSliders(objectives, corner(k % Math.max(1, objectives.length)), `Answer ${name}`);
    const adapter = el('select', { id: `compare-adapter-${name}`, 'aria-label': `Adapter for answer ${name}` },
      el('option', { value: '', text: 'base model' }));
    const answer = answerView(`Answer ${name}`);
    answer.node.id = `compare-answer-${name}`;
    return { name, sliders, adapter, answer, result: null };
  });
  const generate = el('button', { type: 'submit', id: 'compare-generate', text: 'Generate both' });
  const counter = el('p', { id: 'compare-counter', class: 'muted' });
  const votesBox = el('div', { class: 'votes', id: 'compare-votes' });
  const submit = el('button', { type: 'button', id: 'compare-submit', text: 'Send votes', disabled: true });
  const sent = el('p', { class: 'ok', id: 'compare-sent', role: 'status' });
  const votes = new Map();
  let focused = 0;
  let controller = null;

  const rows = objectives.map((objective, index) => {
    const buttons = VOTES.map(([label, value]) => el('button', {
      type: 'button', class: 'vote', 'data-objective': objective.name, 'data-value': String(value), text: label,
      onclick: () => { setVote(index, value); focused = index; paint(); },
    }));
    const row = el('div', { class: 'vote-row', 'data-objective': objective.name },
      el('span', { class: 'name', text: objective.name, title: objective.description || '' }), buttons);
    return { objective, row, buttons };
  });
  votesBox.append(...rows.map((r) => r.row),
    el('p', { class: 'muted small', text: 'Keys: a / b / t vote the highlighted objective and move on; ↑ ↓ choose the objective; Enter sends.' }));

  function setVote(index, value) { votes.set(rows[index].objective.name, value); }

  function paint() {
    rows.forEach((r, i) => {
      r.row.classList.toggle('focused', i === focused);
      const chosen = votes.get(r.objective.name);
      r.buttons.forEach((b) => b.classList.toggle('chosen', Number(b.dataset.value) === chosen));
    });
    const ready = sides.every((s) => s.result && s.result.completionId);
    submit.disabled = !ready || votes.size === 0;
    votesBox.classList.toggle('disabled', !ready);
  }

  async function refreshCounter() {
    try {
      const status = await api('GET', '/v1/status');
      const { pairs, pairs_since_last_job: fresh } = status.feedback;
      const auto = status.realign.auto_after_pairs;
      const minimum = status.realign.defaults.min_pairs;
      counter.textContent = auto > 0
        ? `${fresh} of ${auto} pairs toward the next automatic realignment (${pairs} stored).`
        : `${fresh} pairs since the last realignment job, ${pairs} stored; a job needs at least ${minimum}.`;
      counter.dataset.pairs = String(pairs);
    } catch (error) {
      counter.textContent = `Pair count unavailable: ${message(error)}`;
    }
  }

  function syncMode() {
    const adapters = mode.value === 'adapter';
    sides.forEach((s) => { s.sliders.node.hidden = adapters; s.adapter.hidden = !adapters; });
  }

  async function loadAdapters() {
    try {
      const list = await api('GET', '/v1/adapters');
      for (const s of sides) {
        for (const a of list.data) s.adapter.append(el('option', { value: a.id, text: `${a.id} v${a.version}` }));
      }
    } catch (error) {
      box.show(error);
    }
  }

  async function run(event) {
    event.preventDefault();
    const content = prompt.value.trim();
    if (!content || controller) return;
    box.clear();
    sent.textContent = '';
    votes.clear();
    focused = 0;
    sides.forEach((s) => { s.result = null; });
    paint();
    controller = new AbortController();
    generate.disabled = true;
    const requests = sides.map((s) => {
      const request = { model, messages: [{ role: 'user', content }], temperature: 0.8 };
      if (maxTokens.value.trim()) request.max_tokens = numberOrText(maxTokens.value);
      if (mode.value === 'adapter') {
        if (s.adapter.value) request.adapters = [{ id: s.adapter.value, scale: 1 }];
      } else {
        const tradeoff = s.sliders.value();
        if (tradeoff) request.tradeoff = tradeoff;
      }
      return request;
    });
    try {
      // Both at once: the server batches them into the same forward passes.
      const results = await Promise.all(sides.map((s, k) => streamAnswer(requests[k], s.answer, controller.signal)));
      results.forEach((r, k) => { sides[k].result = r; });
    } catch (error) {
      if (error.name !== 'AbortError') box.show(error);
      controller.abort();
    } finally {
      controller = null;
      generate.disabled = false;
      paint();
    }
  }

  async function sendVotes() {
    const [a, b] = sides.map((s) => s.result);
    if (!a || !b || votes.size === 0) return;
    box.clear();
    submit.disabled = true;
    try {
      const pair = await api('POST', '/v1/feedback', {
        chosen_id: a.completionId, rejected_id: b.completionId, labels: Object.fromEntries(votes),
      });
      sent.textContent = `Stored as ${pair.id}.`;
      sent.dataset.feedbackId = pair.id;
      votes.clear();
      sides.forEach((s) => { s.result = null; });
      await refreshCounter();
    } catch (error) {
      box.show(error);
    } finally {
      paint();
    }
  }

  function onKey(event) {
    const target = event.target;
    if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement || target instanceof HTMLSelectElement) return;
    if (event.ctrlKey || event.metaKey || event.altKey || rows.length === 0) return;
    const key = event.key.toLowerCase();
    const vote = { a: 1, b: -1, t: 0 }[key];
    if (vote !== undefined) {
      if (!sides.every((s) => s.result)) return;
      setVote(focused, vote);
      focused = Math.min(rows.length - 1, focused + 1);
    } else if (key === 'arrowdown' || key === 'j') {
      focused = Math.min(rows.length - 1, focused + 1);
    } else if (key === 'arrowup' || key === 'k') {
      focused = Math.max(0, focused - 1);
    } else if (key === 'enter') {
      if (!submit.disabled) sendVotes();
    } else {
      return;
    }
    event.preventDefault();
    paint();
  }

  mode.addEventListener('change', syncMode);
  submit.addEventListener('click', sendVotes);
  prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  document.addEventListener('keydown', onKey);
  const form = el('form', { class: 'chat-form' }, prompt,
    el('div', { class: 'row' }, generate, el('label', {}, 'compare ', mode), el('label', {}, 'max tokens ', maxTokens)));
  form.addEventListener('submit', run);

  root.append(
    el('h1', { text: 'Compare' }),
    box.node,
    section('Prompt', form, el('div', { class: 'sides' },
      sides.map((s) => el('div', { class: 'side' }, s.sliders.node, s.adapter, s.answer.node)))),
    section('Which is better?', el('p', { class: 'muted small', text: 'Per objective: A, B, or a tie. Answer A is stored as chosen, B as rejected; a vote for B is the label −1.' }),
      votesBox, el('div', { class: 'row' }, submit), sent, counter));
  syncMode();
  paint();
  loadAdapters();
  refreshCounter();
  return () => { document.removeEventListener('keydown', onKey); if (controller) controller.abort(); };
}
