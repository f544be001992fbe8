"""Every colour alloy_nb's views use, by role, as CSS custom properties on the views' root element.

Each role reads the front end's own theme variable first: JupyterLab's and Notebook 7's `--jp-*`,
then VS Code's `--vscode-*` (its notebook outputs set those, not `--jp-*`). The last fallback must read
on a light and a dark background alike, so it has a relative luminance near 0.2: about 4:1 against
white and against VS Code's dark `#1e1e1e` both. Tints are translucent, so they sit on either.

The JupyterLab variable of each role was picked by its contrast in both Lab themes (text on
`--jp-layout-color0`, white or `#111`): `--jp-warn-color0` reads 3.8:1 and 7:1 where `--jp-warn-color1`
falls to 2.7:1 on white; `--jp-error-color1` reads 5:1 and 4.8:1.
"""

from __future__ import annotations

PALETTE: dict[str, str] = {
    # text and lines
    "muted": "var(--jp-content-font-color2, var(--vscode-descriptionForeground, #7f7f7f))",
    "text": "var(--jp-content-font-color1, var(--vscode-editor-foreground, CanvasText))",
    "surface": "var(--jp-layout-color1, var(--vscode-editor-background, Canvas))",
    "line": "var(--jp-border-color1, var(--vscode-panel-border, rgba(128, 128, 128, 0.5)))",
    "faint-line": "var(--jp-border-color2, rgba(128, 128, 128, 0.3))",
    "code-bg": "rgba(128, 128, 128, 0.12)",
    # roles
    "accent": "var(--jp-brand-color1, var(--vscode-textLink-foreground, #1e88e5))",
    "ok": "var(--jp-success-color0, var(--vscode-testing-iconPassed, #388e3c))",
    "error": "var(--jp-error-color1, var(--vscode-errorForeground, #e53935))",
    "warn": "var(--jp-warn-color0, var(--vscode-editorWarning-foreground, #e65100))",
    "info": "var(--jp-info-color1, #00897b)",
    "special": "#ab47bc",  # thinking, a finalize turn: no theme has a role for it
    "neutral": "#7f7f7f",
    # highlighted code (Pygments' token classes): JupyterLab's editor colours for each theme
    "code-keyword": "var(--jp-mirror-editor-keyword-color, #388e3c)",
    "code-string": "var(--jp-mirror-editor-string-color, #e53935)",
    "code-comment": "var(--jp-mirror-editor-comment-color, #7f7f7f)",
    "code-number": "var(--jp-mirror-editor-number-color, #00897b)",
    "code-definition": "var(--jp-mirror-editor-def-color, #1e88e5)",
    "code-builtin": "var(--jp-mirror-editor-builtin-color, #388e3c)",
    "code-operator": "var(--jp-mirror-editor-operator-color, #ab47bc)",
    "code-meta": "var(--jp-mirror-editor-meta-color, #ab47bc)",
    "code-property": "var(--jp-mirror-editor-property-color, #1e88e5)",
    # translucent fills, for backgrounds under text (a table row, a diff line)
    "ok-tint": "rgba(67, 160, 71, 0.18)",
    "error-tint": "rgba(229, 57, 53, 0.14)",
    # a token's probability, unlikely to likely: translucent so the theme's own text colour reads on each
    "token-p1": "rgba(229, 57, 53, 0.32)",
    "token-p2": "rgba(245, 124, 0, 0.26)",
    "token-p3": "rgba(253, 216, 53, 0.22)",
    "token-p4": "rgba(67, 160, 71, 0.10)",
}


def custom_properties() -> str:
    """The palette as declarations: `--av-ok:var(--jp-success-color0, …);` and so on."""
    return "".join(f"--av-{name}:{value};" for name, value in PALETTE.items())
