'use strict';
// One-line log records; repeated warnings of one kind are rate-limited so a flood of bad
// MQTT payloads cannot flood the log (and the disk) too.

function createLogger({ out = process.stdout, now = Date.now, burst = 20, windowMs = 60000 } = {}) {
  const buckets = new Map(); // key -> {start, count, suppressed}

  function write(level, msg) {
    out.write(`${new Date(now()).toISOString()} ${level} ${msg}\n`);
  }

  function limited(level, key, msg) {
    const t = now();
    let b = buckets.get(key);
    if (!b || t - b.start >= windowMs) {
      if (b && b.suppressed > 0) write(level, `${key}: ${b.suppressed} more suppressed in the last ${windowMs / 1000} s`);
      b = { start: t, count: 0, suppressed: 0 };
      buckets.set(key, b);
      if (buckets.size > 1000) buckets.delete(buckets.keys().next().value);
    }
    if (b.count < burst) {
      b.count += 1;
      write(level, msg);
    } else {
      b.suppressed += 1;
    }
  }

  return {
    info: (msg) => write('INFO', msg),
    warn: (msg) => write('WARN', msg),
    error: (msg) => write('ERROR', msg),
    /** Warning rate-limited per key (e.g. "mqtt-drop"). */
    warnLimited: (key, msg) => limited('WARN', key, msg),
  };
}

module.exports = { createLogger };
