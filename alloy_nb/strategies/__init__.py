"""The adapter: one module per wire API, behind the `ChatStrategy` protocol."""

from .base import ChatStrategy, StreamChunk, ToolCall, Turn, strategy_for
from .transport import capturing

__all__ = ["ChatStrategy", "StreamChunk", "ToolCall", "Turn", "capturing", "strategy_for"]
