// Feedback: the stored preference pairs, page by page, filtered by objective and label; export as JSONL.
import { api, download } from './api.js';
import { el, errorBox, section, table, time } from './ui.js';

const LABELS = { 1: 'chosen better', '-1': 'rejected better', 0: 'tie' };

export function render(root, { objectives }) {
  const box = errorBox();
  const rows = [];
  let cursor = null;
  let loading = false;
  const objective = el('select', { id: 'feedback-objective' }, el('option', { value: '', text: 'any objective' }),
    objectives.map((o) => el('option', { value: o.name, text: o.name })));
  const label = el('select', { id: 'feedback-label' }, el('option', { value: '', text: 'any label' }),
    Object.entries(LABELS).map(([value, text]) => el('option', { value, text: `${value} (${text})` })));
  const limit = el('select', { id: 'feedback-limit' }, ['20', '50', '100'].map((n) => el('option', { value: n, text: `${n} a page` })));
  const more = el('button', { type: 'button', id: 'feedback-more', class: 'secondary', text: 'Load more', hidden: true });
  const exportButton = el('button', { type: 'button', id: 'feedback-export', class: 'secondary', text: 'Export JSONL' });
  const summary = el('p', { class: 'muted', id: 'feedback-summary' });
  const list = el('div', { id: 'feedback-table' });

  function shorten(text, n = 160) { return text.length > n ? `${text.slice(0, n)}…` : text; }

  function paint(total) {
    if (total !== undefined) summary.dataset.total = String(total);
    const filtered = objective.value || label.value !== '';
    summary.textContent = `${rows.length} of ${summary.dataset.total ?? '?'} ${filtered ? 'matching ' : ''}pairs loaded.`;
    list.replaceChildren(rows.length === 0 ? el('p', { class: 'muted', text: 'No pairs to show.' }) : table(
      ['created', 'prompt', 'chosen', 'rejected', 'labels'],
      rows.map((pair) => el('tr', { 'data-id': pair.id },
        el('td', { class: 'nowrap', text: time(pair.created) }),
        el('td', { class: 'text-cell', text: shorten(pair.prompt), title: pair.prompt }),
        el('td', { class: 'text-cell', text: shorten(pair.chosen), title: pair.chosen_id || '' }),
        el('td', { class: 'text-cell', text: shorten(pair.rejected), title: pair.rejected_id || '' }),
        el('td', {}, Object.entries(pair.labels).map(([name, value]) =>
          el('span', { class: `chip label${value}`, text: `${name} ${value > 0 ? '+1' : value}` })))))));
  }

  async function load(reset) {
    if (loading) return;
    loading = true;
    box.clear();
    try {
      if (reset) { rows.length = 0; cursor = null; }
      // The server filters, so every page holds matching pairs only.
      const query = new URLSearchParams({ limit: limit.value });
      if (objective.value) query.set('objective', objective.value);
      if (label.value !== '') query.set('label', label.value);
      if (cursor) query.set('after', cursor);
      const page = await api('GET', `/v1/feedback?${query}`);
      rows.push(...page.data);
      cursor = page.next_cursor;
      more.hidden = !page.has_more;
      paint(page.total);
    } catch (error) {
      box.show(error);
    } finally {
      loading = false;
    }
  }

  objective.addEventListener('change', () => load(true));
  label.addEventListener('change', () => load(true));
  limit.addEventListener('change', () => load(true));
  more.addEventListener('click', () => load(false));
  exportButton.addEventListener('click', async () => {
    box.clear();
    try { await download('/v1/feedback/export', 'feedback.jsonl'); } catch (error) { box.show(error); }
  });

  root.append(el('h1', { text: 'Feedback' }), box.node,
    section('Stored pairs',
      el('div', { class: 'row' }, objective, label, limit, exportButton),
      el('p', { class: 'muted small', text: 'A label filter on one objective counts a pair that does not label it as a tie (0), as training does.' }),
      summary, list, more));
  load(true);
  return null;
}
