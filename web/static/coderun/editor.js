// The code editor: CodeMirror 6 (vendored, see web/static/vendor/README.md) with line numbers,
// syntax highlighting, Tab/Shift+Tab to indent, Enter keeping indentation, and Ctrl+Enter to send.
// Esc then Tab leaves the editor (CodeMirror's tab focus mode), so keyboard users are never trapped.

import {
  Compartment, EditorState, EditorView, SQLite, bracketMatching, closeBrackets, closeBracketsKeymap,
  defaultHighlightStyle, defaultKeymap, drawSelection, highlightActiveLine, highlightActiveLineGutter,
  history, historyKeymap, indentOnInput, indentUnit, indentWithTab, keymap, lineNumbers, python, sql,
  syntaxHighlighting,
} from "../vendor/codemirror-6.43.15/cm-editor-6.43.15.bundle.js";

function languageSupport(language) {
  return language === "sql" ? sql({ dialect: SQLite }) : python();
}

export function createCodeEditor(parent, { doc = "", language = "python", label, onSend, onChange }) {
  const mode = new Compartment();
  const editable = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), history(), drawSelection(),
        indentOnInput(), bracketMatching(), closeBrackets(), indentUnit.of("    "),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        keymap.of([
          { key: "Mod-Enter", run: () => (onSend(), true) },
          ...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab,
        ]),
        mode.of(languageSupport(language)),
        editable.of(EditorView.editable.of(true)),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && onChange) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    get value() {
      return view.state.doc.toString();
    },
    set value(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    setLanguage(language) {
      view.dispatch({ effects: mode.reconfigure(languageSupport(language)) });
    },
    setReadOnly(readOnly) {
      view.dispatch({ effects: editable.reconfigure(EditorView.editable.of(!readOnly)) });
    },
    focus() {
      view.focus();
    },
  };
}
