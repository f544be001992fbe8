"""The adapter: one module per wire API behind the `ChatStrategy` protocol, chosen by the registry."""

from .base import ChatStrategy, Exchange, Outgoing, SentRequest, StreamChunk, ToolCallPiece, Turn
from .registry import strategy_for

__all__ = [
    "ChatStrategy",
    "Exchange",
    "Outgoing",
    "SentRequest",
    "StreamChunk",
    "ToolCallPiece",
    "Turn",
    "strategy_for",
]
