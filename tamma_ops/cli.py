"""The ``tamma-ops`` command group and the one place that turns errors into exit codes.

Subcommands live in ``tamma_ops.commands`` and are imported only when invoked, so ``--help``
stays fast however heavy a command's dependencies are.
"""

from __future__ import annotations

import importlib
import os
import signal
import traceback
from dataclasses import dataclass
from typing import Any

import click

from tamma_ops import __version__
from tamma_ops.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, TammaOpsError
from tamma_ops.output import annotate_error, configure_logging

# name: (module, one-line help shown by `tamma-ops --help` without importing the module)
COMMANDS = {
    "build": ("tamma_ops.commands.build", "Build, tag and label the images, in parallel."),
    "doctor": (
        "tamma_ops.commands.doctor",
        "Check the Docker engine, compose v2, buildx and disk.",
    ),
    "init": (
        "tamma_ops.commands.init",
        "Write a ready-to-run deployment directory (init --full-stack).",
    ),
    "plan": ("tamma_ops.commands.plan", "Show each image's repository, tags and labels."),
    "promote": (
        "tamma_ops.commands.promote",
        "Add release tags to pushed images, through the registry only.",
    ),
    "push": ("tamma_ops.commands.push", "Push every tag of the plan, retried and verified."),
    "verify-public": (
        "tamma_ops.commands.verify_public",
        "Check that anonymous users can pull every image.",
    ),
    "smoke": (
        "tamma_ops.commands.smoke",
        "Bring a stack up, gate on health, probe HTTP, always tear down.",
    ),
}


@dataclass
class Settings:
    debug: bool = False


class LazyGroup(click.Group):
    """Loads subcommands on demand and maps every error to its exit code, in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in sorted(COMMANDS.items())])

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The group's own options are parsed here, before invoke() runs.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # click shows the help, which is what a bare `tamma-ops` asks for
        except click.ClickException as exc:
            _report_click(exc)
            raise click.exceptions.Exit(exc.exit_code) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a subcommand's help, as above
        except click.ClickException as exc:  # a subcommand's options, or a command's own
            _report_click(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.Abort):
            raise
        except TammaOpsError as exc:
            _report(exc.message, exc.fix)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("tamma-ops: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - last line of defence: report, never crash
            if ctx.ensure_object(Settings).debug:
                click.echo(traceback.format_exc(), err=True, nl=False)
            _report(
                f"internal error: {type(exc).__name__}: {exc} "
                "(rerun with --debug for the traceback, and please report it)"
            )
            ctx.exit(EXIT_INTERNAL)


EPILOG = """\b
Examples:
  tamma-ops doctor                         is this machine ready?
  tamma-ops plan --repo ../tamma           tags and labels for the current commit
  tamma-ops plan --ref refs/tags/v1.4.2 --json
  tamma-ops build --repo ../tamma -q       build all five images, one line each
  tamma-ops push --only-sha --digests-file digests.json
  tamma-ops smoke --full-stack --digests-file digests.json
  tamma-ops promote                        release tags for the tested digests, no upload
  tamma-ops init --full-stack --dir D      a deployment directory for `docker compose up -d`

\b
Exit codes: 0 ok, 1 error, 2 bad input or manifest, 3 Docker engine unusable,
4 build failed, 5 push failed, 6 smoke test failed, 70 internal error, 130 interrupted.
"""


@click.group(
    "tamma-ops",
    cls=LazyGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="tamma-ops")
@click.option("--debug", is_flag=True, help="Log everything and show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Build, tag, push, smoke-test and deploy the Tamma container images."""
    ctx.ensure_object(Settings).debug = debug
    configure_logging(debug=debug, quiet=quiet)


def main() -> None:
    # CI cancels a job with SIGTERM: unwind like Ctrl-C so containers and builds are cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    cli.main(prog_name="tamma-ops", obj=Settings())


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _report_click(exc: click.ClickException) -> None:
    """click's own errors (an unknown option, a bad value) in tamma-ops' words; exit code kept."""
    ctx = getattr(exc, "ctx", None)
    fix = f"see `{ctx.command_path} --help`" if isinstance(ctx, click.Context) else None
    _report(exc.format_message(), fix)


def _report(message: str, fix: str | None = None) -> None:
    annotate_error(message if fix is None else f"{message}\nfix: {fix}", os.environ)
    click.echo(f"tamma-ops: error: {message}", err=True)
    if fix is not None:
        click.echo(f"tamma-ops: fix: {fix}", err=True)
