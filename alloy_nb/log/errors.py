"""What the call log raises and warns: `CallNotFound` (a `KeyError`) and `AlloyLogWarning`."""

from __future__ import annotations


class AlloyLogWarning(UserWarning):
    """The call log could not be written; calls go on without it."""


class CallNotFound(KeyError):
    """No logged call has the id asked for, or several start with it."""

    def __str__(self) -> str:  # KeyError's own str() shows the message's repr, quotes and escapes included
        return str(self.args[0]) if self.args else super().__str__()
