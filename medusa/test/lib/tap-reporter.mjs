// A flat TAP reporter for node --test: one "ok N - name" or "not ok N - name"
// line at the start of a line for every test case, however deeply describe()
// nests it (node's own tap reporter indents subtests, so a nested failure
// would not show to `grep '^not ok '`). Suites are printed only when they fail
// by themselves (a failing hook), and so is a test file that dies.
// Names are the describe() path of a case, tracked from test:start events
// (run.sh runs one file at a time, so events come in order).

export default async function* flatTap(source) {
  yield "TAP version 13\n";
  let n = 0;
  let failed = 0;
  const path = [];
  for await (const event of source) {
    if (event.type === "test:start") path.splice(event.data.nesting, Infinity, event.data.name);
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name, details, file, skip, todo } = event.data;
    const isSuite = details?.type === "suite";
    const ownFailure = event.type === "test:fail" && details?.error?.failureType !== "subtestsFailed";
    if (isSuite && !ownFailure) continue;
    if (!isSuite && event.type === "test:pass" && name === file) continue;
    n += 1;
    const label = [...path.slice(0, event.data.nesting), name]
      .filter((part) => part && part !== "<anonymous>" && !part.endsWith(".js"))
      .join(" > ") || name;
    const shown = label
      .replace(/\s+/g, " ").replace(/#/g, "\\#");
    const directive = skip ? " # SKIP" : todo ? " # TODO" : "";
    if (event.type === "test:pass") {
      yield `ok ${n} - ${shown}${directive}\n`;
    } else {
      failed += 1;
      yield `not ok ${n} - ${shown}${directive}\n`;
      const err = details?.error?.cause ?? details?.error;
      const text = String(err?.stack ?? err?.message ?? err).split("\n").slice(0, 12);
      for (const line of text) yield `# ${line}\n`;
    }
  }
  yield `1..${n}\n# ok ${n - failed}, not ok ${failed}\n`;
}
