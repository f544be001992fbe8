"""One sequence's sampling: Ollama options -> a llama.cpp sampler chain, stop strings, UTF-8 pieces.

The chain follows llama-cpp-python's high-level `Llama` (penalties, then the grammar, then greedy at
temperature 0 or top-k, top-p, min-p, temperature and a seeded draw), so a slot samples as a direct
`create_chat_completion` would, at less cost: a top-k cut that cannot change the result goes ahead
of the penalties, and the grammar judges the chain's pick before it is run over the whole
vocabulary (see `SlotSampler`). Each slot owns its samplers: grammars and penalties never mix
between the sequences of one batch.
"""

from __future__ import annotations

import codecs
import ctypes
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alloy_nb.server.engines import EngineError

DEFAULTS = {"temperature": 0.2, "top_p": 0.95, "top_k": 40, "repeat_penalty": 1.1}
MIN_P = 0.05  # llama-cpp-python's default, kept so the embedded model samples as it always has
PENALTY_LAST_N = 64
PREFIX = 1024  # tokens a grammar judges before the whole vocabulary, when it refused the first pick
RANDOM_SEED = 0xFFFFFFFF  # llama.cpp draws a seed of its own


@dataclass(frozen=True)
class Sampling:
    """How one request samples: Ollama's option names, read once."""

    temperature: float = DEFAULTS["temperature"]
    top_k: int = int(DEFAULTS["top_k"])
    top_p: float = DEFAULTS["top_p"]
    min_p: float = MIN_P
    repeat_penalty: float = DEFAULTS["repeat_penalty"]
    seed: int = RANDOM_SEED
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    grammar: str | None = None  # GBNF with a `root` rule

    @classmethod
    def from_options(cls, options: Mapping[str, Any], grammar: str | None = None) -> Sampling:
        """`temperature`, `top_k`, `top_p`, `min_p`, `repeat_penalty`, `seed`, `num_predict` and `stop`.

        >>> Sampling.from_options({"temperature": 0, "num_predict": -1, "stop": "END", "seed": 7})
        Sampling(temperature=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1, seed=7, max_tokens=None, stop=('END',), grammar=None)
        """
        predict = options.get("num_predict")
        stop = options.get("stop") or ()
        seed = options.get("seed")
        penalty = float(options.get("repeat_penalty", DEFAULTS["repeat_penalty"]))
        if not penalty > 0:  # a zero or negative penalty turns a grammar's forbidden tokens into the likeliest
            raise EngineError(400, f"repeat_penalty must be above 0, not {penalty:g} (1 is no penalty)")
        return cls(
            temperature=float(options.get("temperature", DEFAULTS["temperature"])),
            top_k=int(options.get("top_k", DEFAULTS["top_k"])),
            top_p=float(options.get("top_p", DEFAULTS["top_p"])),
            min_p=float(options.get("min_p", MIN_P)),
            repeat_penalty=penalty,
            seed=int(seed) & 0xFFFFFFFF if seed is not None else RANDOM_SEED,
            max_tokens=int(predict) if predict is not None and int(predict) >= 0 else None,
            stop=(stop,) if isinstance(stop, str) else tuple(str(s) for s in stop if s),
            grammar=grammar,
        )


class SlotSampler:
    """One slot's sampling: the chain for its options, and its grammar checked against one token.

    A grammar is costly over the whole vocabulary: about 8 ms a token for a JSON schema over
    SmolLM2's 49,152 tokens here, longer than decoding the token. So, as llama.cpp's own server does,
    the chain first picks a token without the grammar and the grammar judges that one token. When it
    refuses, the grammar judges the best PREFIX tokens by logit, and the chain picks among those it
    accepts if that cannot change the result (see `_Prefix`); only otherwise is it applied to every
    token. Greedy decoding picks the same token every way. Free it with `close`.
    """

    def __init__(self, vocab: Any, sampling: Sampling) -> None:
        import llama_cpp as lc

        self._lc = lc
        n_vocab = lc.llama_vocab_n_tokens(vocab)
        self.chain = _chain(sampling, n_vocab)
        self.grammar = None
        if sampling.grammar is not None:
            self.grammar = lc.llama_sampler_init_grammar(vocab, sampling.grammar.encode(), b"root")
            if not self.grammar:
                lc.llama_sampler_free(self.chain)
                raise EngineError(
                    400,
                    "invalid JSON schema: llama.cpp cannot compile the grammar made from this request's schema "
                    "(the server log says why); simplify the schema: fewer optional parts, smaller counts",
                )
            self._candidates = _Candidates(lc, n_vocab)
            self._one = _Candidates(lc, 1)
            self._recent: deque[int] = deque(maxlen=PENALTY_LAST_N if sampling.repeat_penalty > 1 else 0)
            self._needed = 1 if sampling.temperature <= 0 else sampling.top_k
            prefix = max(PREFIX, self._needed + PENALTY_LAST_N)
            usable = sampling.repeat_penalty >= 1 and self._needed > 0 and prefix < n_vocab
            self._prefix = _Prefix(lc, prefix) if usable else None

    def sample(self, ctx: Any, index: int) -> int:
        """The next token from the logits of batch position `index`, accepted by the samplers."""
        if self.grammar is None:
            return int(self._lc.llama_sampler_sample(self.chain, ctx, index))
        return self.choose(self._lc.llama_get_logits_ith(ctx, index))

    def choose(self, logits: Any) -> int:
        """The next token from `logits` (a pointer to one float per token), accepted by the samplers;
        for a sampler with a grammar (without one, `sample` leaves it all to llama.cpp)."""
        lc = self._lc
        token = self._candidates.choose(self.chain, logits)
        if not self._one.allows(self.grammar, token):
            token = self._refused(logits)
        lc.llama_sampler_accept(self.grammar, token)
        lc.llama_sampler_accept(self.chain, token)
        self._recent.append(token)
        return token

    def _refused(self, logits: Any) -> int:
        """The chain's pick among the tokens the grammar accepts, after it refused the first pick."""
        lc, prefix = self._lc, self._prefix
        if prefix is not None:
            prefix.fill_best(self._candidates.logits(logits))
            lc.llama_sampler_apply(self.grammar, prefix.ref)
            if prefix.unpenalized_accepted(self._recent) >= self._needed:
                return prefix.choose(self.chain)
        self._candidates.fill(logits)
        lc.llama_sampler_apply(self.grammar, self._candidates.ref)
        return self._candidates.choose(self.chain)

    def close(self) -> None:
        self._lc.llama_sampler_free(self.chain)
        if self.grammar is not None:
            self._lc.llama_sampler_free(self.grammar)


class _Candidates:
    """A llama.cpp candidate array (token, logit, probability) over numpy, refilled per token."""

    def __init__(self, lc: Any, size: int) -> None:
        import numpy as np

        self._np = np
        self._data = (lc.llama_token_data * size)()
        self._view = np.ctypeslib.as_array(self._data)
        self._ids = np.arange(size, dtype=np.int32)
        self._array = lc.llama_token_data_array(data=self._data, size=size, selected=-1, sorted=False)
        self.ref = ctypes.byref(self._array)
        self._lc = lc

    def fill(self, logits: Any) -> None:
        """Every token with its logit from `logits` (a float pointer), unsorted, none selected."""
        self._view["id"] = self._ids
        self._view["logit"] = self.logits(logits)
        self._reset(len(self._ids))

    def logits(self, logits: Any) -> Any:
        """`logits` (a float pointer to one logit per token) as a numpy array, not copied."""
        return self._np.ctypeslib.as_array(logits, shape=(len(self._ids),))

    def _reset(self, size: int) -> None:
        self._view["p"][:size] = 0.0
        self._array.size, self._array.selected, self._array.sorted = size, -1, False

    def choose(self, chain: Any, logits: Any = None) -> int:
        """The token `chain` selects, from `logits` when given (else from the candidates as they are)."""
        if logits is not None:
            self.fill(logits)
        self._lc.llama_sampler_apply(chain, self.ref)
        return int(self._data[self._array.selected].id)

    def allows(self, grammar: Any, token: int) -> bool:
        """Whether `grammar` lets `token` come next (a one-candidate array)."""
        self._data[0].id, self._data[0].logit, self._data[0].p = token, 1.0, 0.0
        self._array.size, self._array.selected, self._array.sorted = 1, -1, False
        self._lc.llama_sampler_apply(grammar, self.ref)
        return bool(self._data[0].logit != -math.inf)


class _Prefix(_Candidates):
    """The best tokens by logit, to judge with a grammar before the whole vocabulary.

    The chain's pick among the accepted tokens of this prefix is its pick among all accepted tokens
    when at least `needed` of them (1 for greedy, else top-k) are free of repeat penalties: each of
    those keeps a logit at least that of any token outside the prefix, whose logit a penalty can only
    lower, so the chain's top-k holds no outside token.
    """

    def fill_best(self, values: Any) -> None:
        """The tokens with the highest of `values` (a numpy array of every token's logit)."""
        np, size = self._np, len(self._ids)
        best = np.argpartition(values, -size)[-size:]
        self._view["id"], self._view["logit"] = best, values[best]
        self._reset(size)

    def unpenalized_accepted(self, recent: Iterable[int]) -> int:
        """How many tokens the grammar left (finite logit) that are not among the `recent` ones."""
        np = self._np
        kept = self._view["id"][self._view["logit"] != -math.inf]
        return int(np.count_nonzero(~np.isin(kept, list(recent)))) if len(kept) else 0


def _chain(sampling: Sampling, n_vocab: int) -> Any:
    """The llama.cpp sampler chain for `sampling`, without its grammar.

    Repeat penalties only lower logits and touch at most PENALTY_LAST_N tokens, so the tokens they can
    leave on top are among the best `top_k + PENALTY_LAST_N` (one, for greedy) before them: a top-k cut
    ahead of them gives the same result at a fraction of the cost over the whole vocabulary.
    """
    import llama_cpp as lc

    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    greedy = sampling.temperature <= 0
    links = []
    if sampling.repeat_penalty >= 1 and (greedy or sampling.top_k > 0):
        links.append(lc.llama_sampler_init_top_k((1 if greedy else sampling.top_k) + PENALTY_LAST_N))
    links.append(lc.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, sampling.repeat_penalty, 0.0, 0.0))
    if greedy:
        links.append(lc.llama_sampler_init_greedy())
    else:
        links += [
            lc.llama_sampler_init_top_k(sampling.top_k),
            lc.llama_sampler_init_typical(1.0, 1),
            lc.llama_sampler_init_top_p(sampling.top_p, 1),
            lc.llama_sampler_init_min_p(sampling.min_p, 1),
            lc.llama_sampler_init_temp(sampling.temperature),
            lc.llama_sampler_init_dist(sampling.seed),
        ]
    for link in links:
        lc.llama_sampler_chain_add(chain, link)
    return chain


class TextOut:
    """Token bytes -> text to send: whole UTF-8 characters only, and nothing of a stop string.

    Text that could be the start of a stop string is held back until the next piece tells;
    the work per piece is bounded by the longest stop string, not by the text so far.

    >>> out = TextOut(["</s>"])
    >>> out.feed(b"Hi </"), out.feed(b"s> more"), out.stopped
    ('Hi ', '', True)
    >>> out = TextOut([])
    >>> out.feed(b"caf\\xc3"), out.feed(b"\\xa9"), out.flush()
    ('caf', '\\xe9', '')
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""
        self.stopped = False

    def feed(self, data: bytes) -> str:
        """The text that is safe to send after `data`; sets `stopped` at a stop string, after which
        nothing more is sent."""
        if self.stopped:
            return ""
        text = self._held + self._decoder.decode(data)
        if not self._stops:
            self._held = ""
            return text
        for stop in self._stops:
            at = text.find(stop)
            if at >= 0:
                self.stopped, self._held = True, ""
                return text[:at]
        keep = max((_overlap(text, stop) for stop in self._stops), default=0)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """What is left at the end of the reply (held text that turned out not to be a stop)."""
        text, self._held = self._held + self._decoder.decode(b"", final=True), ""
        return "" if self.stopped else text


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that begins `stop`."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if stop.startswith(text[-size:]):
            return size
    return 0
