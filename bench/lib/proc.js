'use strict';
// Process measurements from /proc (Linux).
//
// CPU time comes from the scheduler's own accounting, in nanoseconds: the first field of
// /proc/<pid>/task/<tid>/schedstat is the time thread <tid> has spent on a CPU. A process's CPU is
// the sum over its threads. /proc/<pid>/stat's utime+stime (10 ms ticks, sampled) was too coarse:
// some figures rested on a handful of ticks.
//
// The one thing the sum over task/* cannot see is a thread that exits: its time leaves task/*
// with it (the kernel folds it into the process's stat totals, in ticks). The servers measured here
// keep their threads (I/O pools, libuv workers) for their whole life, but rather than assume it,
// every window compares the threads present at its start and end (`lostThreads`) and the tick
// totals from /proc/<pid>/stat (`ticksTotal`): run.js refuses a window in which a thread that was
// there at its start has gone, and records the tick figure beside the nanosecond one.

const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* 100 is the Linux default */
}

/** { user, system, total } CPU seconds of `pid` from /proc/<pid>/stat (ticks; includes exited threads). */
function ticks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const user = Number(f[11]) / clkTck;
    const system = Number(f[12]) / clkTck;
    return { user, system, total: user + system };
  } catch {
    return null;
  }
}

/**
 * A CPU sample of process `pid`: { ns: Map(tid -> ns on CPU), csw: context switches (voluntary +
 * involuntary, all threads), ticks }, or null when the process is gone.
 */
function sample(pid) {
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const ns = new Map();
  let csw = 0;
  for (const tid of tids) {
    try {
      ns.set(tid, Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      csw += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] || 0);
      csw += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] || 0);
    } catch {
      /* the thread exited between readdir and read: seen as lost below */
    }
  }
  return { ns, csw, ticks: ticks(pid) };
}

const sumNs = (s) => [...s.ns.values()].reduce((a, b) => a + b, 0);

/**
 * CPU between two samples: { seconds (from ns), ticksSeconds, lostThreads, csw }. Threads born in
 * the window count from zero; threads that died in it are listed in lostThreads (their time in
 * the window is missing from `seconds`).
 */
function between(a, b) {
  if (!a || !b) return null;
  let ns = 0;
  const lost = [];
  for (const [tid, v] of b.ns) ns += v - (a.ns.get(tid) ?? 0);
  for (const tid of a.ns.keys()) if (!b.ns.has(tid)) lost.push(tid);
  return { seconds: ns / 1e9, ticksSeconds: b.ticks && a.ticks ? b.ticks.total - a.ticks.total : null, lostThreads: lost, csw: b.csw - a.csw };
}

/** CPU seconds (nanosecond resolution) `pid` has used so far over its live threads, or null. */
function cpuSeconds(pid) {
  const s = sample(pid);
  return s ? sumNs(s) / 1e9 : null;
}

/** Resident set size of `pid` in KB, or null. */
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

module.exports = { sample, between, cpuSeconds, ticks, rssKb };
