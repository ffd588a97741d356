// The console's shell: asks for the API key when the server wants one, then shows one page per hash route.
import { api, apiKey, setApiKey } from './api.js';
import { el, errorBox } from './ui.js';
import * as chat from './chat.js';
import * as compare from './compare.js';
import * as feedback from './feedback.js';
import * as realign from './realign.js';
import * as adapters from './adapters.js';
import * as status from './status.js';

const pages = { chat, compare, feedback, realign, adapters, status };
const main = document.getElementById('main');
let leavePage = null;
let context = null;

function clear() {
  if (leavePage) { leavePage(); leavePage = null; }
  main.replaceChildren();
}

/// The page named by the hash (#/chat by default), rendered into <main>; a page returns its clean-up function.
function route() {
  if (!context) return;
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const page = pages[name] ? name : 'chat';
  clear();
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === page));
  document.title = `Raconteur · ${page[0].toUpperCase()}${page.slice(1)}`;
  const container = el('div', { class: 'page', id: `page-${page}` });
  main.append(container);
  try {
    leavePage = pages[page].render(container, context) || null;
  } catch (error) {
    const box = errorBox();
    container.append(box.node);
    box.show(error);
  }
}

function showKeyPrompt(problem) {
  clear();
  document.getElementById('top').hidden = true;
  const input = el('input', { type: 'password', id: 'api-key', autocomplete: 'off', required: true, 'aria-label': 'API key' });
  const box = errorBox();
  if (problem) box.show(problem);
  const form = el('form', { class: 'card key-prompt', id: 'key-form' },
    el('h1', { text: 'Raconteur' }),
    el('p', { text: 'This server needs an API key. It is kept in this tab only (sessionStorage) and sent to this server alone.' }),
    el('label', {}, 'API key ', input),
    el('button', { type: 'submit', text: 'Continue' }),
    box.node);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    start();
  });
  main.append(form);
  input.focus();
}

/// Loads the server's state; a refused key brings the prompt back with the server's message.
async function start() {
  try {
    const state = await api('GET', '/v1/status');
    context = { status: state, objectives: state.objectives, model: state.model };
  } catch (error) {
    if (error.status === 401) {
      const hadKey = apiKey() !== '';
      setApiKey('');
      showKeyPrompt(hadKey ? error.message : null);
      return;
    }
    clear();
    const box = errorBox();
    main.append(box.node);
    box.show(error);
    return;
  }
  document.getElementById('top').hidden = false;
  document.getElementById('model-name').textContent = context.model;
  document.getElementById('forget-key').hidden = apiKey() === '';
  route();
}

document.getElementById('forget-key').addEventListener('click', () => {
  setApiKey('');
  context = null;
  showKeyPrompt(null);
});
window.addEventListener('hashchange', route);
start();
