// Times a function in repeated rounds and prints the result line bench/measure.lua prints: medians, never one run.
'use strict';

const smoke = process.env.BENCH_SMOKE === '1';
const ROUND_SECONDS = 0.03;
const ROUNDS = 15;

function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

function summary(samples) {
  const ordered = samples.slice().sort((a, b) => a - b);
  const count = ordered.length;
  const median = count % 2 === 1 ? ordered[(count - 1) / 2] : (ordered[count / 2 - 1] + ordered[count / 2]) / 2;
  return { median, min: ordered[0], max: ordered[count - 1] };
}

function emit(name, result, unit) {
  const f = value => value.toFixed(4);
  process.stdout.write(`result\t${name}\t${f(result.median)}\t${f(result.min)}\t${f(result.max)}\t${unit}\n`);
}

// How many calls fill one round: calls are doubled until a batch takes a tenth of a round.
function calibrate(fn) {
  for (let calls = 1; ; calls *= 2) {
    const started = now();
    for (let i = 0; i < calls; i++) fn();
    const elapsed = now() - started;
    if (elapsed >= ROUND_SECONDS / 10) return Math.max(1, Math.floor((calls * ROUND_SECONDS) / elapsed));
  }
}

// Microseconds per call of fn, one sample per round.
function perCall(name, fn) {
  const calls = smoke ? 3 : calibrate(fn);
  const rounds = smoke ? 3 : ROUNDS;
  if (!smoke) for (let i = 0; i < calls * 5; i++) fn(); // V8 optimises the hot path before the samples
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const started = now();
    for (let i = 0; i < calls; i++) fn();
    samples.push(((now() - started) * 1e6) / calls);
  }
  emit(name, summary(samples), 'us');
}

// run(round) resolves to [requests, seconds]; one requests-per-second sample per round.
async function rate(name, rounds, run) {
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const [requests, seconds] = await run(round);
    samples.push(requests / seconds);
  }
  emit(name, summary(samples), 'req/s');
}

module.exports = { smoke, now, summary, emit, perCall, rate };
