// ort_bench.js: times an ONNX model in ONNX Runtime (onnxruntime-node, CPU),
// the benchmark's third column.
//
//   node ort_bench.js MODEL.onnx '{"shape": [3, 32, 32], "batches": [1, 16],
//                                  "threads": [1, 2], "min_time": 1.0, "min_iters": 10}'
//
// For each thread count it opens one session (intraOpNumThreads = threads,
// sequential execution, all graph optimisations), and for each batch it warms
// up, then times single `run` calls for at least min_time seconds. Prints one
// JSON object a line: {batch, threads, median_ms, p10_ms, p90_ms, iters}.
'use strict';

const ort = require('onnxruntime-node');

const WARMUP_S = 0.2;
const MIN_ITERS = 10; // unless the config gives min_iters
const MAX_ITERS = 100000;

function percentile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i];
}

function randomInput(dims) {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  return new ort.Tensor('float32', data, dims);
}

function nowS() {
  return Number(process.hrtime.bigint()) / 1e9;
}

async function timeRuns(session, feeds, minTime, minIters) {
  const warmEnd = nowS() + WARMUP_S;
  do {
    await session.run(feeds);
  } while (nowS() < warmEnd);
  const samples = [];
  const start = nowS();
  while ((nowS() - start < minTime || samples.length < minIters) && samples.length < MAX_ITERS) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return {
    median_ms: percentile(samples, 0.5),
    p10_ms: percentile(samples, 0.1),
    p90_ms: percentile(samples, 0.9),
    iters: samples.length,
  };
}

async function main() {
  const [modelPath, configText] = process.argv.slice(2);
  if (!modelPath || !configText) {
    console.error('usage: node ort_bench.js MODEL.onnx CONFIG_JSON');
    process.exit(2);
  }
  const config = JSON.parse(configText);
  for (const threads of config.threads) {
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const inputName = session.inputNames[0];
    for (const batch of config.batches) {
      const feeds = { [inputName]: randomInput([batch, ...config.shape]) };
      const stats = await timeRuns(session, feeds, config.min_time, config.min_iters || MIN_ITERS);
      console.log(JSON.stringify({ batch, threads, ...stats }));
    }
    if (session.release) await session.release();
  }
}

main().catch((e) => {
  console.error(`ort_bench: ${e.stack || e}`);
  process.exit(1);
});
