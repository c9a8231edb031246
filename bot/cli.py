"""The `iamauth` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bot.adapters.aws.errors import AwsError, AwsSetupError
from bot.adapters.store.leader import AlreadyRunning
from bot.adapters.store.repair import UnusableDatabase
from bot.config import ConfigError, Settings, load_settings
from bot.domain.address import parse_address
from bot.domain.identifiers import IdentifierError
from bot.domain.metrics import MetricsReport
from bot.domain.window import DEFAULT_WINDOW, WindowError, parse_duration
from bot.ops import telemetry
from bot.ops.logging_setup import configure_logging
from bot.scheduler import background, blocking

EXIT_DOCTOR = 1  # `doctor` found a required part missing
EXIT_USAGE = 2  # bad input or configuration, found before anything was asked of AWS
EXIT_AWS = 3  # AWS said no, or could not be reached
EXIT_CODES = """\
exit codes:
  0  answered (doctor: every required check passed)
  1  doctor: a required check failed
  2  bad input or configuration: arguments, IAMAUTH_CONFIG, PORT, AWS_ENDPOINT_URL, or no usable
     AWS region, profile or credentials (nothing was asked of AWS)
  3  AWS said no or did not answer: no such cluster, log export off, access denied, expired or
     refused credentials, throttling, timeouts, connection errors
A failure is one plain line on stderr (clusters: one per target it could not read)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iamauth",
        description="Slack ChatOps for RDS/Aurora IAM database authentication.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the bot over Socket Mode, with the digest scheduler")
    clock = sub.add_parser("clock", help="run the digest scheduler only")
    clock.add_argument("--once", action="store_true", help="run one tick, post what is due, exit")
    web = sub.add_parser("web", help="serve Slack's HTTP requests with gunicorn on PORT")
    web.add_argument("--workers", type=int, default=2)
    web.add_argument("--threads", type=int, default=16)
    for name, what in (
        ("failures", "failed IAM authentications"),
        ("metrics", "IamDbAuth* metrics"),
    ):
        command = sub.add_parser(name, help=f"print a cluster's {what}")
        command.add_argument("cluster", help="RDS cluster identifier")
        command.add_argument("--since", default=DEFAULT_WINDOW, help="window: 15m, 1h, 24h, 7d")
        command.add_argument("--json", action="store_true", help="print JSON for machines")
    sub.choices["metrics"].add_argument(
        "--png", metavar="FILE", type=Path, help="also draw the metrics chart into FILE (PNG)"
    )
    sub.choices["failures"].add_argument(
        "--clients",
        action="store_true",
        help="also match the postgresql log: who failed from where (client addresses, databases)",
    )
    sub.add_parser("demo", help="run the real bot against an embedded AWS emulator")
    sub.add_parser("doctor", help="check the Slack token, the AWS identity and permissions")
    clusters = sub.add_parser("clusters", help="list clusters with IAM auth in every target")
    clusters.add_argument("--json", action="store_true", help="print JSON for machines")
    audit = sub.add_parser("audit", help="print the newest entries of the audit log")
    audit.add_argument("-n", type=int, default=20, help="how many entries (default 20)")
    audit.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = {"failures", "metrics", "demo", "doctor", "audit", "clusters"}
    # Server processes log JSON lines for log pipelines; terminal commands log text.
    configure_logging(
        "WARNING" if args.command in quiet else None,
        json_default=args.command in {"run", "web", "clock"},
    )
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"iamauth: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _command(args, settings)
    except AwsError as error:  # the adapters raise nothing else for AWS and its settings
        return _refused(error)


def _refused(error: AwsError) -> int:
    """One line on stderr, and the exit code for this kind of error."""
    print(f"iamauth: {' '.join(str(error).split())}".replace("`", ""), file=sys.stderr)
    return EXIT_USAGE if isinstance(error, AwsSetupError) else EXIT_AWS


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in {"failures", "metrics"}:
        return _query(args, settings)
    if args.command == "demo":
        from bot.sandbox.demo import run_demo

        return run_demo()
    if args.command == "web":
        from bot.web.gunicorn_command import serve

        return serve(settings, workers=args.workers, threads=args.threads)
    if args.command == "run":
        return _socket_mode(settings)
    if args.command == "clock":
        return _clock(settings, once=args.once)
    if args.command == "doctor":
        return _doctor(settings)
    if args.command == "clusters":
        return _clusters(settings, as_json=args.json)
    if args.command == "audit":
        return _audit(settings, args.n, as_json=args.json)
    raise AssertionError(args.command)  # argparse only accepts the commands above


def _query(args: argparse.Namespace, settings: Settings) -> int:
    from bot.domain.cluster import iam_log_group
    from bot.views.failures import failures_message
    from bot.views.json_reports import failures_json, metrics_json
    from bot.views.metrics import metrics_message
    from bot.views.terminal import render_message

    try:
        address = parse_address(args.cluster)  # `prod-db`, `instance:prod-db`, or with a place
        cluster = address.cluster
        duration: timedelta = parse_duration(args.since, maximum=settings.max_window)
    except (IdentifierError, WindowError) as error:
        print(f"iamauth: {error}".replace("`", ""), file=sys.stderr)
        return EXIT_USAGE
    from bot.bootstrap import terminal_queries

    service = terminal_queries(settings)
    chart: MetricsReport | None = None
    try:
        if args.command == "metrics":
            info, report = service.metrics(address, duration)
            output = metrics_json(report) if args.json else metrics_message(info, report).to_dict()
            chart = report if args.png else None
        else:
            failures = service.failures(address, duration, clients=args.clients)
            if failures.summary is None:
                print(
                    f"iamauth: the iam-db-auth-error log export is off for {cluster}, so there is no "
                    "log group to read (`iamauth metrics` still works).",
                    file=sys.stderr,
                )
                return EXIT_AWS
            output = (
                failures_json(
                    cluster,
                    failures.window,
                    failures.summary,
                    failures.clients,
                    metrics=failures.metrics,
                    path=failures.path,
                    kind=failures.cluster.kind,
                    log_group=iam_log_group(failures.cluster.identifier, failures.cluster.kind),
                    refused=failures.refused,
                )
                if args.json
                else failures_message(failures).to_dict()
            )
    except AwsError as error:
        return _refused(error)
    print(json.dumps(output, indent=2) if args.json else render_message(output))
    if chart is not None and not _write_chart(args.png, chart, as_json=args.json):
        return EXIT_USAGE
    return 0


def _write_chart(path: Path, report: MetricsReport, *, as_json: bool) -> bool:
    """The chart `/iamauth metrics` posts, as a file; says where (on stderr beside JSON)."""
    from bot.views.chart_drawing import draw_metrics_chart

    try:
        path.write_bytes(draw_metrics_chart(report))
    except OSError as error:
        print(f"iamauth: cannot write the chart to {path}: {error.strerror}", file=sys.stderr)
        return False
    print(f"Chart written to {path}", file=sys.stderr if as_json else sys.stdout)
    return True


def _socket_mode(settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.bootstrap import Runtime, build_app, leader_digest_job

    if not settings.slack_app_token:
        print("iamauth: SLACK_APP_TOKEN (xapp-…) is needed for Socket Mode.", file=sys.stderr)
        return EXIT_USAGE
    try:
        runtime = Runtime.build(settings)
        app = build_app(runtime, socket_mode=True)
        job = leader_digest_job(runtime)
    except (ConfigError, AlreadyRunning, UnusableDatabase) as error:
        print(f"iamauth: {error}", file=sys.stderr)
        return EXIT_USAGE
    scheduler = background(job, settings.tick_seconds)
    telemetry.serve_if_asked()
    scheduler.start()
    try:
        SocketModeHandler(app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]
    finally:
        scheduler.shutdown(wait=False)
        job.release()
    return 0


def _clock(settings: Settings, *, once: bool) -> int:
    from bot.bootstrap import Runtime, leader_digest_job

    if not settings.slack_bot_token:
        print("iamauth: SLACK_BOT_TOKEN is needed to post digests.", file=sys.stderr)
        return EXIT_USAGE
    try:
        job = leader_digest_job(Runtime.build(settings))
    except (ConfigError, AlreadyRunning, UnusableDatabase) as error:
        print(f"iamauth: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if once:
            if not job():
                print("iamauth: another process is the leader; nothing done.", file=sys.stderr)
            return 0
        telemetry.serve_if_asked()
        blocking(job, settings.tick_seconds).start()
    except KeyboardInterrupt:
        pass
    finally:
        job.release()
    return 0


def _doctor(settings: Settings) -> int:
    from bot.bootstrap import doctor_checks

    checks = doctor_checks(settings)
    for check in checks:
        only = f" (only needed for {check.only_for})" if check.only_for and not check.ok else ""
        print(f"{'ok ' if check.ok else 'NO '} {check.name}: {check.detail}{only}")
    missing = [c.name for c in checks if not c.ok and not c.only_for]
    optional = [c.name for c in checks if not c.ok and c.only_for]
    if missing:
        print(f"{len(missing)} problem(s): {', '.join(missing)}")
    else:
        print("All required checks passed." if optional else "All checks passed.")
    if optional:
        print(f"Optional, missing: {', '.join(optional)}; everything else works without them.")
    return 0 if not missing else EXIT_DOCTOR


def _audit(settings: Settings, n: int, *, as_json: bool) -> int:
    from bot.bootstrap import terminal_audit_log
    from bot.views.json_reports import iso
    from bot.views.terminal import audit_table

    if not 1 <= n <= 10_000:
        print("iamauth: -n must be from 1 to 10000.", file=sys.stderr)
        return EXIT_USAGE
    entries = terminal_audit_log(settings).recent(n)
    if as_json:
        print(json.dumps([
            {"at": iso(e.at), "user": e.user_id, "channel": e.channel_id, "action": e.action,
             "outcome": e.outcome, "detail": e.detail}
            for e in entries
        ], indent=2))  # fmt: skip
        return 0
    print(audit_table(entries))
    return 0


def _clusters(settings: Settings, *, as_json: bool) -> int:
    from dataclasses import asdict

    from bot.bootstrap import terminal_clusters

    listing = terminal_clusters(settings).listing()
    if as_json:
        print(
            json.dumps(
                {"clusters": [asdict(r) for r in listing.rows], "problems": listing.problems},
                indent=2,
            )
        )
    else:
        for row in listing.rows:
            export = "export on " if row.log_export_on else "export off"
            print(f"{row.failures_24h:>9,}  {export}  {row.place}/{row.cluster}")
        for problem in listing.problems:
            print(f"iamauth: {problem}", file=sys.stderr)
    return 0 if not listing.problems else EXIT_AWS
