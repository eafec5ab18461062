"""What every command shares: the console, failures as exit codes, settings from the flags.

Nothing here loads the simulator or Redis: `connect` does, for ``--simulate`` or a Redis URL.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import click
from rich.console import Console
from rich.text import Text

from esploro_async.cli import exits
from esploro_async.cli.settings import Settings, SimulationSettings
from esploro_async.errors import EsploroError

__all__ = [
    "check_latency",
    "fail",
    "guard",
    "make_console",
    "printable",
    "run_main",
    "say",
    "settings_for",
    "thousands",
]

log: logging.Logger = logging.getLogger("esploro_async.cli")

T = TypeVar("T")

_CONTROL = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0)])
_CONTROL.pop(ord("\n"))


def printable(text: object) -> str:
    """``text`` without control characters (escape sequences), safe to print on a terminal."""
    return str(text).translate(_CONTROL)


def make_console() -> Console:
    """The console of messages and progress: standard error, no markup highlighting."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def say(console: Console, label: str, style: str, message: object) -> None:
    """One line ``label message``; the message is never read as markup."""
    console.print(Text.assemble((label, style), " ", printable(message)))


def fail(console: Console, error: BaseException) -> NoReturn:
    """Print ``error`` and a hint, and exit with the error's code."""
    context = click.get_current_context(silent=True)
    path = context.command_path.split() if context is not None else []
    command = path[1] if len(path) > 1 else None
    code, hint = exits.exit_code_for(error, command=command)
    if isinstance(error, (EsploroError, OSError)):
        say(console, "error:", "red", error)
    elif not isinstance(error, KeyboardInterrupt):
        say(console, "error:", "red", f"unexpected {type(error).__name__}: {error}")
    say(console, "hint:", "yellow", hint)
    sys.exit(code)


@contextmanager
def guard(console: Console) -> Iterator[None]:
    """Turn any failure into an ``error:`` line, a ``hint:`` and its exit code."""
    try:
        yield
    except click.exceptions.ClickException:
        raise
    except (EsploroError, KeyboardInterrupt, OSError) as exc:
        fail(console, exc)
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        fail(console, exc)


def run_main(console: Console, main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` and turn failures into an exit code with a one-line hint."""
    with guard(console):
        return asyncio.run(main())  # type: ignore[arg-type]
    raise AssertionError("unreachable")  # pragma: no cover


def _simulation(ctx: click.Context, simulate: bool) -> SimulationSettings | None:
    if not simulate:
        return None
    options = ctx.find_root().params
    return SimulationSettings(
        researchers=options["sim_researchers"],
        assets=options["sim_assets"],
        seed=options["sim_seed"],
        latency=options["sim_latency"],
        daily_quota=options["sim_daily_quota"],
        faults=options["sim_fault"],
    )


def settings_for(ctx: click.Context, simulate: bool) -> Settings:
    """The command's `Settings`: the group's flags, the environment, and ``--simulate``.

    A simulation's latency and faults are checked here, before anything starts.
    """
    settings = Settings.from_env(**(ctx.obj or {}), simulate=_simulation(ctx, simulate))
    if settings.simulate is not None:
        check_latency(settings.simulate.latency, ctx=ctx, param_hint="--sim-latency")
        settings.simulate.fault_rules()
    return settings


def check_latency(value: str, *, ctx: click.Context | None, param_hint: str) -> str:
    """``value`` if it is a simulated latency (`Latency.parse`), else `click.BadParameter`."""
    from esploro_async.testing.faults import Latency

    try:
        Latency.parse(value)
    except ValueError:
        raise click.BadParameter(
            f'expected seconds: "0.3", "0.2:0.8" or "ln:MEDIAN:SIGMA", not {value!r}',
            ctx=ctx,
            param_hint=[param_hint],
        ) from None
    return value


def thousands(number: int | None) -> str:
    """``number`` with thousands separators, or ``unknown``."""
    return "unknown" if number is None else f"{number:,}"
