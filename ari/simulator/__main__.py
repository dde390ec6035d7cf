"""``python -m ari.simulator --port 8088``: a stand-in Asterisk to point MiniBot at.

Endpoints ``Local/<kind>@callee-sim`` answer as the default party of that kind; ``--map``
binds other endpoints (``--map PJSIP/+33612345678@trunk=machine``); ``--inbound`` makes calls
arrive from the trunk once an app websocket is connected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .callees import DEFAULT_KINDS, Human, default_callee
from .server import SimulatedAsterisk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ari.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--user", default="minibot")
    parser.add_argument("--password", default="minibot")
    parser.add_argument("--app", default="minibot")
    parser.add_argument("--sounds-dir", help="where relative sound: names are looked up")
    parser.add_argument("--recordings-dir", help="where recordings are written (default: a temp dir)")
    parser.add_argument("--speech-dir", help="callee speech clips (default: tests/fixtures/speech)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="scale scripted waits (not audio)")
    parser.add_argument("--map", action="append", default=[], metavar="ENDPOINT=KIND",
                        help=f"bind an endpoint to a default party ({', '.join(DEFAULT_KINDS)})")
    parser.add_argument("--default", default="unallocated", metavar="KIND",
                        help="party for other non-Local endpoints (default: unallocated)")
    parser.add_argument("--inbound", action="append", default=[], metavar="CALLER,EXTEN",
                        help="an inbound call arriving 1 s after the app connects (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> None:
    sim = SimulatedAsterisk(
        host=args.host, port=args.port, username=args.user, password=args.password, app=args.app,
        sounds_dir=args.sounds_dir, recordings_dir=args.recordings_dir, speech_dir=args.speech_dir,
        time_scale=args.time_scale, default_callee=default_callee(args.default),
    )
    for item in args.map:
        endpoint, _, kind = item.rpartition("=")
        callee = default_callee(kind)
        if not endpoint or callee is None:
            raise SystemExit(f"--map {item!r}: expected ENDPOINT=KIND with KIND in {', '.join(DEFAULT_KINDS)}")
        sim.add_callee(endpoint, callee)
    async with sim:
        print(f"ARI: {sim.url}  events: {sim.events_url()}  user {args.user!r}", flush=True)
        print(f"recordings in {sim.recordings_dir}", flush=True)
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        launcher = asyncio.get_running_loop().create_task(_inbound_when_connected(sim, args.inbound))
        try:
            await stop.wait()
        finally:
            launcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await launcher


async def _inbound_when_connected(sim: SimulatedAsterisk, specs: list[str]) -> None:
    if not specs:
        return
    await sim.bus.wait_active(sim.app)
    await asyncio.sleep(1.0)
    for spec in specs:
        caller, _, exten = spec.partition(",")
        party = default_callee("human")
        assert isinstance(party, Human)
        call = sim.inbound(caller, exten or "s", party)
        print(f"inbound call {call.channel_id} from {caller}", flush=True)


if __name__ == "__main__":
    main()
