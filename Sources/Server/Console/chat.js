// Chat: a streamed conversation steered by one slider per objective.
import { streamChat } from './api.js';
import { el, errorBox, section, tradeoffSliders, describeMixture } from './ui.js';

/// Streams one answer into `target` (an object with `text` and `served` elements); resolves to
/// { text, completionId, mixture }. Shared with Compare.
export async function streamAnswer(request, target, signal) {
  let text = '', completionId = null, mixture = null, finishReason = null;
  target.text.textContent = '';
  target.node.classList.add('streaming');
  try {
    await streamChat(request, (chunk) => {
      if (chunk.mixture && !mixture) {
        mixture = chunk.mixture;
        target.served.textContent = describeMixture(mixture);
        target.served.dataset.tradeoff = JSON.stringify(mixture.tradeoff ?? null);
        target.served.dataset.adapters = JSON.stringify(mixture.adapters ?? []);
      }
      for (const choice of chunk.choices || []) {
        if (choice.completion_id) { completionId = choice.completion_id; target.node.dataset.completionId = completionId; }
        if (choice.delta && choice.delta.content) { text += choice.delta.content; target.text.textContent = text; }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
    }, signal);
  } finally {
    target.node.classList.remove('streaming');
  }
  target.node.dataset.finishReason = finishReason || '';
  if (mixture && mixture.note) target.served.title = mixture.note;
  return { text, completionId, mixture };
}

export function numberOrText(text) {
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : text.trim();
}

export function answerView(label) {
  const text = el('div', { class: 'text' });
  const served = el('div', { class: 'served muted small' });
  const node = el('div', { class: 'message assistant' }, label ? el('div', { class: 'who', text: label }) : null, text, served);
  return { node, text, served };
}

export function render(root, { objectives, model }) {
  const messages = [];
  const box = errorBox();
  const sliders = tradeoffSliders(objectives, null);
  const maxTokens = el('input', { type: 'text', inputmode: 'numeric', id: 'chat-max-tokens', value: '96', size: 6 });
  const temperature = el('input', { type: 'text', inputmode: 'decimal', id: 'chat-temperature', value: '0.7', size: 4 });
  const prompt = el('textarea', { id: 'chat-prompt', rows: 3, placeholder: 'Ask something… (Ctrl+Enter sends)' });
  const sendButton = el('button', { type: 'submit', id: 'chat-send', text: 'Send' });
  const stopButton = el('button', { type: 'button', id: 'chat-stop', text: 'Stop', disabled: true });
  const clearButton = el('button', { type: 'button', class: 'secondary', text: 'New conversation' });
  const log = el('div', { class: 'conversation', id: 'chat-log', 'aria-live': 'polite' });
  let controller = null;

  const form = el('form', { class: 'chat-form' }, prompt,
    el('div', { class: 'row' }, sendButton, stopButton, clearButton,
      el('label', {}, 'max tokens ', maxTokens), el('label', {}, 'temperature ', temperature)));

  async function send(event) {
    event.preventDefault();
    const content = prompt.value.trim();
    if (!content || controller) return;
    box.clear();
    const user = el('div', { class: 'message user' }, el('div', { class: 'text', text: content }));
    const answer = answerView();
    log.append(user, answer.node);
    const request = {
      model,
      messages: [...messages, { role: 'user', content }],
    };
    // Sent as typed (a value that is not a number too), so the server's own checks answer.
    if (maxTokens.value.trim()) request.max_tokens = numberOrText(maxTokens.value);
    if (temperature.value.trim()) request.temperature = numberOrText(temperature.value);
    const tradeoff = sliders.value();
    if (tradeoff) request.tradeoff = tradeoff;
    controller = new AbortController();
    sendButton.disabled = true;
    stopButton.disabled = false;
    try {
      const result = await streamAnswer(request, answer, controller.signal);
      messages.push({ role: 'user', content }, { role: 'assistant', content: result.text });
      prompt.value = '';
    } catch (error) {
      if (error.name === 'AbortError') {
        answer.served.textContent += ' · stopped';
        messages.push({ role: 'user', content }, { role: 'assistant', content: answer.text.textContent });
      } else {
        user.remove();
        answer.node.remove();
        box.show(error);
      }
    } finally {
      controller = null;
      sendButton.disabled = false;
      stopButton.disabled = true;
    }
  }

  form.addEventListener('submit', send);
  prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  stopButton.addEventListener('click', () => { if (controller) controller.abort(); });
  clearButton.addEventListener('click', () => { messages.length = 0; log.replaceChildren(); box.clear(); });

  root.append(
    el('h1', { text: 'Chat' }),
    section('Steering', sliders.node,
      el('p', { class: 'muted small', text: 'The sliders set the request\'s trade-off between the objectives; each answer says which adapters served it.' })),
    section('Conversation', log, box.node, form));
  return () => { if (controller) controller.abort(); };
}
