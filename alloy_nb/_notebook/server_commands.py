"""`%alloy serve`, `%alloy stop` and `%alloy pull`: the embedded server and models on the host."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from .magic_flags import parse_flags
from .magics_state import MagicsState


class ServerCommands(MagicsState):
    """Start and stop the embedded server from the notebook, and pull models."""

    @magic_arguments("alloy serve")
    @argument(
        "--engine",
        choices=("llama", "scripted"),
        help="llama (the embedded model, default when installed) or scripted (a demo model)",
    )
    @argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH.gguf",
        help="also serve this GGUF file as NAME (llama engine; repeatable)",
    )
    def _cmd_serve(self, rest: str) -> None:
        """Start the embedded Ollama-compatible server and use it (run this first without Ollama)."""
        from .. import _config as alloy_config
        from .._local import start_local_server

        args = parse_flags(self._cmd_serve, rest)
        if self.local_server is not None:
            if self.local_server.is_running():
                print(f"The embedded server is already running at {self.local_server.url}.")
                return
            print(f"The embedded server at {self.local_server.url} has stopped; starting a new one.")
            self.local_server.stop()
        else:
            self._host_before_serve = alloy_config.configured().get("host")
        self.local_server = start_local_server(reuse=False, engine=args.engine, models=gguf_models(args.model))
        print(f"Embedded server running at {self.local_server.url}; alloy_nb now uses it. %alloy stop stops it.")

    @magic_arguments("alloy stop")
    def _cmd_stop(self, rest: str) -> None:
        """Stop the server %alloy serve started and go back to the host used before."""
        from .. import _config as alloy_config

        parse_flags(self._cmd_stop, rest)
        if self.local_server is None:
            print("No embedded server was started with %alloy serve.")
            return
        self.local_server.stop()
        print(f"Stopped the embedded server at {self.local_server.url}.")
        self.local_server = None
        if self._host_before_serve is None:
            alloy_config.forget("host")
        else:
            alloy_config.configure(host=self._host_before_serve)

    @magic_arguments("alloy pull")
    @argument(
        "name", nargs="?", help="the model, e.g. qwen3:0.6b (from Ollama's library; the embedded server has its own)"
    )
    def _cmd_pull(self, rest: str) -> None:
        """Download a model to the host, with a progress bar."""
        from .. import _config as alloy_config
        from .pull import pull_with_progress

        args = parse_flags(self._cmd_pull, rest)
        if not args.name:
            raise UsageError(
                "%alloy pull needs a model name, e.g. %alloy pull qwen3:0.6b on Ollama "
                "(the embedded server serves only the GGUF files it was started with)"
            )
        pull_with_progress(alloy_config.current(), args.name.removeprefix("ollama:"))


def gguf_models(specs: list[str]) -> dict[str, str]:
    """`--model NAME=PATH.gguf` flags as a mapping; a flag without `=` is a usage error."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--model {spec!r}: write it as NAME=PATH.gguf, e.g. --model tiny=models/tiny.gguf")
        models[name] = path
    return models
