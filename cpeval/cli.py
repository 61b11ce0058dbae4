"""The ``cpeval`` command. It only composes the package's stages.

Exit codes: 0 clean, 1 warnings only, 2 errors (bad input ends with a one-line
message, never a traceback), 3 an internal error (a bug in cpeval: one line and
where to report it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

    from .io import ValidationReport

__all__ = ["main"]

_EXAMPLES = """examples:
  cpeval validate data/synthetic/example/codebook.toml
  cpeval validate data/synthetic/example/codebook.toml --out results/example
  cpeval run analysis/implementation_study.toml --out results/implementation
"""
_SHOWN = 20  # problems printed before "and N more"
_PACKAGES = ("numpy", "pandas", "pyreadstat", "openpyxl")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except DataError as exc:
        print(f"cpeval: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cpeval: interrupted; earlier results are unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, never a traceback
        from . import __version__
        from .exceptions import one_line

        where = _origin(exc)
        print(
            f"cpeval: internal error: {type(exc).__name__}: {one_line(str(exc), 300)}"
            f"{where}. This is a bug in cpeval {__version__}, not in your data: "
            "please report it with this line and the command you ran (README, "
            "'Reporting a bug'); CPEVAL_TRACEBACK=1 prints the traceback",
            file=sys.stderr,
        )
        if os.environ.get("CPEVAL_TRACEBACK"):
            raise
        return 3


def _origin(exc: BaseException) -> str:
    """' (at module.py:123)': the innermost cpeval frame of the traceback."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}cpeval{os.sep}" in f.filename]
    if not ours:
        return ""
    frame = ours[-1]
    return f" (at {Path(frame.filename).name}:{frame.lineno})"


class _Version(argparse.Action):
    """``--version``, as argparse's own action, reading the version only when
    asked (``importlib.metadata`` is slow to import)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs
        )

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(__version__)
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpeval",
        description="Evaluate the outcomes of Connecting People and similar "
        "social interventions.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "validate",
        help="check a study's files against its codebook and count the flow",
        description="Read every file of a study, report every problem at once, "
        "link the waves and print the participant flow. Exit 0 when clean, "
        "1 with warnings only, 2 with errors.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("codebook", type=Path, help="the study codebook (TOML)")
    check.add_argument(
        "--out", type=Path, help="folder for problems, flow and provenance files"
    )
    check.add_argument("--quiet", action="store_true", help="print only the verdict")
    check.set_defaults(run=_validate)
    run = commands.add_parser(
        "run",
        help="run an analysis config: tables, figures, report and provenance",
        description="Read, validate, score, model, cost and report, as the analysis "
        "config says. Exit 0 on success, 1 when the data had validation warnings "
        "(printed, and listed in the report), 2 on bad input.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("config", type=Path, help="the analysis config (TOML)")
    run.add_argument("--out", type=Path, required=True, help="output folder")
    run.add_argument("--quiet", action="store_true", help="no progress messages")
    run.set_defaults(run=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    from .pipeline import run

    say = (lambda *_: None) if args.quiet else print
    warnings: list[str] = []

    def warn(line: str) -> None:
        if len(warnings) < _SHOWN:
            print(f"cpeval: warning: {line}", file=sys.stderr)
        warnings.append(line)

    run(args.config, args.out, say=say, warn=warn)
    if len(warnings) > _SHOWN:
        print(
            f"cpeval: ... and {len(warnings) - _SHOWN} more warnings (see the report)",
            file=sys.stderr,
        )
    return 1 if warnings else 0


def _validate(args: argparse.Namespace) -> int:
    from .io import load_codebook
    from .io._study import linked_study
    from .io._validate import check_and_link

    book = load_codebook(args.codebook)
    linked = check_and_link(book)
    report = linked[0]
    study = None if report.errors else linked_study(*linked)
    say = (lambda *_: None) if args.quiet else print
    _print_report(report, say)
    if study is not None:
        say("\nParticipant flow:")
        say(_flow_text(study.flow.table))
        n = len(study.flow.exclusions)
        say(f"\n{n} participant-outcome pairs are excluded, each with its reason.")
        say(
            "Here 'analysed' counts participants with the instrument's scores "
            "at the first and last wave (a complete-case analysis); `cpeval run` "
            "reports each "
            "model's own n (a mixed model uses everyone seen at any wave), and its "
            "participant-flow table explains that n."
        )
    if args.out is not None:
        _write_outputs(args.out, report, study)
        say(f"\nWrote {args.out}")
    print(_verdict(report))
    return report.exit_code


def _print_report(report: ValidationReport, say) -> None:
    book = report.codebook
    say(f"Study: {book.name}")
    say("Files read:")
    for info in report.files:
        recoded = sum(info.missing_recoded.values())
        extra = f", {recoded} missing codes recoded" if recoded else ""
        say(f"  {info.path}: {info.n_rows} rows ({info.format}{extra})")
    if not report.problems:
        return
    say("Problems:")
    for problem in report.problems[:_SHOWN]:
        say(f"  {problem.severity}: {problem}")
    if len(report.problems) > _SHOWN:
        say(f"  ... and {len(report.problems) - _SHOWN} more (write them with --out)")


def _flow_text(table: pd.DataFrame) -> str:
    width = int(table["stage"].str.len().max())
    return table.to_string(index=False, formatters={"stage": f"{{:<{width}}}".format})


def _verdict(report: ValidationReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        return f"cpeval: {errors} errors and {warnings} warnings; nothing was linked"
    if warnings:
        return f"cpeval: no errors, {warnings} warnings"
    return "cpeval: no problems found"


def _write_outputs(out: Path, report: ValidationReport, study) -> None:
    from ._files import staged_folder

    with staged_folder(out) as folder:
        _write_files(folder, report, study)


def _write_files(folder: Path, report: ValidationReport, study) -> None:
    import json

    import pandas as pd

    from ._files import write_atomic

    write_atomic(folder / "problems.csv", _csv(report.to_frame()))
    files = pd.DataFrame(
        [
            {k: getattr(f, k) for k in ("path", "format", "n_rows", "sha256")}
            for f in report.files
        ]
    )
    write_atomic(folder / "files.csv", _csv(files))
    if study is not None:
        write_atomic(folder / "flow.csv", _csv(study.flow.table))
        write_atomic(folder / "exclusions.csv", _csv(study.flow.exclusions))
    provenance = _provenance(report)
    write_atomic(folder / "provenance.json", json.dumps(provenance, indent=2) + "\n")


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _provenance(report: ValidationReport) -> dict:
    """Inputs, versions and outcome of a run; no clock time, so reruns match."""
    import platform

    from . import __version__
    from ._files import sha256

    return {
        "command": "validate",
        "cpeval": __version__,
        "python": platform.python_version(),
        "packages": {name: _installed(name) for name in _PACKAGES},
        "codebook": {
            "path": str(report.codebook.path),
            "sha256": sha256(report.codebook.path),
        },
        "inputs": [
            {
                "path": f.path,
                "sha256": f.sha256,
                "format": f.format,
                "rows": f.n_rows,
                "encoding": f.encoding,
                "delimiter": f.delimiter,
                "missing_recoded": dict(sorted(f.missing_recoded.items())),
            }
            for f in report.files
        ],
        "errors": len(report.errors),
        "warnings": len(report.warnings),
    }


def _installed(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
