// The coding stage's code panel: the editor, the Run button, and the results under the editor.
// The task (language, starter code, tests) comes from GET /api/sessions/{id}/task; the code runs in
// this browser only (runner.js), and the latest run goes with the answer as the candidate's claim.

import { CodeRunner, TIME_LIMIT_MS, runningSupported } from "./runner.js";
import { createCodeEditor } from "./editor.js";

const LANGUAGES = { python: "Python", sql: "SQL" };

export class CodePanel {
  constructor({ api, token, sessionId, onSend }) {
    const $ = (id) => document.getElementById(id);
    this.el = {
      panel: $("code-panel"), editor: $("code-editor"), language: $("code-language"), runtime: $("code-runtime"),
      run: $("run"), status: $("run-status"), results: $("run-results"), choice: $("code-language-choice"),
    };
    this.api = api;
    this.token = token;
    this.sessionId = sessionId;
    this.task = null;
    this.lastRun = null;
    this.runners = {};
    this.supported = runningSupported();
    this.editor = createCodeEditor(this.el.editor, {
      label: "Your code", onSend, onChange: (text) => this.saveDraft(text),
    });
    this.el.run.addEventListener("click", () => this.runVisible());
    this.el.choice.addEventListener("change", () => this.editor.setLanguage(this.el.choice.value));
  }

  get active() {
    return !this.el.panel.hidden;
  }

  // Show the panel for the current coding question: with its tests when it has a runnable task.
  async load(questionId) {
    if (questionId === this.questionId && this.active) return;
    this.questionId = questionId;
    this.sent = null;
    const response = await fetch(`${this.api}/task`, { headers: { Authorization: `Bearer ${this.token}` } });
    this.task = response.ok ? await response.json() : null;
    this.lastRun = null;
    const language = this.task ? this.task.language : this.el.choice.value;
    this.el.panel.hidden = false;
    this.el.panel.dataset.language = language;
    this.el.panel.dataset.runnable = this.task ? "yes" : "no";
    this.el.choice.hidden = Boolean(this.task);
    this.el.language.hidden = !this.task;
    this.el.run.hidden = !this.task;
    this.el.language.textContent = LANGUAGES[language];
    this.editor.setLanguage(language);
    this.editor.value = localStorage.getItem(this.draftKey()) || (this.task ? this.task.starter : "");
    this.el.results.replaceChildren();
    this.el.runtime.textContent = "";
    if (!this.task) return this.say("This task has no tests to run: write the key code here and explain it below.");
    if (!this.supported) {
      this.el.run.disabled = true;
      return this.say("Running code is not available in this browser (no WebAssembly); your code is still sent with your answer.");
    }
    this.el.run.disabled = false;
    this.say(`Run tests runs the examples; sending runs the hidden tests too. Each run may take ${TIME_LIMIT_MS / 1000} s.`);
    this.runner().warm().then(
      (runtime) => (this.el.runtime.textContent = runtime),
      (error) => this.say(`The ${LANGUAGES[language]} runtime did not load: ${error.message}`, true),
    );
  }

  hide() {
    this.task = null;
    this.questionId = null;
    this.el.panel.hidden = true;
  }

  runner() {
    const language = this.task.language;
    this.runners[language] = this.runners[language] || new CodeRunner(language);
    return this.runners[language];
  }

  // Run button: the visible example tests only.
  runVisible() {
    return this.run(false);
  }

  async run(withHidden) {
    if (!this.task || !this.supported || this.running) return this.lastRun;
    this.running = true;
    this.el.run.disabled = true;
    this.say(withHidden ? "Running every test, hidden ones too…" : "Running…");
    const started = performance.now();
    try {
      const result = await this.runner().run(this.editor.value, this.taskFor(withHidden));
      this.lastRun = result;
      this.show(result);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      this.say(result.status === "timeout" ? result.error : `Ran in ${seconds} s.`, result.status === "timeout");
      return result;
    } catch (error) {
      this.say(`The code could not run: ${error.message}`, true);
      return null;
    } finally {
      this.running = false;
      this.el.run.disabled = false;
    }
  }

  taskFor(withHidden) {
    if (this.task.language === "sql") return this.task;
    return { ...this.task, tests: this.task.tests.filter((t) => withHidden || !t.hidden) };
  }

  // The code answer sent with the answer: every test run (hidden ones included) when running works.
  // Without a runnable task, the code alone; null when the editor is empty or still the starter code.
  async answer() {
    if (!this.source.trim()) return null;
    if (!this.task) return { language: this.el.choice.value, source: this.editor.value, run: null };
    const run = this.supported ? await this.run(true) : null;
    return { language: this.task.language, source: this.editor.value, run: run && withoutExtras(run) };
  }

  // The candidate's code: "" until they write some, and "" again once sent until they change it
  // (untouched starter code is no answer; a follow-up answered in words does not resend the code).
  get source() {
    const text = this.active ? this.editor.value : "";
    return (this.task && text === this.task.starter) || text === this.sent ? "" : text;
  }

  // The answer is stored: the code stays in the editor (a follow-up may change it), its draft goes.
  sentAnswer() {
    this.sent = this.active ? this.editor.value : null;
    localStorage.removeItem(this.draftKey());
  }

  draftKey() {
    return `coach:code:${this.sessionId}:${this.questionId}`;
  }

  saveDraft(text) {
    if (this.active) localStorage.setItem(this.draftKey(), text);
  }

  setBusy(busy) {
    this.editor.setReadOnly(busy);
    if (this.supported && this.task) this.el.run.disabled = busy || Boolean(this.running);
  }

  say(message, isError = false) {
    this.el.status.textContent = message;
    this.el.status.classList.toggle("error", isError);
  }

  show(result) {
    this.el.results.replaceChildren(renderResults(result));
  }
}

function withoutExtras(run) {
  const { status, tests, output, error, runtime, rows, plan } = run;
  return { status, tests, output, error, runtime, rows, plan };
}

// --- rendering results (text only: candidate output is never parsed as HTML) -------------------

export function renderResults(result) {
  const box = element("div", "run-results");
  const passed = result.tests.filter((t) => t.passed).length;
  const summary = box.appendChild(element("p", `run-summary ${passed === result.tests.length ? "all-passed" : "some-failed"}`));
  summary.textContent = `${passed} of ${result.tests.length} tests passed`;
  if (result.error) box.appendChild(element("pre", "run-error")).textContent = result.error;
  const list = box.appendChild(element("ul", "test-results"));
  for (const test of result.tests) list.appendChild(renderTest(test));
  if (result.rows) box.appendChild(renderRows(result.rows));
  if (result.plan) box.appendChild(renderPlan(result.plan));
  if (result.output) {
    box.appendChild(element("h4", "")).textContent = "Output";
    box.appendChild(element("pre", "run-output")).textContent = result.output;
  }
  return box;
}

function renderTest(test) {
  const item = element("li", `test ${test.passed ? "passed" : "failed"}`);
  item.dataset.test = test.name;
  const head = item.appendChild(element("p", "test-name"));
  head.textContent = `${test.passed ? "✓ passed" : "✗ failed"}: ${test.name}${test.hidden ? " (hidden test)" : ""}`;
  if (test.passed || test.hidden) return item;
  const details = item.appendChild(element("dl", "test-details"));
  for (const [label, value] of [["Input", test.input], ["Expected", test.expected], ["Actual", test.actual], ["Error", test.error]]) {
    if (!value) continue;
    details.appendChild(element("dt", "")).textContent = label;
    details.appendChild(element("dd", "")).appendChild(element("pre", `test-${label.toLowerCase()}`)).textContent = value;
  }
  return item;
}

function renderRows(rows) {
  const wrap = element("div", "result-rows");
  wrap.appendChild(element("h4", "")).textContent = `Rows (${rows.total})`;
  const table = wrap.appendChild(element("table", "rows"));
  const head = table.appendChild(element("thead", "")).appendChild(element("tr", ""));
  for (const column of rows.columns) head.appendChild(element("th", "")).textContent = column;
  const body = table.appendChild(element("tbody", ""));
  for (const row of rows.rows) {
    const tr = body.appendChild(element("tr", ""));
    for (const value of row) tr.appendChild(element("td", "")).textContent = value === null ? "NULL" : String(value);
  }
  return wrap;
}

function renderPlan(plan) {
  const wrap = element("div", "query-plan");
  for (const [label, lines, name] of [["Query plan before (the task's query)", plan.before, "before"], ["Query plan of your query", plan.after, "after"]]) {
    if (!lines) continue;
    wrap.appendChild(element("h4", "")).textContent = label;
    wrap.appendChild(element("pre", `plan-${name}`)).textContent = lines.join("\n");
  }
  return wrap;
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

export { TIME_LIMIT_MS };
