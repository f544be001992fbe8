"""Rewrite README.md's settings table from `alloy_nb._config.Config`: `.venv/bin/python scripts/settings_table.py`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from alloy_nb._config import settings_table_markdown

README = Path(__file__).parents[1] / "README.md"
SECTION = re.compile(r"(<!-- settings:start -->\n).*?(<!-- settings:end -->)", re.S)


def main() -> int:
    text = README.read_text()
    if not SECTION.search(text):
        print(f"{README} has no <!-- settings:start --> ... <!-- settings:end --> section.", file=sys.stderr)
        return 1
    README.write_text(SECTION.sub(lambda match: match[1] + settings_table_markdown() + match[2], text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
