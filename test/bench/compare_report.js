// test/bench/compare_report.js: the table of compare.sh from the runs' JSON
// files (<side>-r<round>.json, side um, raw, medusa or bridge).
// Usage: node compare_report.js <runs-dir> <plot-data-file>
// Prints one table row per operation, cells separated by "|", and writes the
// medians of ops/s per operation and side as gnuplot data.
"use strict";
const fs = require("fs");
const [dir, plotFile] = process.argv.slice(2);

const SIDES = ["um", "raw", "medusa", "bridge"];
const runs = Object.fromEntries(SIDES.map((side) => [side, []]));	// runs[side][round] = the run's JSON
const runFile = new RegExp(`^(${SIDES.join("|")})-r(\\d+)\\.json$`);
for (const f of fs.readdirSync(dir)) {
  const m = runFile.exec(f);
  if (m) runs[m[1]][Number(m[2])] = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
}
const N = runs.um.find(Boolean).N;

// phase, label, unit, kind: "call" (one row per call: user_module ≥ 0.8× raw
// and ≥ 4× Medusa, the bridge ≥ 3× Medusa) or "bulk" (one call: user_module
// ≥ 0.5× raw and ≥ 10× Medusa; no target for the bridge)
const OPS = [
  ["a_createUsers_single", "create one user", "ops/s", "call"],
  ["b_createUsers_bulk10000", `create ${N.createBulk.toLocaleString("en-US")} users in one call`, "rows/s", "bulk"],
  ["c1_retrieveUser", "retrieve user by id", "ops/s", "call"],
  ["c2_listUsers_q_take20", "list users with q, take 20", "ops/s", "call"],
  ["c3_listAndCountUsers_email", "list and count users by email", "ops/s", "call"],
  ["d_updateUsers_single", "update one user", "ops/s", "call"],
  ["f1_softDeleteUsers_single", "soft-delete one user", "ops/s", "call"],
  ["e1_createInvites_single", "create one invite", "ops/s", "call"],
  ["e2_validateInviteToken", "validate a token", "ops/s", "call"],
  ["e3_refreshInviteTokens_single", "refresh one invite", "ops/s", "call"],
  ["e4_refreshInviteTokens_batch1000", `refresh ${N.refresh.toLocaleString("en-US")} invites in one call`, "ids/s", "bulk"],
  ["e5_acceptInvite", "accept an invite", "ops/s", "call"],
];
const TARGET = { call: { raw: 0.8, medusa: 4, bridge: 3 }, bulk: { raw: 0.5, medusa: 10 } };
const MEDUSA_LACKS = new Set(["e5_acceptInvite"]);

const median = (a) => {
  const s = [...a].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v) => (v === undefined ? "—" : v.toLocaleString("en-US",
  { maximumFractionDigits: v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3 }));
// median [min–max]; the median alone for a single round
const spread = (a, unit = "") => (a.length === 0 ? "—" : a.length === 1 ? fmt(a[0]) + unit
  : `${fmt(median(a))}${unit} [${fmt(Math.min(...a))}–${fmt(Math.max(...a))}]`);
// a phase's field per round, for the rounds where the side ran it
const values = (side, phase, field) => runs[side].filter((r) => r && r.results[phase])
  .map((r) => r.results[phase][field]).filter((v) => v !== undefined);
// side's ops/s over the other side's, per round (rounds paired by number)
const ratios = (side, other, phase) => runs[side].flatMap((r, i) =>
  (r && r.results[phase] && runs[other][i] && runs[other][i].results[phase])
    ? [r.results[phase].ops_per_s / runs[other][i].results[phase].ops_per_s] : []);

const plot = [];
for (const [phase, label, unit, kind] of OPS) {
  const latency = (side) => {
    const med = values(side, phase, "median_ms"), p95 = values(side, phase, "p95_ms");
    return med.length ? `${fmt(median(med))} / ${p95.length ? fmt(median(p95)) : "—"}` : "—";
  };
  const cells = [`${label} (${unit})`];
  for (const side of SIDES) cells.push(spread(values(side, phase, "ops_per_s")));
  for (const side of SIDES) cells.push(latency(side));
  // um over raw and over Medusa, then the bridge over Medusa: what a Medusa
  // application gains by switching modules
  const met = [];
  for (const [side, other] of [["um", "raw"], ["um", "medusa"], ["bridge", "medusa"]]) {
    const r = ratios(side, other, phase), target = TARGET[kind][side === "bridge" ? "bridge" : other];
    cells.push(spread(r, "×"));
    met.push(r.length === 0 ? "n/a" : target === undefined ? "—" : median(r) >= target ? "yes" : "NO");
  }
  const medusaTarget = (t) => (MEDUSA_LACKS.has(phase) ? "n/a" : t === undefined ? "none" : `≥ ${t}× Medusa`);
  cells.push(`um ≥ ${TARGET[kind].raw}× raw, ${medusaTarget(TARGET[kind].medusa)}; bridge ${medusaTarget(TARGET[kind].bridge)}`,
    `${met[0]}, ${met[1]}; ${met[2]}`);
  console.log(cells.join("|"));
  // gnuplot: the label quoted, "-" for a side without figures
  const bar = (side) => { const v = values(side, phase, "ops_per_s"); return v.length ? median(v).toFixed(1) : "-"; };
  plot.push(`"${label}" ${SIDES.map(bar).join(" ")}`);
}
fs.writeFileSync(plotFile, plot.join("\n") + "\n");
