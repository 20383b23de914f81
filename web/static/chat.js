// The chat page: sends answers to the JSON API, streams the interviewer's reply over SSE, then
// swaps in the server-rendered turns (safe Markdown, feedback cards). No framework, no build.

import { CodePanel } from "./coderun/panel.js";

function Chat(root) {
  const $ = (id) => document.getElementById(id);
  this.root = root;
  this.data = root.dataset;
  this.state = {
    stage: root.dataset.stage || null,
    deadline: root.dataset.deadline || null,
    active: root.dataset.status === "active",
    busy: false,
    warned: null,
    retry: null, // {text, key}: an answer whose fate is unknown is resent with the same key
  };
  this.el = {
    transcript: $("transcript"), form: $("composer"), answer: $("answer"), status: $("composer-status"),
    send: $("send"), skip: $("skip"), end: $("end"), dialog: $("end-dialog"), finished: $("finished"),
    progress: $("progress"), timer: $("timer"), countdown: $("countdown"), stageName: $("stage-name"),
    warning: $("time-warning"), codeHint: document.querySelector(".code-hint"), reportLink: $("report-link"),
  };
  this.draftKey = `coach:draft:${root.dataset.sessionId}`;
}

Chat.prototype.start = function () {
  const { answer, form, skip, end, dialog } = this.el;
  answer.value = localStorage.getItem(this.draftKey) || "";
  answer.addEventListener("input", () => this.saveDraft());
  answer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.send();
    }
  });
  this.code = new CodePanel({
    api: this.data.api, token: this.data.token, sessionId: this.data.sessionId, onSend: () => this.send(),
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    this.send();
  });
  skip.addEventListener("click", () => this.skip());
  end.addEventListener("click", () => dialog.showModal());
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "end") this.finish();
  });
  this.showStage();
  this.tick();
  setInterval(() => this.tick(), 1000);
  this.watchPendingGrades();
  this.scrollToEnd();
  if (this.state.active) answer.focus({ preventScroll: true });
};

// --- sending ----------------------------------------------------------------------------------

Chat.prototype.send = async function () {
  const text = this.el.answer.value;
  if (this.state.busy || !this.state.active) return;
  if (!text.trim() && !this.code.source.trim()) return this.say("Write an answer first, or skip the question.", true);
  this.setBusy(true, this.code.task ? "Running every test before sending…" : "Sending…");
  const code = await this.code.answer(); // the latest run goes with the answer
  this.say(this.data.mode === "coach" ? "Grading your answer…" : "Sending…");
  const shown = code ? `${text}\n\n${code.source}`.trim() : text;
  const pending = this.appendPending(shown);
  const same = JSON.stringify([text, code && code.source]);
  const key = this.state.retry && this.state.retry.same === same ? this.state.retry.key : newKey();
  this.state.retry = { same, key };
  let response;
  try {
    response = await this.api("/answers/stream", code ? { text, code } : { text }, key);
  } catch (error) {
    pending.remove();
    return this.failed("Could not reach the server. Your answer is kept here; send it again.");
  }
  if (!response.ok) {
    pending.remove();
    return this.failed(await errorText(response));
  }
  this.state.retry = null;
  this.clearDraft(); // stored on the server from here on
  const result = await this.readStream(response, pending);
  if (!result) {
    this.say("The connection dropped. Your answer was saved; reloading to continue…", true);
    setTimeout(() => location.reload(), 1200);
    return;
  }
  await this.applyResult(result, pending);
};

Chat.prototype.readStream = async function (response, pending) {
  let result = null;
  try {
    for await (const event of sseEvents(response.body)) {
      if (event.event === "restart") {
        pending.restart();
      } else if (event.event === "token") {
        pending.reply(JSON.parse(event.data).text);
        this.say("The interviewer is replying…");
      } else if (event.event === "done") {
        result = JSON.parse(event.data);
      }
    }
  } catch (error) {
    return null;
  }
  return result;
};

Chat.prototype.skip = async function () {
  if (this.state.busy || !this.state.active) return;
  this.setBusy(true, "Skipping…");
  let response;
  try {
    response = await this.api("/skip", null, newKey());
  } catch (error) {
    return this.failed("Could not reach the server; try again.");
  }
  if (!response.ok) return this.failed(await errorText(response));
  await this.applyResult(await response.json(), null);
};

Chat.prototype.finish = async function () {
  if (this.state.busy) return;
  this.setBusy(true, "Ending the interview…");
  try {
    const response = await this.api("/finish", null);
    if (!response.ok && response.status !== 409) return this.failed(await errorText(response));
  } catch (error) {
    return this.failed("Could not reach the server; try again.");
  }
  this.clearDraft();
  location.assign(this.data.report);
};

Chat.prototype.api = function (path, body, key) {
  const headers = { Authorization: `Bearer ${this.data.token}`, Accept: "application/json, text/event-stream" };
  if (body) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  return fetch(this.data.api + path, { method: "POST", headers, body: body ? JSON.stringify(body) : undefined });
};

Chat.prototype.applyResult = async function (result, pending) {
  try {
    await this.refreshTurns(this.lastSeq(), pending);
  } catch (error) {
    location.reload(); // the server has everything; a reload shows it
    return;
  }
  this.state.stage = result.stage;
  this.root.dataset.stage = result.stage || "";
  this.root.dataset.question = result.question ? result.question.id : "";
  this.state.deadline = result.stage_deadline;
  this.state.warned = null;
  if (result.done) this.showFinished();
  this.showStage();
  this.tick();
  this.setBusy(false, "");
  this.watchPendingGrades();
  this.scrollToEnd();
  if (result.done) this.el.reportLink.focus({ preventScroll: true });
  else this.el.answer.focus({ preventScroll: true });
};

// --- the transcript ---------------------------------------------------------------------------

Chat.prototype.appendPending = function (text) {
  const mine = element("li", "turn candidate pending");
  const mineBubble = mine.appendChild(element("div", "bubble"));
  mineBubble.appendChild(element("p", "who")).textContent = "You";
  mineBubble.appendChild(element("div", "answer-text")).textContent = text; // always as text
  const theirs = element("li", "turn interviewer streaming");
  const bubble = theirs.appendChild(element("div", "bubble"));
  bubble.appendChild(element("p", "who")).textContent = "Interviewer";
  const body = bubble.appendChild(element("div", "md"));
  body.appendChild(element("span", "typing")).setAttribute("aria-label", "The interviewer is thinking");
  const live = body.appendChild(element("p", "stream-text"));
  this.el.transcript.setAttribute("aria-busy", "true");
  this.el.transcript.append(mine, theirs);
  this.scrollToEnd();
  return {
    reply: (piece) => {
      body.querySelector(".typing")?.remove();
      live.textContent += piece; // plain text while it streams; rendered Markdown replaces it
      this.scrollToEnd();
    },
    restart: () => {
      live.textContent = "";
    },
    remove: () => {
      mine.remove();
      theirs.remove();
      this.el.transcript.removeAttribute("aria-busy");
    },
  };
};

Chat.prototype.lastSeq = function () {
  const items = this.el.transcript.querySelectorAll("li[data-seq]");
  return items.length ? Number(items[items.length - 1].dataset.seq) : -1;
};

Chat.prototype.refreshTurns = async function (after, pending) {
  const response = await fetch(`${this.data.turns}?after=${after}`, { headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error(`turns: ${response.status}`);
  const template = document.createElement("template");
  template.innerHTML = await response.text(); // server-rendered, autoescaped
  if (pending) pending.remove();
  for (const item of [...template.content.querySelectorAll("li[data-seq]")]) {
    const existing = this.el.transcript.querySelector(`li[data-seq="${item.dataset.seq}"]`);
    if (existing) existing.replaceWith(item);
    else this.el.transcript.append(item);
  }
  this.el.transcript.removeAttribute("aria-busy");
};

Chat.prototype.watchPendingGrades = function () {
  clearTimeout(this.gradeTimer);
  const waiting = this.el.transcript.querySelector('.feedback[data-status="pending"]');
  if (!waiting) return;
  const seq = Number(waiting.closest("li[data-seq]").dataset.seq);
  this.gradeTimer = setTimeout(async () => {
    try {
      await this.refreshTurns(seq - 1, null);
    } catch (error) {
      /* try again on the next round */
    }
    this.watchPendingGrades();
  }, 1500);
};

Chat.prototype.scrollToEnd = function () {
  // The composer sticks to the bottom after the transcript: the page's end shows the newest turn above it.
  window.scrollTo({ top: document.documentElement.scrollHeight, behavior: "instant" });
};

// --- stage, progress, countdown ---------------------------------------------------------------

Chat.prototype.showStage = function () {
  const stage = this.state.stage;
  let reached = false;
  let coding = false; // a stage whose format runs code (data-code): the code editor opens
  for (const item of this.el.progress.children) {
    const current = item.dataset.stage === stage;
    coding = coding || (current && this.state.active && "code" in item.dataset);
    reached = reached || current;
    item.classList.toggle("current", current && this.state.active);
    item.classList.toggle("done", !this.state.active || (!reached && !current));
    if (current && this.state.active) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    if (current) this.el.stageName.textContent = item.dataset.title;
  }
  this.el.codeHint.hidden = !coding;
  this.el.answer.rows = coding ? 3 : 5;
  this.el.answer.placeholder = coding
    ? "Notes: your approach, its complexity, how you tested it."
    : "Type your answer. Think aloud: say what you would do and why.";
  if (coding) {
    this.code.load(this.root.dataset.question).catch(() => this.code.say("Could not load the task; reload the page.", true));
  } else {
    this.code.hide();
  }
};

Chat.prototype.tick = function () {
  const { timer, countdown, warning } = this.el;
  if (!this.state.active || !this.state.deadline) {
    timer.hidden = true;
    warning.hidden = true;
    return;
  }
  timer.hidden = false;
  const left = parseTime(this.state.deadline) - Date.now();
  countdown.textContent = left > 0 ? clock(left) : "0:00";
  const minutes = Number(this.el.progress.querySelector(".current")?.dataset.minutes || 10);
  const near = left <= Math.max(60_000, minutes * 60_000 * 0.15);
  timer.classList.toggle("warn", near && left > 0);
  timer.classList.toggle("over", left <= 0);
  const level = left <= 0 ? "over" : near ? "near" : null;
  if (level !== this.state.warned) {
    this.state.warned = level;
    warning.hidden = !level;
    warning.textContent =
      level === "over"
        ? "Time is up for this stage. Finish your thought; your next answer moves the interview on."
        : level === "near"
          ? `About ${Math.max(1, Math.round(left / 60_000))} min left in this stage. Start wrapping up.`
          : "";
  }
};

// --- composer ---------------------------------------------------------------------------------

Chat.prototype.setBusy = function (busy, message) {
  this.state.busy = busy;
  for (const button of [this.el.send, this.el.skip, this.el.end]) button.disabled = busy;
  this.el.answer.readOnly = busy;
  this.code.setBusy(busy);
  this.el.form.classList.toggle("busy", busy);
  this.say(message);
};

Chat.prototype.say = function (message, isError = false) {
  this.el.status.textContent = message || "";
  this.el.status.classList.toggle("error", isError);
  if (isError) this.el.answer.focus({ preventScroll: true });
};

Chat.prototype.failed = function (message) {
  this.setBusy(false, "");
  this.say(message, true);
};

Chat.prototype.showFinished = function () {
  this.state.active = false;
  this.el.form.hidden = true;
  this.el.finished.hidden = false;
  this.root.dataset.status = "finished";
};

Chat.prototype.saveDraft = function () {
  const text = this.el.answer.value;
  if (text) localStorage.setItem(this.draftKey, text);
  else localStorage.removeItem(this.draftKey);
};

Chat.prototype.clearDraft = function () {
  this.el.answer.value = "";
  localStorage.removeItem(this.draftKey);
  this.code.sentAnswer();
};

// --- helpers ----------------------------------------------------------------------------------

// Server-sent events from a fetch body: EventSource cannot POST, so parse `event:`/`data:` lines.
export async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) yield event;
    }
  }
  const last = parseEvent(buffer);
  if (last) yield last;
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // comments are keep-alive pings
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  } catch (error) {
    /* not JSON */
  }
  return `The server answered ${response.status}. Your answer is kept here; try again.`;
}

function element(tag, className) {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function parseTime(iso) {
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

function clock(ms) {
  const seconds = Math.ceil(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

const chatRoot = document.getElementById("chat");
if (chatRoot) new Chat(chatRoot).start();
