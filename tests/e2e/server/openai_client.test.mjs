// The official `openai` npm client (4.104.0, installed by scripts/setup.sh into the set-up
// cache) against the real `swallow serve` with the tiny Llama: chat and completions, streaming
// equal to non-streaming, seeds, n, logprobs, usage, stop strings, multi-turn, Japanese text,
// /tokenize round trip, /v1/models, /health, /metrics. Run by ctest: node --test THIS_FILE.
// Environment: SWALLOW_BINARY, SWALLOW_TINY_MODEL, SWALLOW_CACHE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.SWALLOW_CACHE}/npm/`);
const OpenAI = require('openai');

let server;
let baseUrl;
let client;
const KEY = 'node-key';

before(async () => {
  server = spawn(process.env.SWALLOW_BINARY, ['serve', '--model', process.env.SWALLOW_TINY_MODEL, '--served-model-name', 'tiny',
    '--host', '127.0.0.1', '--port', '0', '--kv-cache-memory', '64MiB', '--threads', '1', '--api-key', KEY],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  baseUrl = await new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60000);
    server.stderr.on('data', (data) => {
      log += data.toString();
      const m = log.match(/serving '.*' on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
  client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
  const exited = new Promise((resolve) => server.on('exit', resolve));
  server.kill('SIGTERM');
  assert.equal(await exited, 0);
});

const user = (content) => [{ role: 'user', content }];

async function streamText(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  const texts = [];
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) texts[choice.index] = (texts[choice.index] ?? '') + (choice.delta.content ?? '');
  }
  return { texts, usage };
}

test('chat: streaming equals non-streaming (greedy), usage counts', async () => {
  const params = { model: 'tiny', messages: user('Tell me a story.'), max_tokens: 12, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(whole.choices[0].finish_reason));
  const { texts, usage } = await streamText(params);
  assert.equal(texts[0], whole.choices[0].message.content);
  assert.deepEqual(usage, whole.usage);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  assert.ok(whole.usage.completion_tokens <= 12);
});

test('chat: same seed, same output; n=3 gives three choices', async () => {
  const params = { model: 'tiny', messages: user('Pick words.'), max_tokens: 8, temperature: 1.0, seed: 1234, n: 3 };
  const a = await client.chat.completions.create(params);
  const b = await client.chat.completions.create(params);
  assert.equal(a.choices.length, 3);
  assert.deepEqual(a.choices.map((c) => c.index).sort(), [0, 1, 2]);
  assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
  const { texts } = await streamText(params);
  assert.deepEqual(texts, a.choices.map((c) => c.message.content));
});

test('chat: logprobs structure', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: user('hi'), max_tokens: 4, temperature: 0,
    logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const entry of content) {
    assert.equal(typeof entry.token, 'string');
    assert.ok(entry.logprob <= 0);
    assert.ok(Array.isArray(entry.bytes));
    assert.equal(entry.top_logprobs.length, 3);
    assert.ok(entry.top_logprobs[0].logprob >= entry.top_logprobs[2].logprob);
    assert.equal(entry.top_logprobs[0].token, entry.token);  // greedy: the top token is the sampled one
  }
});

test('completions: text, logprobs, stop strings', async () => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, logprobs: 2 });
  assert.equal(r.object, 'text_completion');
  const text = r.choices[0].text;
  assert.equal(r.choices[0].logprobs.tokens.length, r.usage.completion_tokens);
  assert.equal(r.choices[0].logprobs.top_logprobs.length, r.usage.completion_tokens);
  assert.ok(text.length > 2);
  const stop = text.slice(2, 4);
  const stopped = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stop: [stop] });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].text, text.slice(0, text.indexOf(stop)));
  const stream = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stream: true });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
  assert.equal(streamed, text);
});

test('chat: multi-turn conversation', async () => {
  const messages = [{ role: 'system', content: 'You are terse.' }, ...user('Hello'), { role: 'assistant', content: 'Hi.' }, ...user('And now?')];
  const r = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 6, temperature: 0 });
  const single = await client.chat.completions.create({ model: 'tiny', messages: user('And now?'), max_tokens: 6, temperature: 0 });
  assert.ok(r.usage.prompt_tokens > single.usage.prompt_tokens + 10);
});

test('chat: Japanese output streams whole characters', async () => {
  const tok = await (await fetch(`${baseUrl}/tokenize`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ prompt: 'こんにちは', add_special_tokens: false }) })).json();
  const bias = Object.fromEntries(tok.tokens.map((id) => [String(id), 100]));
  const params = { model: 'tiny', messages: user('日本語で答えてください。'), max_tokens: 12, temperature: 0, logit_bias: bias };
  const whole = await client.chat.completions.create(params);
  const text = whole.choices[0].message.content;
  assert.match(text, /[\u3040-\u30ff]/);
  assert.ok(!text.includes('\ufffd'));
  const stream = await client.chat.completions.create({ ...params, stream: true });
  let streamed = '';
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta?.content ?? '';
    assert.ok(!piece.includes('\ufffd'), `split character in chunk ${JSON.stringify(piece)}`);
    streamed += piece;
  }
  assert.equal(streamed, text);
});

test('/tokenize round trip, /v1/models, /health, /metrics', async () => {
  const headers = { Authorization: `Bearer ${KEY}` };
  const text = 'Swallow は日本語が得意です。';
  const tok = await (await fetch(`${baseUrl}/tokenize`, { method: 'POST', headers, body: JSON.stringify({ prompt: text }) })).json();
  assert.equal(tok.tokens[0], 128000);  // BOS, as vLLM's add_special_tokens default
  assert.equal(tok.count, tok.tokens.length);
  const detok = await (await fetch(`${baseUrl}/detokenize`, { method: 'POST', headers, body: JSON.stringify({ tokens: tok.tokens.slice(1) }) })).json();
  assert.equal(detok.prompt, text);
  const chatTok = await (await fetch(`${baseUrl}/tokenize`, { method: 'POST', headers, body: JSON.stringify({ messages: user('hi') }) })).json();
  assert.ok(chatTok.count > 5);
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny']);
  assert.equal((await fetch(`${baseUrl}/health`)).status, 200);
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const name of ['swallow:num_requests_running', 'swallow:kv_cache_usage_perc', 'swallow:prompt_tokens_total',
    'swallow:time_to_first_token_seconds_bucket', 'swallow:e2e_request_latency_seconds_count']) {
    assert.ok(metrics.includes(name), name);
  }
});

test('errors reach the client as OpenAI errors', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: user('x'), temperature: -1 }),
    (e) => e.status === 400 && e.param === 'temperature');
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: user('x') }), (e) => e.status === 404);
  const bad = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401);
});
