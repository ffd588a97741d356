// Calls to the Raconteur API, with the key the user gave (kept in sessionStorage only).
const KEY_NAME = 'raconteur.apiKey';

export function apiKey() { return sessionStorage.getItem(KEY_NAME) || ''; }

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_NAME, key); else sessionStorage.removeItem(KEY_NAME);
}

/// A refusal from the server: its OpenAI error envelope's message, the HTTP status and the error code.
export class APIError extends Error {
  constructor(message, status = 0, code = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(json) {
  const result = {};
  const key = apiKey();
  if (key) result.Authorization = `Bearer ${key}`;
  if (json) result['Content-Type'] = 'application/json';
  return result;
}

async function refusal(response) {
  let message = `The server answered ${response.status} ${response.statusText}.`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) { message = body.error.message; code = body.error.code || null; }
  } catch { /* not JSON: keep the status line */ }
  return new APIError(message, response.status, code);
}

async function send(method, path, body, signal) {
  try {
    return await fetch(path, {
      method, signal, headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new APIError(`The server cannot be reached (${error.message}).`);
  }
}

/// The decoded JSON answer, or an APIError with the server's message.
export async function api(method, path, body, { signal } = {}) {
  const response = await send(method, path, body, signal);
  if (!response.ok) throw await refusal(response);
  return response.status === 204 ? null : response.json();
}

/// Downloads a file that needs the key (a link cannot send the Authorization header).
export async function download(path, fileName) {
  const response = await send('GET', path);
  if (!response.ok) throw await refusal(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/// Streams a chat completion (server-sent events), calling onChunk with every chunk object until `[DONE]`.
export async function streamChat(body, onChunk, signal) {
  const response = await send('POST', '/v1/chat/completions', { ...body, stream: true }, signal);
  if (!response.ok) throw await refusal(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        const chunk = JSON.parse(data);
        // An error after the stream started arrives as an event with the envelope.
        if (chunk.error) throw new APIError(chunk.error.message || 'The generation failed.', 0, chunk.error.code || null);
        onChunk(chunk);
      }
    }
  }
}
