// The page in headless Chromium (Debian's, driven by playwright-core over the DevTools
// protocol): for each case (a model, a search, inputs and the CLI's translations of them) it
// selects the model and search, types each input, waits for the translation and compares it
// with the CLI's; it checks that the attention canvas has drawn cells, and saves a screenshot.
//
//   node browser.mjs --url http://127.0.0.1:8000/ --cases cases.json --screenshot page.png \
//       [--backend cpu|webgpu] [--limit N]
//
// --backend cpu (the default) runs Chromium without WebGPU and checks that the page falls back
// to the CPU and says why; --backend webgpu turns on Chromium's WebGPU (on this machine its
// software adapter, SwiftShader) and checks that the models run on it. --limit N takes the
// first N inputs of each case only.
//
// cases.json: [{"model": "dates", "beam": 1, "inputs": [...], "expected": [...]}, ...]
// Exits with 1 on any mismatch, page error or blank heatmap.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const options = {};
for (let i = 2; i < process.argv.length; i += 2) {
  options[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const required of ['url', 'cases', 'screenshot']) {
  if (!options[required]) {
    console.error(`usage: node browser.mjs --url URL --cases FILE.json --screenshot FILE.png (missing --${required})`);
    process.exit(2);
  }
}
const limit = Number(options.limit ?? Infinity);
const cases = JSON.parse(readFileSync(options.cases, 'utf8'))
  .map((c) => ({ ...c, inputs: c.inputs.slice(0, limit), expected: c.expected.slice(0, limit) }));
const webgpu = (options.backend ?? 'cpu') === 'webgpu';
if (!['cpu', 'webgpu'].includes(options.backend ?? 'cpu')) {
  console.error(`--backend ${options.backend}: expected cpu or webgpu`);
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // This machine's network is closed: Chromium's own background connections only fail.
  args: ['--no-sandbox', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu'])],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/404/.test(m.text())) failures.push(`console: ${m.text()}`); });
  // auto: the page itself picks WebGPU when the browser has it.
  await page.goto(new URL('?backend=auto', options.url).href);
  // The page loads its first model by itself: wait for it before choosing another.
  await page.waitForSelector('#info[data-model]', { timeout: 120_000 });
  const backend = await page.$eval('#info', (i) => i.dataset.backend);
  const info = await page.textContent('#info');
  console.log(`backend: ${info.split('| backend: ')[1]}`);
  if (backend !== (webgpu ? 'WebGPU' : 'CPU')) {
    failures.push(`the page runs on ${backend}, expected ${webgpu ? 'WebGPU' : 'CPU'}: ${info}`);
  } else if (!webgpu && !info.includes('WebGPU unavailable')) {
    failures.push(`the page fell back to the CPU without saying why: ${info}`);
  }

  // Waits for the translation of `input`: the page counts its translations and marks the
  // output with the text and beam it translated (an earlier translation, e.g. of the model's
  // example, may finish after the input is typed).
  const done = () => page.$eval('#output', (o) => Number(o.dataset.done ?? 0));
  const submit = async (input, beam, type) => {
    const before = await done();
    await type();
    await page.press('#source', 'Enter');
    await page.waitForFunction(([n, text, width]) => {
      const o = document.querySelector('#output');
      return Number(o.dataset.done ?? 0) > n && o.dataset.text === text && o.dataset.beam === width;
    }, [before, input, String(beam)], { timeout: 300_000 });
    const error = await page.textContent('#error');
    if (error) throw new Error(error);
    return page.textContent('#output');
  };

  for (const { model, beam, inputs, expected } of cases) {
    await page.selectOption('#model', model);
    await page.waitForSelector(`#info[data-model="${model}"]`, { timeout: 120_000 });
    await page.selectOption('#beam', String(beam));
    const start = Date.now();
    let mismatches = 0;
    for (const [i, input] of inputs.entries()) {
      // The first input is typed key by key, the others filled in.
      let output;
      try {
        output = await submit(input, beam, i === 0
          ? async () => { await page.fill('#source', ''); await page.type('#source', input); }
          : () => page.fill('#source', input));
      } catch (e) {
        output = `(error: ${e.message})`;
      }
      if (output !== expected[i]) {
        mismatches += 1;
        failures.push(`${model}, beam ${beam}: ${JSON.stringify(input)} -> page ${JSON.stringify(output)}, CLI ${JSON.stringify(expected[i])}`);
      }
    }
    const timing = await page.textContent('#timing');
    console.log(`${model}, beam ${beam}: ${inputs.length - mismatches}/${inputs.length} equal the CLI's ` +
      `(${((Date.now() - start) / inputs.length).toFixed(0)} ms a sentence in the browser; last: ${timing})`);

    // The heatmap: cells of the attention colour (blue well above red), not only background
    // and labels.
    const arch = await page.$eval('#info', (i) => i.textContent.split(',')[0]);
    if (arch !== 'seq2seq') {
      const cells = await page.$eval('#heatmap', (canvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let p = 0; p < data.length; p += 4) if (data[p + 2] - data[p] > 40) n += 1;
        return n;
      });
      console.log(`${model}: ${cells} heatmap pixels coloured by attention`);
      if (cells < 200) failures.push(`${model}: the heatmap has ${cells} attention-coloured pixels`);
    }
  }
  await page.screenshot({ path: options.screenshot, fullPage: true });
  console.log(`screenshot: ${options.screenshot}`);
} finally {
  await browser.close();
}
if (failures.length > 0) {
  console.error(failures.slice(0, 20).join('\n'));
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log('the page passed');
