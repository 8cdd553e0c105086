// The page: lists the models of models/index.json (written by `transduce export --web`), loads
// one into the WebAssembly module (pkg/, built by scripts/build-web.sh), translates what is
// typed and draws the attention of the translation on a canvas. Models run on WebGPU where the
// browser has it and on the CPU (WebAssembly) otherwise, or as the Backend choice (or the page's
// `?backend=auto|webgpu|cpu`) says.
import init, { WebModel, initWebGpu } from './pkg/transduce_web.js';

// An artifact's inference files; the tokenizers exist for BPE models only.
const FILES = ['config.json', 'src_vocab.json', 'tgt_vocab.json', 'src_tokenizer.json',
  'tgt_tokenizer.json', 'model.bpk'];
const OPTIONAL = new Set(['src_tokenizer.json', 'tgt_tokenizer.json']);
const KINDS = { cross: 'encoder-decoder (cross)', decoder: 'decoder self (masked)', encoder: 'encoder self' };

const $ = (id) => document.getElementById(id);
let model = null;   // the loaded WebModel
let entry = null;   // its models/index.json entry
let current = null; // the last translation: { translation, source, output, maps }
let webgpu = null;  // resolves to null once WebGPU is set up, or to why it is not

function showError(e) {
  $('error').textContent = e ? String(e.message ?? e) : '';
}

async function loadModel(entry) {
  const base = new URL(`models/${entry.name}/`, location.href);
  const names = [];
  const contents = [];
  for (const file of FILES) {
    const response = await fetch(new URL(file, base));
    if (!response.ok) {
      if (OPTIONAL.has(file)) continue;
      throw new Error(`${new URL(file, base)}: HTTP ${response.status}`);
    }
    names.push(file);
    contents.push(new Uint8Array(await response.arrayBuffer()));
  }
  return new WebModel(base.href, names, contents, $('backend').value);
}

// What runs the model, and why not WebGPU when the page fell back to the CPU.
async function backendNote() {
  const reason = await webgpu;
  if (model.backend === 'WebGPU') return 'WebGPU';
  if ($('backend').value === 'cpu') return 'CPU (WebAssembly)';
  return `CPU (WebAssembly; WebGPU unavailable: ${reason})`;
}

let loading = 0;    // counts model loads, so that only the last one chosen is kept

async function selectModel(chosen) {
  showError(null);
  const ticket = ++loading;
  $('info').textContent = `loading ${chosen.name}…`;
  delete $('info').dataset.model;
  await webgpu;
  const loaded = await loadModel(chosen);
  if (ticket !== loading) {
    loaded.free(); // another model was chosen meanwhile
    return;
  }
  model?.free();
  model = loaded;
  entry = chosen;
  $('info').textContent = `${entry.arch}, ${entry.parameters.toLocaleString('en')} parameters, ` +
    `trained on ${entry.data} | backend: ${await backendNote()}`;
  $('info').dataset.model = entry.name;
  $('info').dataset.backend = model.backend;
  const examples = $('examples');
  examples.replaceChildren(...entry.examples.map((text) => {
    const button = document.createElement('button');
    button.textContent = text;
    button.onclick = () => { $('source').value = text; translate(); };
    return button;
  }));
  $('source').value = entry.examples[0] ?? '';
  translate();
}

// Translations run one after another (a model translates one text at a time); each shows
// what was asked last when it finishes.
let queue = Promise.resolve();

function translate() {
  queue = queue.then(translateNow);
}

async function translateNow() {
  if (!model) return;
  showError(null);
  const text = $('source').value;
  const beam = Number($('beam').value);
  const running = model;
  try {
    const start = performance.now();
    const result = JSON.parse(await running.translate(text, beam));
    const ms = performance.now() - start;
    if (running !== model) return; // another model was chosen meanwhile
    current = result;
    $('output').textContent = current.translation;
    // What the output is the translation of (the browser test reads these).
    $('output').dataset.text = text;
    $('output').dataset.beam = String(beam);
    $('timing').textContent = `${beam === 1 ? 'greedy' : `beam ${beam}`}: ${ms.toFixed(1)} ms ` +
      `on ${running.backend}`;
  } catch (e) {
    current = null;
    $('output').textContent = '';
    $('output').dataset.text = text;
    $('output').dataset.beam = String(beam);
    $('timing').textContent = '';
    showError(e);
  } finally {
    // Counts finished translations, failed ones too: the browser test waits on it.
    $('output').dataset.done = String(Number($('output').dataset.done ?? 0) + 1);
  }
  updateMapControls();
  draw();
}

function setOptions(select, values, labels) {
  const keep = select.value;
  select.replaceChildren(...values.map((v, i) => new Option(labels ? labels[i] : String(v), String(v))));
  if (values.map(String).includes(keep)) select.value = keep;
}

// Layer, head and kind choices exist for the Transformer only; the recurrent models have one map.
function updateMapControls() {
  const maps = current?.maps ?? [];
  const transformer = maps.some((m) => m.layer > 0);
  for (const id of ['kind-label', 'layer-label', 'head-label']) {
    $(id).hidden = !transformer;
  }
  if (!transformer) return;
  const kinds = Object.keys(KINDS).filter((k) => maps.some((m) => m.kind === k));
  setOptions($('kind'), kinds, kinds.map((k) => KINDS[k]));
  const ofKind = maps.filter((m) => m.kind === $('kind').value);
  const layers = [...new Set(ofKind.map((m) => m.layer))].sort((a, b) => a - b);
  const hadLayer = $('layer').options.length > 0;
  setOptions($('layer'), layers);
  if (!hadLayer) $('layer').value = String(layers[layers.length - 1]);
  const heads = [...new Set(ofKind.map((m) => m.head))].sort((a, b) => a - b);
  setOptions($('head'), ['mean', ...heads], ['mean of heads', ...heads.map((h) => `head ${h}`)]);
}

// The map chosen by the controls: the recurrent models' one map, or a Transformer head (or the
// mean of a layer's heads).
function chosenMap() {
  const maps = current?.maps ?? [];
  if (maps.length === 0) return null;
  if (maps[0].layer === 0) return { ...maps[0], title: 'attention' };
  const kind = $('kind').value;
  const layer = Number($('layer').value);
  const heads = maps.filter((m) => m.kind === kind && m.layer === layer);
  if (heads.length === 0) return null;
  if ($('head').value !== 'mean') {
    const m = heads.find((h) => h.head === Number($('head').value));
    return { ...m, title: `${KINDS[kind]} attention, layer ${layer}, head ${m.head}` };
  }
  const weights = heads[0].weights.map((row, r) => row.map((_, c) =>
    heads.reduce((sum, h) => sum + h.weights[r][c], 0) / heads.length));
  return { ...heads[0], weights, title: `${KINDS[kind]} attention, layer ${layer}, mean of ${heads.length} heads` };
}

function draw() {
  const canvas = $('heatmap');
  const ctx = canvas.getContext('2d');
  const map = chosenMap();
  if (!map) {
    canvas.width = 640;
    canvas.height = 40;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    $('map-title').textContent = current
      ? 'This model has no attention: its decoder sees only the encoder\'s final state (Sutskever et al. 2014).'
      : '';
    return;
  }
  $('map-title').textContent = `${map.title}: rows attend to columns`;
  const font = '13px system-ui, sans-serif';
  ctx.font = font;
  const width = (labels) => Math.max(0, ...labels.map((l) => ctx.measureText(l).width));
  const cell = Math.max(14, Math.min(36, Math.floor(560 / Math.max(map.columns.length, map.rows.length))));
  const left = Math.ceil(width(map.rows)) + 10;
  const top = Math.ceil(width(map.columns)) + 10;
  canvas.width = left + cell * map.columns.length + 10;
  canvas.height = top + cell * map.rows.length + 10;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = font;
  ctx.fillStyle = '#1d1d1f';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  map.rows.forEach((label, r) => ctx.fillText(label, left - 6, top + (r + 0.5) * cell));
  map.columns.forEach((label, c) => {
    ctx.save();
    ctx.translate(left + (c + 0.5) * cell, top - 6);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    ctx.fillText(label, 0, 0);
    ctx.restore();
  });
  map.weights.forEach((row, r) => row.forEach((w, c) => {
    const v = Math.max(0, Math.min(1, w));
    // White to dark blue.
    const shade = (a, b) => Math.round(a + (b - a) * v);
    ctx.fillStyle = `rgb(${shade(255, 8)}, ${shade(255, 48)}, ${shade(255, 107)})`;
    ctx.fillRect(left + c * cell, top + r * cell, cell - 1, cell - 1);
  }));
}

async function main() {
  await init();
  const asked = new URLSearchParams(location.search).get('backend');
  if (['auto', 'webgpu', 'cpu'].includes(asked)) $('backend').value = asked;
  webgpu = initWebGpu().then(() => null, (e) => String(e.message ?? e));
  const response = await fetch('models/index.json');
  if (!response.ok) {
    throw new Error(`models/index.json: HTTP ${response.status} (export a model with ` +
      '`transduce export --artifact-dir RUN --web web`)');
  }
  const entries = await response.json();
  if (entries.length === 0) {
    throw new Error('models/index.json lists no model (export one with ' +
      '`transduce export --artifact-dir RUN --web web`)');
  }
  const select = $('model');
  setOptions(select, entries.map((e) => e.name));
  select.onchange = () => selectModel(entries.find((e) => e.name === select.value)).catch(showError);
  $('go').onclick = translate;
  $('source').addEventListener('keydown', (e) => { if (e.key === 'Enter') translate(); });
  $('beam').onchange = translate;
  $('backend').onchange = () => selectModel(entry).catch(showError);
  for (const id of ['kind', 'layer', 'head']) {
    $(id).onchange = () => { updateMapControls(); draw(); };
  }
  await selectModel(entries[0]);
}

main().catch(showError);
