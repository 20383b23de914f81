// Runs a candidate's SQL in sql.js (SQLite compiled to WebAssembly), off the page's thread: seed
// the task's schema on a fresh database, run the candidate's statements, compare the last result
// set with the expected one, and for optimisation tasks show the query plan before and after.
/* global initSqlJs */

importScripts("worker-loop.js", "../vendor/sql.js-1.17.0/sql-wasm-browser.js");

const FOLDER = new URL("../vendor/sql.js-1.17.0/", self.location.href).href;
const MAX_ROWS = 50; // rows of a result set shown (and sent with the answer)

function load() {
  return initSqlJs({ locateFile: (file) => FOLDER + file });
}

function run(SQL, source, task) {
  const db = new SQL.Database();
  try {
    db.exec(task.schema_sql);
    const before = task.plan ? queryPlan(db, task.plan.query) : null;
    let last;
    try {
      last = runStatements(db, source);
    } catch (error) {
      return sqlError(task, String(error.message || error));
    }
    if (!last) return sqlError(task, "no statement returned rows: end with the SELECT to check");
    const tests = [resultTest(task.expected, last)];
    let plan = null;
    if (task.plan) {
      plan = { before, after: queryPlan(db, last.sql) };
      tests.push(scanTest(task.plan.no_full_scan, plan.after));
    }
    const rows = { columns: last.columns, rows: last.rows.slice(0, MAX_ROWS), total: last.rows.length };
    return { status: "ok", tests, output: "", error: null, rows, plan };
  } finally {
    db.close();
  }
}

function runStatements(db, source) {
  let last = null;
  for (const statement of db.iterateStatements(source)) {
    const columns = statement.getColumnNames();
    const rows = [];
    while (statement.step()) rows.push(statement.get());
    if (columns.length) last = { sql: statement.getSQL(), columns, rows };
    statement.free();
  }
  return last;
}

function queryPlan(db, sql) {
  const [result] = db.exec(`EXPLAIN QUERY PLAN ${sql}`);
  if (!result) return [];
  const detail = result.columns.indexOf("detail");
  return result.values.map((row) => String(row[detail]));
}

function resultTest(expected, last) {
  const want = expected.ordered ? expected.rows : sortedRows(expected.rows);
  const got = expected.ordered ? last.rows : sortedRows(last.rows);
  return {
    name: "result-set", hidden: false, passed: JSON.stringify(want) === JSON.stringify(got),
    input: clip(last.sql), expected: clip(rowsText(expected.columns, expected.rows)),
    actual: clip(rowsText(last.columns, last.rows)), error: null,
  };
}

function scanTest(tables, plan) {
  // "SCAN orders" (no index named) reads the whole table; "SCAN orders USING INDEX ..." does not.
  const full = plan.filter((line) => tables.some((table) => new RegExp(`^SCAN ${table}\\b(?!.*\\bUSING\\b)`).test(line)));
  return {
    name: "no-full-scan", hidden: false, passed: full.length === 0, input: `query plan, tables ${tables.join(", ")}`,
    expected: `no full scan of ${tables.join(", ")}`, actual: full.length ? full.join("; ") : "no full scan", error: null,
  };
}

function sqlError(task, error) {
  const names = ["result-set", ...(task.plan ? ["no-full-scan"] : [])];
  const tests = names.map((name) => ({ name, hidden: false, passed: false, input: "", expected: "", actual: "", error: clip(error) }));
  return { status: "error", tests, output: "", error: clip(error), rows: null, plan: null };
}

function sortedRows(rows) {
  return rows.map((row) => JSON.stringify(row)).sort();
}

function rowsText(columns, rows) {
  const lines = [columns.join(" | "), ...rows.slice(0, MAX_ROWS).map((row) => row.map(String).join(" | "))];
  if (rows.length > MAX_ROWS) lines.push(`… ${rows.length - MAX_ROWS} more rows`);
  return lines.join("\n");
}

function clip(text) {
  return text.length <= 2000 ? text : `${text.slice(0, 1999)}…`;
}

self.serveRuns("sql.js 1.17.0 (SQLite 3.54)", load, run);
