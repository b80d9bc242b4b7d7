'use strict';
// Named loggers enabled with DEBUG=collabio:* (comma-separated patterns, '*' wildcards), like the
// `debug` package socket.io uses, without the dependency.

const util = require('node:util');

const patterns = (process.env.DEBUG || '')
  .split(/[\s,]+/)
  .filter(Boolean)
  .map((p) => ({ neg: p.startsWith('-'), re: new RegExp('^' + p.replace(/^-/, '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$') }));

function enabled(name) {
  let on = false;
  for (const p of patterns) if (p.re.test(name)) on = !p.neg;
  return on;
}

module.exports = function createDebug(name) {
  if (!enabled(name)) {
    const noop = () => {};
    noop.enabled = false;
    return noop;
  }
  const log = (fmt, ...args) => process.stderr.write(`${new Date().toISOString()} ${name} ${util.format(fmt, ...args)}\n`);
  log.enabled = true;
  return log;
};
