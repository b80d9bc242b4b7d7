'use strict';
// Process measurements from /proc (Linux): CPU seconds (utime+stime, all threads) and RSS.

const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* 100 is the Linux default */
}

/** { user, system, total } CPU seconds of process `pid`, or null when it is gone. */
function cpu(pid) {
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

/** Resident set size of `pid` in KB, or null. */
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

module.exports = { cpu, rssKb };
