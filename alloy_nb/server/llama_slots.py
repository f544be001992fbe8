"""Continuous batching on llama.cpp: several sequences decoded together, one token each per step.

One worker thread owns the llama.cpp model and context. The context has one sequence per slot
(``parallel`` of them, each with ``n_ctx`` tokens of its own); every step puts into one
``llama_batch`` the next token of each generating slot and a chunk of each new prompt, calls
``llama_decode`` once, and samples every slot that needs a token with that slot's own sampler chain.
Requests join between steps and wait in a bounded queue while all slots are busy. A slot keeps its
sequence after a reply, so the next request that starts with the same tokens (a tool loop's
follow-up) only evaluates what is new; a request that starts like another slot's memory (the
requests of a batch share their system prompt and instructions) starts from a copy of it.

Jobs talk back through ``emit``: text deltas (with their tokens' log probabilities, when asked),
then a ``Finish`` or an exception. Cancelling a job (its client went away) frees its slot at the
next step. An `EmbedJob` takes no slot: the worker reads one chunk of its texts after each step
(see `llama_embed`), one embedding job at a time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import llama_cpp as lc

from alloy_nb.server.engine_events import Finish, TextDelta, TokenLogprob
from alloy_nb.server.engines import EngineError
from alloy_nb.server.llama_embed import EmbedWork
from alloy_nb.server.llama_jobs import BUSY, MAX_QUEUE, EmbedJob, Job
from alloy_nb.server.llama_loaded import BATCH_TOKENS, LoadedModel
from alloy_nb.server.llama_logprobs import TokenTrail, token_logprob
from alloy_nb.server.llama_sampling import SlotSampler, TextOut
from alloy_nb.server.llama_slot import Slot

PROMPT_CHUNK = 64  # prompt tokens per slot per step while other slots generate: they never wait long
COPY_WORTH = 16  # prompt tokens worth a copy of a slot's memory: copying costs ~17 ms, evaluating ~1.8 ms a token
TRUNCATED_ROOM = 20  # a prompt too long for a slot keeps the last (1 - 1/20) of it, leaving room to reply


class SlotDecoder:
    """Runs jobs on `parallel` slots of one loaded model, loading another model when asked."""

    def __init__(self, parallel: int, threads: int, max_queue: int = MAX_QUEUE) -> None:
        self.parallel = parallel
        self._threads = threads
        self._max_queue = max_queue
        self._cond = threading.Condition()
        self._pending: deque[Job | EmbedJob] = deque()
        self._closed = False
        self._slots = [Slot(seq) for seq in range(parallel)]
        self._embedding: EmbedWork | None = None
        self._loaded: LoadedModel | None = None
        self._worker: threading.Thread | None = None

    def submit(self, job: Job | EmbedJob) -> None:
        """Queue `job`; raises a 503 `EngineError` when the queue is full."""
        with self._cond:
            if self._closed:
                raise EngineError(503, "the server is shutting down")
            if len(self._pending) >= self._max_queue:
                raise EngineError(503, BUSY)
            self._pending.append(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="alloy-nb-decoder", daemon=True)
                self._worker.start()
            self._cond.notify()

    def cancel(self, job: Job | EmbedJob) -> None:
        """Stop `job`: out of the queue now, out of its slot (or the worker's turns) at the next step."""
        with self._cond:
            job.cancelled = True
            if job in self._pending:
                self._pending.remove(job)
            self._cond.notify()

    def context_per_slot(self, path: Path) -> int | None:
        """The context each slot has when `path` is the loaded model, else None."""
        loaded = self._loaded
        return loaded.n_ctx_seq if loaded is not None and loaded.key[0] == path else None

    def active(self) -> int:
        """Slots generating or reading a prompt right now."""
        return sum(slot.job is not None for slot in self._slots)

    def embedding(self) -> bool:
        """Whether an embedding job is being read right now."""
        return self._embedding is not None

    def queued(self) -> int:
        """Requests waiting for a slot."""
        with self._cond:
            return len(self._pending)

    def close(self) -> None:
        """Stop the worker and free the model; queued jobs are refused."""
        with self._cond:
            self._closed = True
            refused, self._pending = list(self._pending), deque()
            self._cond.notify()
        for job in refused:
            job.emit(EngineError(503, "the server is shutting down"))
        if self._worker is not None:
            self._worker.join()
        elif self._loaded is not None:
            self._loaded.free()

    # --- the worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (starting := self._wait_for_work()) is not None:
                try:
                    self._round(starting)
                except Exception as error:  # the round's jobs fail with it; the worker serves the next ones
                    self._fail_all(EngineError(500, f"the model server failed: {type(error).__name__}: {error}"))
        finally:
            for slot in self._slots:
                self._release(slot)
            self._embedding = None
            if self._loaded is not None:
                self._loaded.free()
                self._loaded = None

    def _round(self, starting: list[Job | EmbedJob]) -> None:
        """Start the jobs admitted now, then one step of every busy slot and of the embedding job."""
        for job in starting:
            if isinstance(job, EmbedJob):
                self._start_embedding(job)
            else:
                self._start(job)
        if any(slot.job is not None for slot in self._slots):
            self._step()
        if self._embedding is not None:
            self._embed_step(self._embedding)

    def _fail_all(self, error: EngineError) -> None:
        """Fail every job under way (their slots' memory cleared: a failed step may have left it half written)."""
        for slot in self._slots:
            if slot.job is not None:
                self._fail(slot, error)
        if self._embedding is not None:
            self._embedding.job.emit(error)
            self._embedding = None

    def _wait_for_work(self) -> list[Job | EmbedJob] | None:
        """Jobs to start now (possibly none while slots are busy); None once closed."""
        with self._cond:
            while not self._closed:
                busy = sum(slot.job is not None for slot in self._slots)
                if self._pending or busy or self._embedding is not None:
                    return self._admissible(busy)
                self._cond.wait()
            return None

    def _admissible(self, busy: int) -> list[Job | EmbedJob]:
        """Pop the queued jobs that can start, in order: a reply needs a free slot, an embedding job
        the worker's turns (one at a time); both only on the loaded model (a job for another model
        waits until nothing runs, then the model is swapped)."""
        starting: list[Job | EmbedJob] = []
        loaded = self._loaded.key if self._loaded is not None else None
        embedding = self._embedding is not None
        while self._pending:
            job = self._pending[0]
            if (job.model_path, job.n_ctx) != loaded:
                if not busy and not embedding and not starting:  # the swap happens before this job starts
                    starting.append(self._pending.popleft())
                break
            if isinstance(job, EmbedJob) and embedding:
                break
            if isinstance(job, Job) and busy >= self.parallel:
                break
            embedding = embedding or isinstance(job, EmbedJob)
            busy += isinstance(job, Job)
            starting.append(self._pending.popleft())
        return starting

    def _start_embedding(self, job: EmbedJob) -> None:
        try:
            load_ns = self._load(job.model_path, job.n_ctx) if self._needs_load(job.model_path, job.n_ctx) else 0
            assert self._loaded is not None
            self._embedding = EmbedWork(job, self._loaded, load_ns)
        except Exception as error:  # a model that cannot load, or a text too long to embed
            job.emit(error)

    def _embed_step(self, work: EmbedWork) -> None:
        """Read the next chunk of the embedding job's texts: a short one while replies generate."""
        generating = any(slot.job is not None for slot in self._slots)
        try:
            done = work.job.cancelled or work.step(PROMPT_CHUNK if generating else BATCH_TOKENS)
        except Exception as error:
            work.job.emit(error)
            done = True
        if done:
            self._embedding = None

    def _needs_load(self, path: Path, n_ctx: int) -> bool:
        return self._loaded is None or self._loaded.key != (path, n_ctx)

    def _start(self, job: Job) -> None:
        load_ns = 0
        try:
            if self._needs_load(job.model_path, job.n_ctx):
                load_ns = self._load(job.model_path, job.n_ctx)
            assert self._loaded is not None
            if job.load_only:
                job.emit(Finish(load_ns=load_ns))
                return
            prompt = self._fitted(self._loaded.tokenize(job.prompt), job.sampling.max_tokens)
            shares = [(slot, _shared_start(slot.cached, prompt)) for slot in self._slots]
            slot, shared = self._free_slot(shares)
            slot.sampler = SlotSampler(self._loaded.vocab, job.sampling)
        except Exception as error:  # a model that cannot load or a grammar llama.cpp rejects: this job fails
            job.emit(error)
            return
        slot.prompt, slot.job, slot.load_ns = prompt, job, load_ns
        slot.out = TextOut(job.sampling.stop)
        slot.trail = TokenTrail() if job.top_logprobs is not None else None
        slot.started_ns = time.perf_counter_ns()
        self._reuse_cache(slot, self._copy_longer_start(slot, shared, shares))

    def _fitted(self, prompt: list[int], max_tokens: int | None) -> list[int]:
        """`prompt`, or its end when it leaves a slot too little room to reply (as Ollama truncates)."""
        assert self._loaded is not None
        room = max(1, self._loaded.n_ctx_seq // TRUNCATED_ROOM)
        if max_tokens is not None:
            room = max(1, min(room, max_tokens))
        limit = self._loaded.n_ctx_seq - room
        return prompt[-limit:] if len(prompt) > limit else prompt

    def _load(self, path: Path, n_ctx: int) -> int:
        started = time.perf_counter_ns()
        if self._loaded is not None:
            self._loaded.free()
            self._loaded = None
            for slot in self._slots:
                slot.cached = []
        self._loaded = LoadedModel(path, n_ctx, self.parallel, self._threads)
        return time.perf_counter_ns() - started

    def _free_slot(self, shares: list[tuple[Slot, int]]) -> tuple[Slot, int]:
        """The free slot whose memory shares the longest start with the prompt (least recently used on
        a tie), and how many tokens it shares; `shares` pairs every slot with that count."""
        free = [(slot, shared) for slot, shared in shares if slot.job is None]
        return max(free, key=lambda pair: (pair[1], -pair[0].last_used_ns))

    def _copy_longer_start(self, slot: Slot, shared: int, shares: list[tuple[Slot, int]]) -> int:
        """When another slot's memory starts like `slot`'s prompt for COPY_WORTH tokens more than its
        own (the same system prompt and instructions in every request of a batch), copy that memory
        over, which costs less than evaluating the tokens; returns the tokens `slot` now shares."""
        assert self._loaded is not None
        donors = [(other, longer) for other, longer in shares if other is not slot]
        donor, longer = max(donors, key=lambda pair: pair[1], default=(None, 0))
        if donor is None or longer < shared + COPY_WORTH:
            return shared
        memory = self._loaded.memory
        lc.llama_memory_seq_rm(memory, slot.seq, -1, -1)
        lc.llama_memory_seq_cp(memory, donor.seq, slot.seq, -1, -1)  # a whole sequence: llama.cpp copies
        slot.cached = donor.cached[:]  # its buffer at the next decode
        return longer

    def _reuse_cache(self, slot: Slot, shared: int) -> None:
        """Keep the `shared` tokens of the slot's memory; at least the last prompt token is evaluated."""
        assert self._loaded is not None
        keep = min(shared, len(slot.prompt) - 1)
        if not lc.llama_memory_seq_rm(self._loaded.memory, slot.seq, keep, -1):
            lc.llama_memory_seq_rm(self._loaded.memory, slot.seq, -1, -1)
            keep = 0
        slot.cached, slot.reused = slot.prompt[:keep], keep

    def _step(self) -> None:
        """One `llama_decode` for every busy slot, then a token sampled for each slot that needs one."""
        loaded = self._loaded
        assert loaded is not None
        batch, count = loaded.batch, 0
        fed: list[tuple[Slot, list[int]]] = []
        for slot in self._slots:
            if slot.job is not None and slot.job.cancelled:
                self._release(slot)
        busy = [slot for slot in self._slots if slot.job is not None]
        generating = sum(slot.generating for slot in busy)
        chunk = PROMPT_CHUNK if generating else BATCH_TOKENS
        prompt_room = BATCH_TOKENS - generating  # each generating slot's token fits, whichever slot comes first
        for slot in busy:
            if slot.generating:
                tokens = [slot.next_token or 0]
            else:
                tokens = slot.prompt[len(slot.cached) : len(slot.cached) + min(chunk, prompt_room)]
                prompt_room -= len(tokens)
            if not tokens:
                continue
            ends_prompt = slot.generating or len(slot.cached) + len(tokens) == len(slot.prompt)
            start = len(slot.cached)
            for offset, token in enumerate(tokens):
                batch.token[count] = token
                batch.pos[count] = start + offset
                batch.n_seq_id[count] = 1
                batch.seq_id[count][0] = slot.seq
                batch.logits[count] = offset == len(tokens) - 1 and ends_prompt
                count += 1
            slot.batch_index = count - 1 if ends_prompt else -1
            fed.append((slot, tokens))
        if not count:
            return
        batch.n_tokens = count
        status = lc.llama_decode(loaded.ctx, batch)
        if status != 0:
            for slot, _ in fed:
                self._fail(slot, EngineError(500, f"llama.cpp could not decode this batch (status {status})"))
            return
        for slot, tokens in fed:
            slot.cached.extend(tokens)
            if slot.batch_index >= 0:
                self._sample(slot)

    def _sample(self, slot: Slot) -> None:
        loaded, job, out, sampler = self._loaded, slot.job, slot.out, slot.sampler
        assert loaded is not None and job is not None and out is not None and sampler is not None
        token = sampler.sample(loaded.ctx, slot.batch_index)
        now = time.perf_counter_ns()
        slot.first_ns = slot.first_ns or now
        if lc.llama_vocab_is_eog(loaded.vocab, token):
            self._finish(slot, "stop")
            return
        slot.generated += 1
        piece = loaded.piece(token)
        text = out.feed(piece)
        logprobs: tuple[TokenLogprob, ...] = ()
        if slot.trail is not None and job.top_logprobs is not None:
            slot.trail.add(piece, token_logprob(loaded, slot.batch_index, token, job.top_logprobs))
            logprobs = slot.trail.sent(text)
        if text or logprobs:
            job.emit(TextDelta(text, logprobs))
        if out.stopped:
            self._finish(slot, "stop")
        elif slot.generated == job.sampling.max_tokens or len(slot.cached) + 1 >= loaded.n_ctx_seq:
            self._finish(slot, "length")
        else:
            slot.next_token = token

    def _finish(self, slot: Slot, reason: str) -> None:
        job, out, trail = slot.job, slot.out, slot.trail
        assert job is not None and out is not None
        rest = out.flush()
        logprobs = () if trail is None else trail.sent(rest) + (trail.cut() if out.stopped else ())
        if rest or logprobs:
            job.emit(TextDelta(rest, logprobs))
        end = time.perf_counter_ns()
        first = slot.first_ns or end
        job.emit(
            Finish(
                done_reason=reason,
                prompt_tokens=len(slot.prompt),
                completion_tokens=slot.generated,
                load_ns=slot.load_ns,
                prompt_eval_ns=first - slot.started_ns,
                eval_ns=end - first,
                cached_tokens=slot.reused,
            )
        )
        self._release(slot)

    def _fail(self, slot: Slot, error: BaseException) -> None:
        if slot.job is not None:
            slot.job.emit(error)
        if self._loaded is not None:
            lc.llama_memory_seq_rm(self._loaded.memory, slot.seq, -1, -1)
        slot.cached = []
        self._release(slot)

    def _release(self, slot: Slot) -> None:
        """Free the slot for the next job; its memory stays as a prompt cache."""
        if slot.sampler is not None:
            slot.sampler.close()
        slot.sampler, slot.job, slot.out, slot.trail, slot.next_token = None, None, None, None, None
        slot.generated, slot.reused, slot.first_ns, slot.batch_index = 0, 0, 0, -1
        slot.last_used_ns = time.perf_counter_ns()


def _shared_start(cached: list[int], prompt: list[int]) -> int:
    """How many tokens `cached` and `prompt` have in common from the start."""
    for index, (old, new) in enumerate(zip(cached, prompt, strict=False)):
        if old != new:
            return index
    return min(len(cached), len(prompt))
