// ort_profile.js: ONNX Runtime's time per node of a model, to set beside
// seqc's per layer: where the runtime is faster, layer by layer.
//
//   node ort_profile.js MODEL.onnx '[1, 3, 224, 224]' [threads] [runs]
//
// Opens one session as ort_bench.js does (sequential execution, all graph
// optimisations), runs the model `runs` times (40 by default) on a random
// input after as many warm-up runs, and prints each node's median kernel
// time in microseconds, in the order the nodes ran, then the sum by
// operator type. ONNX Runtime writes its profile (a Chrome trace) next to
// the model; this reads it back and deletes it. Nothing here is a test.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function main() {
  const [modelPath, shapeText, threadsText, runsText] = process.argv.slice(2);
  if (!modelPath || !shapeText) {
    console.error("usage: node ort_profile.js MODEL.onnx '[1, 3, 224, 224]' [threads] [runs]");
    process.exit(2);
  }
  const dims = JSON.parse(shapeText);
  const threads = Number(threadsText || 1), runs = Number(runsText || 40);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: modelPath + '.profile',
  });
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  for (let i = 0; i < 2 * runs; ++i) await session.run(feeds);
  session.endProfiling(); // (returns nothing in onnxruntime-node)
  const dir = path.dirname(path.resolve(modelPath)), prefix = path.basename(modelPath) + '.profile_';
  const traceFile = fs.readdirSync(dir).filter((f) => f.startsWith(prefix)).sort().pop();
  if (!traceFile) throw new Error(`no profile ${prefix}* in ${dir}`);
  const events = JSON.parse(fs.readFileSync(path.join(dir, traceFile), 'utf8'));
  fs.unlinkSync(path.join(dir, traceFile));

  // Node events named "<node>_kernel_time", one per run: keep the last
  // `runs` of each (the warm ones), in first-seen order.
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, { op: e.args.op_name, us: [] });
    nodes.get(name).us.push(e.dur);
  }
  const byOp = new Map();
  let total = 0;
  for (const [name, node] of nodes) {
    const us = median(node.us.slice(-runs));
    total += us;
    byOp.set(node.op, (byOp.get(node.op) || 0) + us);
    console.log(`${String(us).padStart(8)}  ${node.op.padEnd(18)} ${name}`);
  }
  console.log(`${String(total).padStart(8)}  total (sum of the medians, us)`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]))
    console.log(`${String(us).padStart(8)}  ${op}`);
}

main().catch((e) => {
  console.error(`ort_profile: ${e.stack || e}`);
  process.exit(1);
});
