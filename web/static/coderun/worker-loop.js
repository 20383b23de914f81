// The message loop every code-runner worker shares (loaded by python-worker.js as a module and by
// sql-worker.js with importScripts, so it is plain script): load the runtime once, then run.
//   page -> worker: {type: "load"} | {type: "run", id, source, task}
//   worker -> page: {type: "ready", runtime} | {type: "started", id} | {type: "result", id, result} | {type: "failed", id, error}
// "started" comes once the runtime is ready, so the page's time limit never counts the download.

self.serveRuns = function serveRuns(name, load, run) {
  let runtime = null;
  self.onmessage = async (event) => {
    const message = event.data;
    try {
      runtime = runtime || load();
      const ready = await runtime;
      if (message.type === "load") {
        self.postMessage({ type: "ready", runtime: name });
        return;
      }
      self.postMessage({ type: "started", id: message.id });
      const result = await run(ready, message.source, message.task);
      self.postMessage({ type: "result", id: message.id, result: { ...result, runtime: name } });
    } catch (error) {
      self.postMessage({ type: "failed", id: message.id, error: String((error && error.message) || error) });
    }
  };
};
