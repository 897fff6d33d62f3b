"""`python -m devstack.conversations [PATHS...]`: play conversation tests and print a table per turn.

With no URLs it starts a stack of its own on free ports (its own broker, a fresh database on the
PostgreSQL at DATABASE_URL or an embedded one) and stops it at the end; with --ingress-url,
--twilio-url and --business-api-url it plays against a running stack (the demo, for instance).

Exit codes: 0 every conversation passed, 1 some failed, 2 bad arguments or conversation files,
3 the stack could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from devstack.conversations.channel import Target
from devstack.conversations.format import ConversationFormatError, load_paths, suite_problems
from devstack.conversations.report import ConversationResult, Report
from devstack.conversations.runner import DEFAULT_CONCURRENCY, DEFAULT_REPLY_TIMEOUT_S, run_suite
from devstack.stack import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, DEMO_BUSINESS_NUMBER, DEMO_BUSINESS_TOKEN
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.ingress.settings import DEMO_ADMIN_TOKEN

SHIPPED = Path(__file__).resolve().parents[2] / "tests" / "conversations"
EXIT_FAILED, EXIT_USAGE, EXIT_STACK = 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m devstack.conversations",
                                     description="Play scripted WhatsApp conversations against the stack.")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help=f"conversation files or directories (default: {SHIPPED})")
    parser.add_argument("-k", dest="names", action="append", default=[], metavar="NAME",
                        help="only conversations whose name contains NAME (repeatable)")
    parser.add_argument("-j", dest="concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="CONCURRENCY",
                        help=f"conversations played side by side (default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--reply-timeout", type=float, default=DEFAULT_REPLY_TIMEOUT_S, metavar="SECONDS",
                        help=f"how long a turn waits for its reply (default {DEFAULT_REPLY_TIMEOUT_S:g})")
    parser.add_argument("--failed-only", action="store_true", help="print only the failed conversations' rows")
    parser.add_argument("-v", "--replies", action="store_true", help="print every turn's reply, not only failed ones")
    parser.add_argument("--no-cleanup", dest="cleanup", action="store_false",
                        help="leave each conversation's bookings in place at the end")
    target = parser.add_argument_group("a running stack (all three URLs, or none to start one)")
    target.add_argument("--ingress-url", help="ingress's public URL, e.g. http://127.0.0.1:8080")
    target.add_argument("--twilio-url", help="the Twilio stand-in, e.g. http://127.0.0.1:8091")
    target.add_argument("--business-api-url", help="the business API, e.g. http://127.0.0.1:8090")
    target.add_argument("--account-sid", default=env.get("TWILIO_ACCOUNT_SID", DEMO_ACCOUNT_SID))
    target.add_argument("--auth-token", default=env.get("TWILIO_AUTH_TOKEN", DEMO_AUTH_TOKEN))
    target.add_argument("--business-token", default=env.get("BUSINESS_API_TOKEN", DEMO_BUSINESS_TOKEN))
    target.add_argument("--business-number", default=DEMO_BUSINESS_NUMBER)
    target.add_argument("--admin-token", default=env.get("INGRESS_ADMIN_TOKEN") or DEMO_ADMIN_TOKEN,
                        help="bearer token of ingress's staff admin API, for staff steps")
    return parser


def _progress(result: ConversationResult) -> None:
    mark = "PASS" if result.passed else "FAIL"
    print(f"  {mark} {result.name} ({result.turns_passed}/{len(result.turns)} turns, {result.seconds:.1f} s)",
          file=sys.stderr, flush=True)


def _print(report: Report, *, failed_only: bool, replies: bool) -> None:
    table = report.table(only_failed=failed_only, replies=replies)
    if table:
        print(table)
        print()
    print(report.summary())


def _own_stack_run(play: Callable[[Target], Report]) -> Report:
    """Start a stack on free ports, play, stop it (and drop its database) whatever happens."""
    from devstack.databases import drop_database
    from devstack.infra import InfraError
    from devstack.stack import Ports, Stack, StackConfig, StackError

    run_dir = Path(tempfile.mkdtemp(prefix="conversations-"))
    run_dir.chmod(0o755)
    env = os.environ
    stack = Stack(StackConfig(run_dir=run_dir, ports=Ports.free(),
                              database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL), fresh_database=True,
                              redis_url=env.get("REDIS_URL", DEFAULT_REDIS_URL)))
    print("starting a stack on free ports…", file=sys.stderr, flush=True)
    try:
        stack.start()
    except (StackError, InfraError, OSError) as error:
        print(f"error: the stack did not start: {error} (logs in {stack.log_dir})", file=sys.stderr)
        raise SystemExit(EXIT_STACK) from None
    kept = False
    try:
        return play(Target.from_stack(stack))
    except BaseException:
        kept = True
        raise
    finally:
        stack.stop()
        if "PostgreSQL" not in stack.embedded:
            asyncio.run(drop_database(stack.database_url))
        if kept:
            print(f"(stack logs kept in {stack.log_dir})", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    urls = (args.ingress_url, args.twilio_url, args.business_api_url)
    if any(urls) and not all(urls):
        print("error: give --ingress-url, --twilio-url and --business-api-url together (or none to start a stack)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.concurrency < 1:
        print("error: -j must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        conversations = load_paths(args.paths or [SHIPPED])
    except ConversationFormatError as error:
        print("\n".join(f"error: {p}" for p in error.problems), file=sys.stderr)
        return EXIT_USAGE
    if args.names:
        conversations = [c for c in conversations if any(n in c.test_case for n in args.names)]
    if not conversations:
        print("error: no conversation to play", file=sys.stderr)
        return EXIT_USAGE
    for problem in suite_problems(conversations):
        print(f"warning: {problem}", file=sys.stderr)

    def play(target: Target) -> Report:
        print(f"playing {len(conversations)} conversations, {args.concurrency} at a time…", file=sys.stderr,
              flush=True)
        return asyncio.run(run_suite(conversations, target, concurrency=args.concurrency,
                                     reply_timeout=args.reply_timeout, cleanup=args.cleanup,
                                     on_result=_progress))

    if all(urls):
        report = play(Target(ingress_url=args.ingress_url, twilio_url=args.twilio_url,
                             business_api_url=args.business_api_url, account_sid=args.account_sid,
                             auth_token=args.auth_token, business_token=args.business_token,
                             business_number=args.business_number, admin_token=args.admin_token))
    else:
        report = _own_stack_run(play)
    _print(report, failed_only=args.failed_only, replies=args.replies)
    return 0 if report.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
