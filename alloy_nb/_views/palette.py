"""Every colour alloy_nb's views use, by role, as CSS custom properties on the views' root element.

Each role reads the front end's own theme variable first: JupyterLab's and Notebook 7's `--jp-*`,
then VS Code's `--vscode-*` (its notebook outputs set those, not `--jp-*`). The last fallback must read
on a light and a dark background alike, so it has a relative luminance near 0.2: about 4:1 against
white and against VS Code's dark `#1e1e1e` both. Tints are translucent, so they sit on either; all but
the token tints, which no translucent colour could keep apart on a dark page: they come in a light and a
dark set (`TOKEN_TINTS`), the dark one chosen where a front end says its theme is dark (`DARK_THEMES`).

The JupyterLab variable of each role was picked by its contrast in both Lab themes (text on
`--jp-layout-color0`, white or `#111`): `--jp-warn-color0` reads 3.8:1 and 7:1 where `--jp-warn-color1`
falls to 2.7:1 on white; `--jp-error-color1` reads 5:1 and 4.8:1.
"""

from __future__ import annotations

from typing import Literal

Shade = Literal["light", "dark"]

# A token's probability band, unlikely to likely: red, orange, yellow, green (notebook 09 teaches these),
# each an opaque fill and the text written on it. Translucent tints over JupyterLab Dark's #111 fell to
# lightness 0.32-0.36 and chroma under 0.09 (OKLab), three muddy browns 0.05 apart. Here neighbours are
# at least 0.12 apart in OKLab in each theme, and each text reads 6.5:1 or more on its fill.
TOKEN_TINTS: dict[Shade, tuple[tuple[str, str], ...]] = {
    # pale, deepening with doubt: dark text on each
    "light": (("#f28b82", "#1f1f1f"), ("#fbbc66", "#1f1f1f"), ("#fff176", "#1f1f1f"), ("#d7efd8", "#1f1f1f")),
    # orange and yellow only keep their hue when bright (dark, they are browns), so they carry dark text;
    # red stays red when deep, and green, the likely bulk of a reply, stays quiet: white text on both
    "dark": (("#b3261e", "#ffffff"), ("#ef8f2f", "#111111"), ("#f2d64b", "#111111"), ("#2a5230", "#ffffff")),
}
# How each front end says its theme is dark: JupyterLab and Notebook 7 (Dark, Dark High Contrast,
# and a system-synchronised theme) set `data-jp-theme-light` on <body>; VS Code's output webview a class.
# A page that says neither gets the light tints, which read on any page: they are opaque and name their text.
DARK_THEMES = (
    'body[data-jp-theme-light="false"]',
    "body.vscode-dark",
    "body.vscode-high-contrast:not(.vscode-high-contrast-light)",
)

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
    # a token's probability band: the light theme's tints (`TOKEN_TINTS`), `--av-token-p1` and `--av-token-p1-text`…
    **{
        f"token-p{number}{part}": colour
        for number, (fill, text) in enumerate(TOKEN_TINTS["light"], start=1)
        for part, colour in (("", fill), ("-text", text))
    },
}


def custom_properties() -> str:
    """The palette as declarations: `--av-ok:var(--jp-success-color0, …);` and so on."""
    return "".join(f"--av-{name}:{value};" for name, value in PALETTE.items())


def dark_token_properties() -> str:
    """The dark theme's token tints as declarations, for a rule under `DARK_THEMES`."""
    return "".join(
        f"--av-token-p{number}:{fill};--av-token-p{number}-text:{text};"
        for number, (fill, text) in enumerate(TOKEN_TINTS["dark"], start=1)
    )
