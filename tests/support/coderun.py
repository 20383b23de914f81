"""Reading and writing the coding stage's CodeMirror editor from a browser test."""

from __future__ import annotations

BUNDLE = "/static/vendor/codemirror-6.43.15/cm-editor-6.43.15.bundle.js"
_VIEW = f"""const {{ EditorView }} = await import({BUNDLE!r});
    const view = EditorView.findFromDOM(document.querySelector('#code-editor .cm-editor'));"""


def set_code(page, source: str) -> None:
    """Replace the editor's text, as a paste would (typing would trip auto-indent and closing brackets)."""
    page.evaluate(
        f"""async source => {{ {_VIEW}
        view.dispatch({{changes: {{from: 0, to: view.state.doc.length, insert: source}}}}); }}""",
        source,
    )


def code_text(page) -> str:
    return page.evaluate(f"async () => {{ {_VIEW} return view.state.doc.toString(); }}")
