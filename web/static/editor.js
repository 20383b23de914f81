// A small code editor on a plain <textarea>: Tab indents (Shift+Tab outdents), Enter keeps the
// line's indentation (one level more after ":", "{", "(" or "["). Esc then Tab leaves the editor,
// so keyboard users are never trapped. Edits go through insertText to keep the browser's undo.

const INDENT = "    ";
const OPENERS = /[:{([]\s*$/;

export function attachCodeEditor(textarea, isActive) {
  let escaped = false;
  textarea.addEventListener("keydown", (event) => {
    if (!isActive() || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.key === "Escape") {
      escaped = true;
      return;
    }
    const leaving = escaped;
    escaped = false;
    if (event.key === "Tab" && !leaving) {
      event.preventDefault();
      if (event.shiftKey) outdent(textarea);
      else indent(textarea);
    } else if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      newline(textarea);
    }
  });
}

function insert(textarea, text) {
  // execCommand keeps the undo stack; setRangeText is the fallback where it is gone.
  if (!document.execCommand || !document.execCommand("insertText", false, text)) {
    textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

function lineStart(value, position) {
  return value.lastIndexOf("\n", position - 1) + 1;
}

function selectedLines(textarea) {
  const { value, selectionStart, selectionEnd } = textarea;
  const start = lineStart(value, selectionStart);
  const end = selectionEnd > selectionStart && value[selectionEnd - 1] === "\n" ? selectionEnd - 1 : selectionEnd;
  const stop = value.indexOf("\n", end);
  return { start, end: stop === -1 ? value.length : stop };
}

function replaceLines(textarea, transform) {
  const { selectionStart, selectionEnd } = textarea;
  const { start, end } = selectedLines(textarea);
  const block = textarea.value.slice(start, end);
  const changed = block.split("\n").map(transform).join("\n");
  textarea.setSelectionRange(start, end);
  insert(textarea, changed);
  if (selectionStart === selectionEnd) {
    // a caret stays a caret, moved with its line's text
    const caret = Math.max(start, selectionStart + changed.length - block.length);
    textarea.setSelectionRange(caret, caret);
  } else {
    textarea.setSelectionRange(start, start + changed.length);
  }
}

function indent(textarea) {
  const { value, selectionStart, selectionEnd } = textarea;
  if (value.slice(selectionStart, selectionEnd).includes("\n")) {
    replaceLines(textarea, (line) => (line ? INDENT + line : line));
    return;
  }
  const column = selectionStart - lineStart(value, selectionStart);
  insert(textarea, " ".repeat(INDENT.length - (column % INDENT.length)));
}

function outdent(textarea) {
  replaceLines(textarea, (line) => line.replace(new RegExp(`^ {1,${INDENT.length}}|^\\t`), ""));
}

function newline(textarea) {
  const { value, selectionStart } = textarea;
  const line = value.slice(lineStart(value, selectionStart), selectionStart);
  let indentation = line.match(/^[ \t]*/)[0];
  if (OPENERS.test(line)) indentation += INDENT;
  insert(textarea, "\n" + indentation);
}
