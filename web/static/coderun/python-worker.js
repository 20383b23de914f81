// Runs a candidate's Python in Pyodide, off the page's thread (a module worker: Pyodide needs one).
// The tests run through harness.py, the same file the test suite runs on each task's reference
// solution with CPython. runner.js terminates this worker when a run passes its time limit.

import "./worker-loop.js";
import { loadPyodide } from "../vendor/pyodide-314.0.8/pyodide.mjs";

const FOLDER = new URL("../vendor/pyodide-314.0.8/", import.meta.url).href;

async function load() {
  const pyodide = await loadPyodide({ indexURL: FOLDER, stdout: () => {}, stderr: () => {} });
  const harness = await fetch(new URL("./harness.py", import.meta.url));
  if (!harness.ok) throw new Error(`harness.py: ${harness.status}`);
  pyodide.runPython(await harness.text());
  return pyodide.globals.get("run_tests");
}

function run(runTests, source, task) {
  return JSON.parse(runTests(source, task.entry, JSON.stringify(task.tests)));
}

self.serveRuns("Pyodide 314.0.8 (Python 3.14)", load, run);
