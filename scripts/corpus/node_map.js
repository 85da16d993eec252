// SPDX-License-Identifier: Apache-2.0
// node patterns whose verdict is known by construction (tests/data/regressions/README.md).
// usage: node node_map.js MODE SECONDS [ARG]
//   grow RATE: a Map of 1 KiB strings keyed by request id, never deleted: RATE B/s (leak)
//   lru CAP: the same Map, the oldest entry deleted once it holds CAP entries (bounded)
const [mode, secs, arg] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 0)];
const end = Date.now() + secs * 1000;
const m = new Map();
let id = 0;
const perTick = mode === "grow" ? Math.max(1, Math.round(arg / 10 / 1024)) : 400;
const t = setInterval(() => {
  for (let i = 0; i < perTick; i++) {
    m.set(id, (id.toString(36) + "x").repeat(1024 / 8).slice(0, 1024));
    id++;
    if (mode === "lru" && m.size > arg) m.delete(m.keys().next().value);
  }
  let junk = [];  // churn beside it
  for (let i = 0; i < 200; i++) junk.push({ a: i, s: "y".repeat(100 + i) });
  if (Date.now() >= end) clearInterval(t);
}, 100);
