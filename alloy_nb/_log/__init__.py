"""The SQLite call log: every finished call as a row, searchable (`search`, `get`, `alloy-nb logs`),
old calls deleted with `prune`."""

from ..errors import AlloyLogWarning, CallNotFound
from .logged import LoggedCall
from .store import default_path, get, prune, search
from .writer import LogWriter

__all__ = ["AlloyLogWarning", "CallNotFound", "LogWriter", "LoggedCall", "default_path", "get", "prune", "search"]
