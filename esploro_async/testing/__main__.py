"""Command line: ``python -m esploro_async.testing serve [options]``.

Serves a simulated Esploro gateway on loopback until Ctrl-C, printing the URL and the
API keys to use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import errno
import sys
import time
from collections.abc import Sequence

from esploro_async.testing.faults import Latency
from esploro_async.testing.gateway import SIM_API_KEY, SIM_READ_ONLY_KEY, SimulatedGateway
from esploro_async.testing.institution import SyntheticInstitution
from esploro_async.testing.replies import REMAINING_HEADER_TIMINGS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the CLI."""
    p = argparse.ArgumentParser(prog="python -m esploro_async.testing")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve a simulated Esploro API gateway on loopback")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding a non-loopback address (exposes the simulator)",
    )
    s.add_argument("--researchers", type=int, default=1000)
    s.add_argument("--assets", type=int, default=2000)
    s.add_argument(
        "--latency",
        type=Latency.parse,
        default=Latency.fixed(0.0),
        help='seconds: "0.3", "0.2:0.8" (uniform) or "ln:MEDIAN:SIGMA"; split by --before-arrival',
    )
    s.add_argument(
        "--before-arrival",
        type=_fraction,
        default=0.5,
        metavar="FRACTION",
        help="part of each latency that passes before the request reaches the gateway and "
        "is counted (default 0.5); the rest passes after. The spread of that first part is "
        "the jitter a client's safety margin must cover: 0.5 of 0.2:0.8 is 0.1-0.4 s, a "
        "0.3 s spread; 0.02 (mostly API work after arrival) is 4-16 ms",
    )
    s.add_argument(
        "--remaining-header",
        choices=REMAINING_HEADER_TIMINGS,
        default="arrival",
        help="when X-Exl-Api-Remaining is written: as the request is counted (arrival, "
        "default), as its response leaves (departure), or not at all (none)",
    )
    s.add_argument("--rate-limit", type=int, default=25)
    s.add_argument("--window", type=float, default=1.0)
    s.add_argument("--count-rejected", action="store_true")
    s.add_argument("--daily-quota", type=int, default=1_000_000)
    s.add_argument("--foreign-rate", type=float, default=0.0)
    s.add_argument("--seed", type=int, default=0)
    return p


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _describe(latency: Latency, before_arrival: float) -> str:
    """The latency and its split around the arrival, for the banner."""
    if latency.kind == "fixed":
        total = f"{latency.a:g} s"
    elif latency.kind == "uniform":
        total = f"{latency.a:g}-{latency.b:g} s"
    else:
        total = f"log-normal, median {latency.a:g} s"
    return f"{total}, {before_arrival:.0%} of it before arrival (--before-arrival)"


_HEADER_TIMING = {
    "arrival": "X-Exl-Api-Remaining as each request is counted",
    "departure": "X-Exl-Api-Remaining as each response leaves",
    "none": "no X-Exl-Api-Remaining header",
}


async def _serve(args: argparse.Namespace) -> None:
    t = time.perf_counter()
    gw = SimulatedGateway(
        SyntheticInstitution(seed=args.seed, researchers=args.researchers, assets=args.assets),
        rate_limit=args.rate_limit,
        window=args.window,
        count_rejected=args.count_rejected,
        daily_quota=args.daily_quota,
        latency=args.latency,
        up_fraction=args.before_arrival,
        remaining_header=args.remaining_header,
        foreign_rate=args.foreign_rate,
        start=_dt.datetime.now(_dt.timezone.utc),
        seed=args.seed,
    )
    async with gw.serve(args.host, args.port, allow_non_loopback=args.allow_non_loopback) as srv:
        print(f"Simulated Esploro gateway at {srv.url}  (ready in {time.perf_counter() - t:.2f}s)")
        print(f"  base path:     {srv.url}/esploro/v1/")
        print(f"  API key (rw):  {SIM_API_KEY}")
        print(f"  API key (ro):  {SIM_READ_ONLY_KEY}")
        print(f"  header:        Authorization: apikey {SIM_API_KEY}")
        print(f"  latency:       {_describe(args.latency, args.before_arrival)}")
        print(f"  remaining:     {_HEADER_TIMING[args.remaining_header]} (--remaining-header)")
        print("Press Ctrl-C to stop.", flush=True)
        await srv.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the address cannot be bound: in use, or not this machine's
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        if exc.errno == errno.EADDRINUSE:
            print(
                f"hint: another program uses port {args.port}: pick another with --port, "
                "or --port 0 for any free one (the URL to use is printed)",
                file=sys.stderr,
            )
        else:
            print("hint: check --host: it must be an address of this machine", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            print("\nstopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
