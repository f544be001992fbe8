"""One slot of the continuous batch (see `llama_slots`): a sequence of the context, the tokens its
memory holds, and the job decoding in it."""

from __future__ import annotations

from dataclasses import dataclass, field

from alloy_nb.server.llama_jobs import Job
from alloy_nb.server.llama_logprobs import TokenTrail
from alloy_nb.server.llama_sampling import SlotSampler, TextOut


@dataclass(eq=False)
class Slot:
    """One sequence of the context: the tokens its memory holds and the job using it, if any."""

    seq: int
    cached: list[int] = field(default_factory=list)
    last_used_ns: int = 0
    job: Job | None = None
    prompt: list[int] = field(default_factory=list)
    sampler: SlotSampler | None = None
    out: TextOut | None = None
    trail: TokenTrail | None = None  # when the job asked for log probabilities
    next_token: int | None = None  # sampled, not yet decoded
    generated: int = 0
    reused: int = 0  # prompt tokens found in the slot's memory
    load_ns: int = 0
    started_ns: int = 0
    first_ns: int = 0
    batch_index: int = -1

    @property
    def generating(self) -> bool:
        return self.next_token is not None
