// Runs code in a Web Worker with a time limit. A run that passes the limit (an infinite loop, say)
// is stopped by terminating its worker, reported as a timeout, and a fresh worker starts loading
// for the next run: the page itself never runs candidate code, so it stays responsive.

export const TIME_LIMIT_MS = 5000; // per run, counted from when the runtime is ready
const LOAD_LIMIT_MS = 90_000; // loading Pyodide takes seconds; a stuck load is reported, not waited on forever
const WORKERS = {
  python: () => new Worker(new URL("./python-worker.js", import.meta.url), { type: "module" }),
  sql: () => new Worker(new URL("./sql-worker.js", import.meta.url)),
};

export function runningSupported() {
  return typeof WebAssembly === "object" && typeof Worker === "function";
}

export class CodeRunner {
  constructor(language, { timeLimitMs = TIME_LIMIT_MS } = {}) {
    this.language = language;
    this.timeLimitMs = timeLimitMs;
    this.worker = null;
    this.ready = null;
    this.runtime = null;
    this.nextId = 1;
  }

  // Start the worker and its runtime now, so the first run does not wait for the download.
  warm() {
    if (!this.ready) this.ready = this.spawn();
    return this.ready;
  }

  spawn() {
    this.worker = WORKERS[this.language]();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the runtime did not load in time")), LOAD_LIMIT_MS);
      this.worker.onmessage = ({ data }) => {
        if (data.type !== "ready" && data.type !== "failed") return;
        clearTimeout(timer);
        if (data.type === "failed") reject(new Error(data.error));
        else resolve((this.runtime = data.runtime));
      };
      this.worker.onerror = (event) => {
        clearTimeout(timer);
        reject(new Error(event.message || "the runner failed to start"));
      };
      this.worker.postMessage({ type: "load" });
    }).catch((error) => {
      this.reset();
      throw error;
    });
  }

  reset() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.ready = null;
  }

  // Resolve with the run's results: {status: "ok" | "error" | "timeout", tests, output, ...}.
  async run(source, task) {
    await this.warm();
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      let timer = null;
      worker.onmessage = ({ data }) => {
        if (data.id !== id) return;
        if (data.type === "started") {
          timer = setTimeout(() => resolve(this.timedOut(task)), this.timeLimitMs);
        } else if (data.type === "result") {
          clearTimeout(timer);
          resolve(data.result);
        } else if (data.type === "failed") {
          clearTimeout(timer);
          this.reset();
          reject(new Error(data.error));
        }
      };
      worker.postMessage({ type: "run", id, source, task });
    });
  }

  timedOut(task) {
    this.reset();
    this.warm().catch(() => {}); // a fresh worker for the next run
    const seconds = this.timeLimitMs / 1000;
    const error = `stopped after ${seconds} s: the program ran past the time limit (an endless loop?)`;
    const names = task.tests ? task.tests.map((t) => [t.name, Boolean(t.hidden)]) : sqlTestNames(task);
    return {
      status: "timeout", output: "", error, runtime: this.runtime, rows: null, plan: null,
      tests: names.map(([name, hidden]) => ({ name, hidden, passed: false, input: "", expected: "", actual: "", error })),
    };
  }
}

function sqlTestNames(task) {
  return [["result-set", false], ...(task.plan ? [["no-full-scan", false]] : [])];
}
