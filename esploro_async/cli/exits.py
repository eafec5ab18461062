"""Exit codes of the command line, each with a one-line hint for stderr."""

from __future__ import annotations

from esploro_async.errors import (
    AuthenticationError,
    ConfigurationError,
    DailyQuotaExhaustedError,
    EsploroError,
    InsufficientQuotaError,
    JobFailedError,
    NotFoundError,
    WrongHostError,
)

__all__ = ["AUTH", "INTERRUPTED", "OK", "OTHER", "QUOTA", "USAGE", "exit_code_for"]

OK = 0
"""Done."""
OTHER = 1
"""Any other failure (network, server, a bug): the message says what."""
USAGE = 2
"""Bad arguments or settings (no API key, an output file in the way, …)."""
QUOTA = 3
"""Stopped at the daily quota or its reserve: run the same command with --resume after the reset."""
AUTH = 4
"""The API key was refused (unknown, wrong environment, no permission, wrong host)."""
INTERRUPTED = 130
"""Interrupted (Ctrl-C): run the same command with --resume."""


def exit_code_for(error: BaseException, *, command: str | None = None) -> tuple[int, str]:
    """The exit code for ``error`` and a one-line hint of what to do next.

    ``command`` (``harvest``, ``apply``, ``quota``, ``job``, …) picks a hint that fits it:
    only a harvest or an apply can ``--resume``.
    """
    if command in ("quota", "job", "status"):
        specific = _hint_for(command, error)
        if specific is not None:
            return specific
    if isinstance(error, InsufficientQuotaError):
        return QUOTA, (
            "add --until-reserve to harvest until the reserve and --resume after the reset, "
            "or lower --daily-reserve"
        )
    if isinstance(error, DailyQuotaExhaustedError):
        when = error.resets_at.strftime("%Y-%m-%d %H:%M %Z")
        return QUOTA, f"the daily quota resets at {when}: run the same command with --resume then"
    if isinstance(error, WrongHostError):
        return AUTH, "the base URL is not the API gateway: use --region or --base-url"
    if isinstance(error, AuthenticationError):
        return AUTH, (
            "the API key was refused: check ESPLORO_API_KEY, its environment (sandbox or "
            "production) and its permissions for this API area"
        )
    if isinstance(error, ConfigurationError):
        if str(error).startswith("no API key"):
            return USAGE, (
                "export ESPLORO_API_KEY=<your Developer Network key>, or add --simulate to try "
                "it on a simulated institution"
            )
        return USAGE, "fix what the message names: nothing was sent and no file was changed"
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED, "interrupted: run the same command with --resume to continue"
    if isinstance(error, OSError):
        return (
            OTHER,
            "a file could not be read or written: free space or fix permissions, then --resume",
        )
    if not isinstance(error, EsploroError):
        return OTHER, (
            "this is a bug: run again with --log-level debug to see where it happened, and "
            "report it"
        )
    return OTHER, "see the message above; with --resume a harvest continues where it stopped"


def _hint_for(command: str, error: BaseException) -> tuple[int, str] | None:
    """Hints of the commands that neither resume nor write files; ``None``: the general one."""
    if isinstance(error, DailyQuotaExhaustedError):
        when = error.resets_at.strftime("%Y-%m-%d %H:%M %Z")
        what = "the job was not started" if command == "job" else "no request can be sent"
        return QUOTA, f"{what}: the daily quota resets at {when}"
    if isinstance(error, JobFailedError):
        return OTHER, (
            "the job ended without success: see its report in Esploro (Monitor Jobs); fix the "
            "parameters or the set and run it again"
        )
    if command == "job" and isinstance(error, NotFoundError):
        return OTHER, (
            "no such job (or not visible to this key): job ids look like M50173; check the id "
            "and the key's Configuration permission"
        )
    if isinstance(error, (AuthenticationError, ConfigurationError, KeyboardInterrupt)):
        return None
    if isinstance(error, EsploroError):
        again = {
            "quota": "run esploro-async quota again in a minute (it sends one request)",
            "job": (
                "check in Esploro (Monitor Jobs) whether the job started before running it "
                "again: a second run would do the work twice"
            ),
            "status": "run esploro-async status again in a moment",
        }[command]
        return OTHER, f"see the message above; {again}"
    return None
