"""`%%alloy` prompt interpolation: `{name}` from the user namespace, `{In[n]}`, `{Out[n]}`, `{Err[n]}`."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError


class _Namespace(dict):  # type: ignore[type-arg]
    """Look names up in the notebook's namespace, with `Err` (errors by cell number) on top."""

    def __init__(self, user_ns: Mapping[str, Any], errors: Mapping[int, str]) -> None:
        super().__init__()
        self.user_ns = user_ns
        self.errors = errors

    def __missing__(self, key: str) -> Any:
        if key == "Err":
            return self.errors
        if key in self.user_ns:
            return self.user_ns[key]
        raise UsageError(
            f"{{{key}}} in the prompt is not a name in the notebook. Write {{{{ and }}}} for literal braces."
        )


def interpolate(template: str, user_ns: Mapping[str, Any], errors: Mapping[int, str]) -> str:
    """Fill `{...}` fields like str.format (so `{{`/`}}` escape), with notebook-friendly errors."""
    namespace = _Namespace(user_ns, errors)
    try:
        return string.Formatter().vformat(template, (), namespace)
    except UsageError:
        raise
    except (KeyError, IndexError) as exc:
        raise UsageError(
            f"The prompt refers to {exc} but there is no such cell or entry (In/Out/Err are by cell number)."
        ) from None
    except TypeError:
        raise UsageError(
            "In, Out and Err in a prompt take a cell number, like {In[3]} (not a negative position such as {In[-1]})."
        ) from None
    except (ValueError, AttributeError) as exc:
        raise UsageError(
            f"Cannot fill the prompt's {{...}} fields: {exc}. Write {{{{ and }}}} for literal braces."
        ) from None
