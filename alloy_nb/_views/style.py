"""The one stylesheet of alloy_nb's views, and `page`, which puts a view under the root it styles.

Every rule is scoped under `.alloy-view`, the root element of each output, so nothing leaks into the
notebook around it; colours come only from the palette (`palette.py`, custom properties on that root).
Each output carries one `<style>` with the rule groups it uses, so an output reads the same when the
notebook is opened elsewhere.

JupyterLab's (and Notebook 7's) rules for rendered HTML weigh up to `(0,2,2)`: `.jp-ThemedContainer
.jp-RenderedHTMLCommon pre` takes a pre's padding and paints it the page's colour, cells are right-aligned,
`tbody tr:nth-child(odd)` paints zebra rows. A rule here that must win names as many classes (and wins
by coming later in the page: an output's `<style>` follows the page's) or one more (a failed row).
"""

from __future__ import annotations

import re
from typing import Literal

from .palette import DARK_THEMES, TOKEN_TINTS, custom_properties, dark_token_properties

ROOT = "alloy-view"
TOKEN_PREFIX = "hl-"  # Pygments' token classes in highlighted code (`_views/reply.py`): `hl-k`, a keyword
Group = Literal["trace", "timeline", "compare", "diff", "table", "badges", "reply", "tokens", "help"]

_BASE = f"""
.{ROOT}{{{custom_properties()}font-family:var(--jp-ui-font-family,system-ui,-apple-system,'Segoe UI',sans-serif);
 font-size:13px;line-height:1.45;min-width:0;max-width:100%}}
.{ROOT} .alloy-trace pre,.{ROOT} .alloy-diff pre{{white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;
 margin:2px 0;padding:4px 6px;border:0;background:var(--av-code-bg);color:inherit;border-radius:4px;
 font:12px/1.4 var(--jp-code-font-family,ui-monospace,Menlo,Consolas,monospace)}}
.{ROOT} .alloy-trace{{border:1px solid var(--av-line);border-radius:6px;padding:8px 10px;margin:4px 0;min-width:0}}
.{ROOT} .av-muted{{color:var(--av-muted)}}
.{ROOT} .av-error{{color:var(--av-error)}}
.{ROOT} .av-note{{color:var(--av-muted);font-style:italic}}
.{ROOT} details>summary{{cursor:pointer;color:var(--av-muted)}}
.{ROOT} .at-finalize,.{ROOT} .at-tl-fin{{color:var(--av-special);border:1px solid currentColor;border-radius:8px;
 padding:0 5px;margin-left:6px;font-size:11px;font-weight:600;white-space:nowrap}}
"""

_TRACE = f"""
.{ROOT} .at-head{{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline;margin-bottom:6px}}
.{ROOT} .at-model{{font-weight:600;font-size:14px;overflow-wrap:anywhere}}
.{ROOT} .alloy-trace .av-error{{font-weight:600}}
.{ROOT} .at-key{{color:var(--av-muted);margin-right:3px}}
.{ROOT} .at-status{{padding:0 6px;border-radius:8px;border:1px solid currentColor;font-weight:600}}
.{ROOT} .at-status-ok{{color:var(--av-ok);background:color-mix(in srgb,var(--av-ok) 12%,transparent)}}
.{ROOT} .at-status-error{{color:var(--av-error);background:color-mix(in srgb,var(--av-error) 12%,transparent)}}
.{ROOT} .at-status-interrupted{{color:var(--av-warn);background:color-mix(in srgb,var(--av-warn) 12%,transparent)}}
.{ROOT} .at-status-running{{color:var(--av-muted)}}
.{ROOT} .at-turn{{border-top:1px solid var(--av-line);padding-top:4px;margin-top:6px}}
.{ROOT} .at-turn-title{{font-weight:600;margin:2px 0}}
.{ROOT} .at-msg,.{ROOT} .at-response,.{ROOT} .at-tool,.{ROOT} .at-retry{{margin:4px 0 4px 4px;padding-left:8px;
 border-left:3px solid var(--av-neutral)}}
.{ROOT} .at-badge{{display:inline-block;min-width:64px;font-weight:600;font-size:11px;text-transform:uppercase}}
.{ROOT} .at-role-user{{border-left-color:var(--av-accent)}}
.{ROOT} .at-role-assistant{{border-left-color:var(--av-ok)}}
.{ROOT} .at-role-tool{{border-left-color:var(--av-warn)}}
.{ROOT} .at-response{{border-left-color:var(--av-info);background:color-mix(in srgb,var(--av-info) 6%,transparent)}}
.{ROOT} .at-tool{{border-left-color:var(--av-warn);background:color-mix(in srgb,var(--av-warn) 6%,transparent)}}
.{ROOT} .at-retry{{border-left:3px dashed var(--av-error)}}
.{ROOT} .at-field{{color:var(--av-muted);font-family:var(--jp-code-font-family,ui-monospace,Menlo,Consolas,monospace);
 margin-right:4px}}
.{ROOT} .at-meta,.{ROOT} .at-omitted{{color:var(--av-muted);font-size:12px}}
.{ROOT} .at-images{{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:6px}}
.{ROOT} .at-image{{display:flex;align-items:center;gap:4px}}
.{ROOT} .at-thumb{{max-width:96px;max-height:96px;border-radius:3px;border:1px solid var(--av-line)}}
.{ROOT} .at-outcome{{border-top:1px solid var(--av-line);margin-top:6px;padding-top:4px}}
"""

_TIMELINE = f"""
.{ROOT} .at-tl{{margin:4px 0 8px}}
.{ROOT} .at-tl-title{{font-weight:600;font-size:12px;color:var(--av-muted);margin-bottom:2px}}
.{ROOT} .at-tl-grid{{display:grid;grid-template-columns:minmax(3em,10em) minmax(12em,1fr) minmax(0,20em);
 column-gap:8px;align-items:center}}
.{ROOT} .at-tl-batch .at-tl-grid{{grid-template-columns:minmax(4em,16em) minmax(12em,1fr) minmax(0,20em)}}
.{ROOT} .at-tl-row{{display:contents}}
.{ROOT} .at-tl-label{{min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:12px;
 line-height:18px}}
.{ROOT} .at-tl-track{{position:relative;height:14px;border-right:1px solid var(--av-faint-line);
 background:linear-gradient(to right,var(--av-faint-line) 1px,transparent 1px) 0 0/25% 100%}}
.{ROOT} .at-tl-note{{min-width:0;font-size:11px;color:var(--av-muted);white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis}}
.{ROOT} .at-tl-bar{{position:absolute;top:2px;bottom:2px;min-width:2px;border-radius:2px}}
.{ROOT} .at-tl-wait{{background:color-mix(in srgb,var(--av-neutral) 50%,transparent)}}
.{ROOT} .at-tl-thinking{{background:color-mix(in srgb,var(--av-special) 65%,transparent)}}
.{ROOT} .at-tl-generation{{background:color-mix(in srgb,var(--av-info) 75%,transparent)}}
.{ROOT} .at-tl-tool{{background:color-mix(in srgb,var(--av-warn) 75%,transparent)}}
.{ROOT} .at-tl-retry{{background:repeating-linear-gradient(45deg,color-mix(in srgb,var(--av-error) 60%,transparent) 0 3px,
 transparent 3px 6px)}}
.{ROOT} .at-tl-failed{{box-shadow:inset 0 0 0 1px var(--av-error)}}
.{ROOT} .at-tl-tip{{display:none;position:absolute;top:100%;left:0;z-index:10;margin-top:2px;padding:2px 6px;
 max-width:32em;width:max-content;font-size:11px;white-space:pre-wrap;border:1px solid var(--av-line);
 border-radius:4px;background:var(--av-surface);color:var(--av-text)}}
.{ROOT} .at-tl-bar:hover .at-tl-tip{{display:block}}
.{ROOT} .at-tl-right .at-tl-tip{{left:auto;right:0}}
.{ROOT} .at-tl-axis .at-tl-track{{background:none;border:0;height:14px}}
.{ROOT} .at-tl-tick{{position:absolute;font-size:10px;color:var(--av-muted);transform:translateX(-50%);white-space:nowrap}}
.{ROOT} .at-tl-tick-first{{transform:none}}
.{ROOT} .at-tl-tick-last{{transform:translateX(-100%)}}
.{ROOT} .at-tl-legend{{display:flex;flex-wrap:wrap;gap:2px 12px;font-size:11px;color:var(--av-muted);margin-top:2px}}
.{ROOT} .at-tl-swatch{{display:inline-block;position:relative;width:14px;height:10px;border-radius:2px;
 margin-right:4px;vertical-align:-1px}}
.{ROOT} .at-tl-empty,.{ROOT} .at-tl-more{{color:var(--av-muted);font-style:italic;font-size:12px}}
"""

_COMPARE = f"""
.{ROOT} .alloy-compare{{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26em),1fr));gap:10px}}
.{ROOT} .alloy-compare-live{{grid-template-columns:repeat(auto-fit,minmax(min(100%,22em),1fr))}}
.{ROOT} .alloy-compare-col{{min-width:0}}
.{ROOT} .alloy-compare-title{{margin:2px 0;font-weight:600;font-size:14px;overflow-wrap:anywhere}}
.{ROOT} .av-live-text{{white-space:pre-wrap;overflow-wrap:anywhere}}
"""

_DIFF = f"""
.{ROOT} .alloy-diff{{margin-top:6px}}
.{ROOT} .av-added{{background:var(--av-ok-tint)}}
.{ROOT} .av-removed{{background:var(--av-error-tint)}}
"""

_TABLE = f"""
.{ROOT} .av-scroll{{max-width:100%;overflow-x:auto}}
.{ROOT} .av-table{{border-collapse:collapse;margin:4px 0;font-size:12px;table-layout:auto}}
.{ROOT} .av-table th,.{ROOT} .av-table td{{text-align:left;vertical-align:top;padding:2px 8px 2px 0;border:0;
 border-bottom:1px solid var(--av-faint-line);color:inherit;line-height:1.4;white-space:normal;overflow-wrap:normal}}
.{ROOT} .av-table th{{font-weight:600;white-space:nowrap}}
.{ROOT} .av-table .av-text{{overflow-wrap:anywhere;min-width:5em}}
.{ROOT} .av-table .av-time{{min-width:6.5em}}
.{ROOT} .av-table .av-number{{text-align:right;white-space:nowrap}}
.{ROOT} .av-table tr.av-failed{{background:var(--av-error-tint)}}
.{ROOT} .av-table tr.av-failed .av-failed-text{{color:var(--av-error)}}
.{ROOT} .av-table tr.av-cause td{{border-bottom:0;padding-bottom:0;font-weight:600}}
.{ROOT} .av-table .av-cut{{display:block;color:var(--av-warn);font-size:11px;font-weight:600;overflow-wrap:normal}}
"""

_BADGES = f"""
.{ROOT} .av-badge{{display:inline-block;border:1px solid var(--av-line);border-radius:8px;padding:0 6px;
 margin:0 4px 2px 0;font-size:12px}}
.{ROOT} .av-facts th{{text-align:left;padding-right:12px;font-weight:600}}
.{ROOT} .av-facts td{{text-align:left}}
"""

# Pygments' short token classes (`pygments.token.STANDARD_TYPES`) by the palette's code colour; a class
# not named here (plain names, punctuation) keeps the text colour.
_TOKEN_COLOURS = {
    "code-keyword": "k kc kd kn kp kr kt ow",
    "code-string": "s sa sb sc dl sd s2 se sh si sx sr s1 ss",
    "code-comment": "c ch cm cpf c1 cs",
    "code-number": "m mb mf mh mi il mo",
    "code-definition": "nf fm nc nn ne",
    "code-builtin": "nb bp",
    "code-operator": "o",
    "code-meta": "nd cp",
    "code-property": "na nt py",
    "ok": "gi",
    "error": "gd gr gt",
    "muted": "gp go",
}


def _token_rules() -> str:
    def selectors(classes: str) -> str:
        return ",".join(f".{ROOT} .{TOKEN_PREFIX}{name}" for name in classes.split())

    colours = "".join(f"{selectors(classes)}{{color:var(--av-{role})}}\n" for role, classes in _TOKEN_COLOURS.items())
    return (
        colours
        + f"{selectors('c ch cm cpf c1 cs ge')}{{font-style:italic}}\n"
        + f"{selectors('gh gu gs kd')}{{font-weight:600}}\n"
    )


_REPLY = f"""
.{ROOT} .alloy-thinking>summary{{color:var(--av-muted)}}
.{ROOT} .av-thought{{white-space:pre-wrap;color:var(--av-muted);font-size:90%}}
.{ROOT} .av-frame{{width:100%;border:0}}
.{ROOT} .av-markdown{{font-family:var(--jp-content-font-family,inherit);font-size:var(--jp-content-font-size1,inherit);
 line-height:var(--jp-content-line-height,inherit)}}
.{ROOT} .av-value pre{{white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;margin:4px 0;padding:4px 6px;border:0;
 background:var(--av-code-bg);color:inherit;border-radius:4px;
 font:12px/1.4 var(--jp-code-font-family,ui-monospace,Menlo,Consolas,monospace)}}
.{ROOT} .av-value pre code{{background:none;padding:0;color:inherit;font:inherit}}
.{ROOT} .av-value details{{margin:2px 0}}
.{ROOT} .av-markdown pre{{margin-bottom:1em}}
{_token_rules()}"""


def _band_rules() -> str:
    """Each probability band's tint and text (`av-p1`…), the dark theme's where the page says it is dark."""
    bands = "".join(
        f".{ROOT} .av-p{number}{{background:var(--av-token-p{number});color:var(--av-token-p{number}-text)}}\n"
        for number in range(1, len(TOKEN_TINTS["light"]) + 1)
    )
    dark = ",".join(f"{theme} .{ROOT}" for theme in DARK_THEMES)
    return f"{bands}{dark}{{{dark_token_properties()}}}"


_TOKENS = f"""
.{ROOT} .av-tokens{{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0;line-height:1.7;
 font:12px/1.7 var(--jp-code-font-family,ui-monospace,Menlo,Consolas,monospace)}}
.{ROOT} .av-tok{{border-radius:3px;padding:1px 0;box-shadow:inset 0 -1px 0 var(--av-faint-line)}}
{_band_rules()}
.{ROOT} .av-token-key{{display:flex;flex-wrap:wrap;align-items:baseline;gap:2px 6px;margin:2px 0 4px;font-size:11px;
 color:var(--av-muted)}}
.{ROOT} .av-key{{border-radius:3px;padding:0 6px;white-space:nowrap}}
.{ROOT} .av-prompt{{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0;padding:4px 6px;border:0;
 background:var(--av-code-bg);color:inherit;border-radius:4px;
 font:12px/1.4 var(--jp-code-font-family,ui-monospace,Menlo,Consolas,monospace)}}
"""

# `%alloy help` (`_views/help.py`): each line wraps at spaces only (printed text would take
# JupyterLab's `word-break: break-all`), hanging `av-hang-N` characters in (a rule per N the body uses);
# an `av-word` (`--max-tokens`, `[-m MODEL]`) is never broken, not even at its hyphen.
_HELP = f"""
.{ROOT} .av-help{{font:var(--jp-code-font-size,13px)/1.45 var(--jp-code-font-family,ui-monospace,Menlo,Consolas,monospace)}}
.{ROOT} .av-help>div{{white-space:pre-wrap;word-break:normal;overflow-wrap:break-word}}
.{ROOT} .av-help .av-word{{white-space:pre}}
"""

RULES: dict[Group, str] = {
    "trace": _TRACE,
    "timeline": _TIMELINE,
    "compare": _COMPARE,
    "diff": _DIFF,
    "table": _TABLE,
    "badges": _BADGES,
    "reply": _REPLY,
    "tokens": _TOKENS,
    "help": _HELP,
}
_POSITION = re.compile(r"\bat-tl-([xw])(\d{1,4})\b")
_HANG = re.compile(r"\bav-hang-(\d{1,2})\b")


def stylesheet(*groups: Group, body: str = "") -> str:
    """The palette and base rules, each group's rules once, and a rule for each timeline position
    class (`at-tl-x125`: left 12.5%, `at-tl-w40`: width 4%) and help line indent (`av-hang-18`) that
    `body` uses."""
    rules = [_BASE, *(RULES[group] for group in dict.fromkeys(groups))]
    if "timeline" in groups:
        rules.append(_position_rules(body))
    if "help" in groups:
        rules.append(_hang_rules(body))
    return "".join(line.strip() for part in rules for line in part.splitlines())


def page(body: str, *groups: Group) -> str:
    """One output: `body` under the root element, with its stylesheet (see `stylesheet`)."""
    return f'<div class="{ROOT}"><style>{stylesheet(*groups, body=body)}</style>{body}</div>'


def _position_rules(body: str) -> str:
    used = sorted({(axis, int(permille)) for axis, permille in _POSITION.findall(body) if int(permille) <= 1000})
    names = {"x": "left", "w": "width"}
    return "".join(f".{ROOT} .at-tl-{axis}{permille}{{{names[axis]}:{permille / 10:g}%}}" for axis, permille in used)


def _hang_rules(body: str) -> str:
    """Each `av-hang-N`: the line's first row from the left edge, the rows it wraps onto N characters in."""
    used = sorted({int(width) for width in _HANG.findall(body)})
    return "".join(f".{ROOT} .av-help .av-hang-{n}{{padding-left:{n}ch;text-indent:-{n}ch}}" for n in used)
