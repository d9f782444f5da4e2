"""The ``medlens`` command line: a thin layer over library functions (CONVENTIONS.md 13).

Progress and messages go to stderr; data goes to files (``run``) or stdout (``assertion``).
"""

from __future__ import annotations

import json
import logging
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medlens.core.config import load_config
from medlens.core.errors import MedlensError
from medlens.core.registry import readers, tasks, writers
from medlens.registrations import register_all

__all__ = ["app", "main"]

app = typer.Typer(
    name="medlens",
    help="Grounded, offline-first clinical NLP. Drafts for clinician review; not for diagnostic use.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def bundled_examples() -> Path:
    """Folder of the synthetic example notes shipped inside the package."""
    return Path(str(resources.files("medlens") / "examples" / "notes"))


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key or not val:
            raise typer.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        out[key.strip()] = val.strip()
    return out


def _stdout() -> Console:
    """Console for data on stdout: full width when piped, so registered names are never cut."""
    return Console(width=None if sys.stdout.isatty() else 200)


def _fail(exc: MedlensError) -> typer.Exit:
    err.print(f"[red]error[/] {escape(str(exc))}")
    return typer.Exit(code=2)


@app.command()
def run(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT",
            help="File or folder: .txt, .jsonl/.ndjson, .csv, FHIR .json/.ndjson. Default: the bundled examples.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if missing).")] = Path("medlens-out"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (.toml/.yaml); env MEDLENS_* and flags win.")
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task", "--tasks", "-t", help="Task(s) to run, repeatable or comma-separated. Default: notes.extract."
        ),
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            "--backend",
            "-b",
            help="TASK=BACKEND (repeatable): rules (default, offline), llm or hybrid (an OpenAI-compatible endpoint "
            "in task_options; remote endpoints get de-identified text only), e.g. notes.extract=hybrid.",
        ),
    ] = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option(
            "--format", "-f", help="Output to write (repeatable): jsonl, fhir, note_nlp, note_nlp_parquet, html."
        ),
    ] = None,
    csv_map: Annotated[
        list[str] | None,
        typer.Option("--csv-map", help="FIELD=COLUMN for CSV input (repeatable), e.g. text=note_text."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="Kind of records whose input states none: note, radiology, pathology, dialogue, abstract."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Records per batch.", min=1)] = None,
    deid_mode: Annotated[
        str | None,
        typer.Option("--deid", help="De-identify records before the tasks: redact, mask or surrogate (fail closed)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a killed run: skip records already in OUT/results.jsonl.")
    ] = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = None,
) -> None:
    """Run tasks over notes and write results.jsonl, bundle.json, note_nlp.csv and report.html into --out.

    Exit code 0 when everything was read and processed, 1 when some inputs or records failed (see errors.jsonl and
    the errors on each result line), 2 for usage or configuration errors.
    """
    from medlens.runner import run_job

    overrides: dict[str, Any] = {"run": {}}
    if task:
        overrides["run"]["tasks"] = [name.strip() for value in task for name in value.split(",") if name.strip()]
    if backend:
        overrides["run"]["backends"] = _pairs(backend, "--backend")
    if fmt:
        overrides["run"]["formats"] = fmt
    if batch_size is not None:
        overrides["run"]["batch_size"] = batch_size
    if kind is not None:
        overrides["run"]["default_kind"] = kind
    if deid_mode is not None:
        overrides["run"]["deid"] = deid_mode
    if progress is not None:
        overrides["run"]["progress"] = progress
    try:
        cfg = load_config(config, overrides)
        logging.basicConfig(level=cfg.log_level, stream=sys.stderr)
        source = input_path if input_path is not None else bundled_examples()
        summary = run_job(source, out, cfg, resume=resume, csv_mapping=_pairs(csv_map, "--csv-map") or None)
    except MedlensError as exc:
        raise _fail(exc) from exc
    style = "red" if summary.exit_code else "green"
    err.print(
        f"[{style}]{summary.records} records[/] ({summary.resumed} resumed), {summary.findings} findings, "
        f"{summary.input_errors} unreadable inputs, {summary.record_errors} records with errors, "
        f"{summary.seconds:.1f} s -> {out}"
    )
    if summary.input_errors:
        err.print(f"  unreadable inputs are listed in {out / 'errors.jsonl'}")
    raise typer.Exit(code=summary.exit_code)


@app.command()
def assertion(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT.jsonl",
            help='Lines {"id","text","start","end"} or {"id","text","target"}; "-" reads stdin.',
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output JSONL file (default: stdout).")] = None,
) -> None:
    """Assertion status of one target concept per line: negated, uncertain, historical, hypothetical, family.

    Writes one JSON line per input line with the five statuses and the cue spans that decided them; a bad line
    gets an "error" object and the rest continue (exit code 1 if any line failed).
    """
    from medlens.text.assertion import assertion_lines

    try:
        lines = sys.stdin if str(input_path) == "-" else input_path.open(encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error[/] {escape(f'[ML108] {input_path}: cannot open ({exc.strerror})')}")
        raise typer.Exit(code=2) from exc
    failed = 0
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for row in assertion_lines(lines, source=str(input_path)):
            failed += "error" in row
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out:
            sink.close()
        if lines is not sys.stdin:
            lines.close()
    if failed:
        err.print(f"[red]{failed} line(s) failed[/]; see the 'error' objects in the output")
    raise typer.Exit(code=1 if failed else 0)


@app.command()
def deid(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT", help="File or folder: text inputs as for 'medlens run', and DICOM files (.dcm or DICM)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if missing).")],
    mode: Annotated[
        str | None, typer.Option(help="redact ([NAME]), mask (****) or surrogate (realistic, consistent fakes).")
    ] = None,
    spans: Annotated[
        bool, typer.Option("--spans", help="Also write spans.jsonl: id, start, end, type, detector (no text).")
    ] = False,
    report: Annotated[bool, typer.Option("--report", help="Print counts per PHI type.")] = False,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="Write the encrypted re-identification mapping here (outside --out); needs MEDLENS_DEID__MAPPING_KEY."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (.toml/.yaml), [deid] table.")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Kind of records whose input states none.")] = None,
) -> None:
    """De-identify clinical text and DICOM headers (HIPAA Safe Harbor identifiers; DICOM PS3.15 Annex E).

    Fails closed: a record or file that cannot be de-identified is withheld and listed in errors.jsonl. The secret
    that keeps surrogates consistent across runs comes from MEDLENS_DEID__SECRET or deid.key_file, never the command
    line. Exit code 0 when everything was written, 1 when something was withheld, 2 for usage errors.
    """
    from medlens.deid_runner import run_deid

    overrides: dict[str, Any] = {"run": {"default_kind": kind}} if kind else {}
    try:
        cfg = load_config(config, overrides)
        logging.basicConfig(level=cfg.log_level, stream=sys.stderr)
        summary = run_deid(
            input_path,
            out,
            cfg.deid,
            mode=mode,
            write_spans=spans,
            mapping_path=mapping,
            kind=cfg.run.default_kind,
            max_bytes=int(cfg.run.max_file_mb * 2**20),
        )
    except MedlensError as exc:
        raise _fail(exc) from exc
    if report:
        table = Table("PHI type", "spans", title="detected identifiers")
        for name, count in sorted(summary.phi_counts.items()):
            table.add_row(name, str(count))
        err.print(table)
    style = "red" if summary.exit_code else "green"
    err.print(
        f"[{style}]{summary.records} records de-identified[/], {summary.withheld} withheld, "
        f"{summary.input_errors} unreadable; DICOM: {summary.dicom_written} written, {summary.dicom_review} for "
        f"review, {summary.dicom_failed} failed -> {out}"
    )
    raise typer.Exit(code=summary.exit_code)


@app.command()
def info() -> None:
    """Print versions, installed extras and registered names (paste this into bug reports)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from medlens import __version__

    register_all()
    out = _stdout()
    out.print(f"medlens {__version__} on Python {platform.python_version()} ({platform.platform()})")
    table = Table("package", "version", title="dependencies and extras")
    for name in (
        "pydantic",
        "fhir.resources",
        "simple-icd-10-cm",
        "pyahocorasick",
        "pyarrow",  # parquet extra
        "cryptography",  # deid extra
        "pydicom",  # dicom extra
        "httpx",  # llm extra
        "fastapi",  # server extra
        "sqlalchemy",
        "psycopg",
        "nibabel",  # imaging extra
        "highdicom",
        "torch",  # monai extra
        "monai",
    ):
        try:
            table.add_row(name, version(name))
        except PackageNotFoundError:
            table.add_row(name, "[dim]not installed[/]")
    out.print(table)
    for title, registry in (("tasks", tasks), ("readers", readers), ("writers", writers)):
        out.print(f"[bold]{title}[/]: " + ", ".join(registry.names()))


@app.command()
def check(
    config: Annotated[Path | None, typer.Argument(help="Config file (.toml/.yaml) to check.")] = None,
) -> None:
    """Validate a configuration and report each task's backend, requirements and outputs before anything runs."""
    from medlens.pipeline import Pipeline

    try:
        cfg = load_config(config)
        pipeline = Pipeline.from_names(cfg.run.tasks, backends=cfg.run.backends, options=cfg.task_options)
        for name in cfg.run.formats:
            writers.resolve(name)
    except MedlensError as exc:
        raise _fail(exc) from exc
    out = _stdout()
    table = Table("task", "name", "backend", "requires", "assigns", "unmet")
    available = {"document.text"}
    problems = 0
    for row, stage in zip(pipeline.describe(), pipeline.stages, strict=True):
        unmet = [r for r in stage.requires if r not in available]
        problems += len(unmet)
        available.update(stage.assigns)
        table.add_row(
            row["alias"],
            row["name"],
            row["backend"],
            ", ".join(stage.requires),
            ", ".join(stage.assigns),
            ", ".join(unmet) or "-",
        )
    out.print(table)
    if problems:
        err.print(f"[red]{problems} unmet requirement(s)[/]: add the tasks that assign them earlier in run.tasks")
        raise typer.Exit(code=2)
    out.print("configuration OK")


@app.command()
def segment(
    input: Annotated[Path, typer.Argument(help="CT volume: a DICOM series folder, .nii/.nii.gz or .nrrd.")],
    prompt: Annotated[
        list[str],
        typer.Option("--prompt", "-p", help="What to segment: 'lungs', 'left lung', 'bone', 'body'... (repeat)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    series_uid: Annotated[
        str | None, typer.Option(help="SeriesInstanceUID to use when a DICOM folder holds several series.")
    ] = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="nifti, png, seg, sr, json (repeat; default nifti, png, seg, json)."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="hu (offline Hounsfield-unit rules, CT) or monai (a MONAI bundle given with --bundle).")
    ] = "hu",
    bundle: Annotated[
        Path | None, typer.Option(help="MONAI bundle folder (configs/ + models/), for --engine monai.")
    ] = None,
) -> None:
    """Text-prompted segmentation: masks, overlays, DICOM SEG/SR, volumes and HU statistics.

    Default engine: offline CT Hounsfield-unit rules (body, lungs, bone, fat, soft tissue, metal). --engine monai runs
    a MONAI bundle you supply (needs the `monai` extra: torch==2.13.0 and monai). Prompts the engine cannot segment
    are listed as "unsupported unless a model is configured" - never a guessed mask. Needs the `imaging` extra.
    Decision support for review, not for diagnostic use.
    """
    if engine not in ("hu", "monai"):
        raise typer.BadParameter("choose hu or monai", param_hint="--engine")
    if (engine == "monai") != (bundle is not None):
        raise typer.BadParameter("--bundle goes with --engine monai (and is required there)", param_hint="--bundle")
    try:
        from medlens.imaging.cli_support import segment_command
    except ImportError as exc:  # pragma: no cover - depends on the environment
        err.print(
            f"[red]error[/] ML501 segmentation needs the imaging extra: pip install 'medlens\\[imaging]' ({exc.name})"
        )
        raise typer.Exit(code=2) from exc
    try:
        summary = segment_command(
            input,
            prompt,
            out,
            series_uid=series_uid,
            formats=tuple(fmt) if fmt else ("nifti", "png", "seg", "json"),
            engine="monai" if engine == "monai" else "hu",
            bundle=bundle,
        )
    except MedlensError as exc:
        raise _fail(exc) from exc
    table = Table("structure", "volume mL", "mean HU", "QC flags")
    for s in summary.structures:
        m = s.measurement
        table.add_row(
            s.structure,
            f"{m.volume_ml:.1f}",
            f"{m.intensity.mean:.0f}" if m.intensity is not None else "-",
            ", ".join(s.qc.flags) or "-",
        )
    err.print(table)
    for u in summary.unsupported:
        err.print(f"[yellow]{escape(u.prompt)}[/]: {escape(u.answer)}")
    err.print(
        f"{len(summary.structures)} structure(s), {len(summary.files)} file(s) in {summary.seconds:.1f} s -> {out}"
    )


# --- the service: serve, audit, admin ------------------------------------------------------------------------------

audit_app = typer.Typer(help="Verify the tamper-evident audit log.", no_args_is_help=True)
admin_app = typer.Typer(help="Bootstrap the service: users, API tokens, projects (the API needs a first admin).")
app.add_typer(audit_app, name="audit")
app.add_typer(admin_app, name="admin")

DbOption = Annotated[
    str,
    typer.Option(
        "--db", envvar="MEDLENS_SERVER_DB_URL", help="Database URL: sqlite:///path or postgresql+psycopg://..."
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = "sqlite:///medlens.db",
) -> None:
    """Run the API and review service (FastAPI + uvicorn); migrates the database first. Needs the `server` extra.

    Other settings (secret key, limits, workers) come from MEDLENS_SERVER_* environment variables.
    """
    try:
        from medlens.server.app import run as run_server
    except ImportError as exc:  # pragma: no cover - depends on the environment
        err.print(
            f"[red]error[/] ML501 the service needs the server extra: pip install 'medlens\\[server]' ({exc.name})"
        )
        raise typer.Exit(code=2) from exc
    run_server(host=host, port=port, db_url=db)


@audit_app.command("verify")
def audit_verify(
    log: Annotated[Path | None, typer.Argument(help="A JSONL audit file (instead of --db).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Verify the audit table of this database.")] = None,
    expected_head: Annotated[
        str | None, typer.Option(help="Hash the last entry must have (detects entries removed from the end).")
    ] = None,
) -> None:
    """Check the hash chain: exit 0 when intact, 1 naming the first edited, removed, reordered or inserted entry."""
    if (log is None) == (db is None):
        raise typer.BadParameter("give either a JSONL audit FILE or --db URL")
    try:
        if db is not None:
            from medlens.store.audit_store import verify_database

            report = verify_database(db, expected_head=expected_head)
        else:
            from medlens.safety.audit import verify_jsonl

            report = verify_jsonl(str(log), expected_head=expected_head)
    except MedlensError as exc:
        raise _fail(exc) from exc
    out = _stdout()
    if report.ok:
        out.print(f"audit chain intact: {report.entries} entries, head {report.head_hash}")
        return
    out.print(
        f"[red]audit chain broken[/] at seq {report.first_bad_seq}: {report.problem} ({report.detail}); "
        f"{report.entries} entries read, head {report.head_hash}"
    )
    raise typer.Exit(code=1)


@admin_app.command("add-user")
def admin_add_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="reader, reviewer or admin.")] = "reviewer",
    password: Annotated[
        str | None, typer.Option(envvar="MEDLENS_NEW_PASSWORD", help="Password for web login (else token-only).")
    ] = None,
    db: DbOption = "sqlite:///medlens.db",
) -> None:
    """Create a user and print its id."""
    from medlens.server.accounts import add_user

    try:
        _stdout().print(add_user(db, username, role, password=password))
    except MedlensError as exc:
        raise _fail(exc) from exc


@admin_app.command("add-token")
def admin_add_token(
    username: Annotated[str, typer.Argument(help="User the token acts as.")],
    name: Annotated[str, typer.Option(help="Label of the token.")] = "cli",
    db: DbOption = "sqlite:///medlens.db",
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from medlens.server.accounts import add_token

    try:
        _stdout().print(add_token(db, username, name=name))
    except MedlensError as exc:
        raise _fail(exc) from exc


@admin_app.command("add-project")
def admin_add_project(
    name: Annotated[str, typer.Argument(help="Project name.")],
    member: Annotated[list[str] | None, typer.Option(help="Username to add as a member (repeatable).")] = None,
    db: DbOption = "sqlite:///medlens.db",
) -> None:
    """Create a project, add members, and print its id."""
    from medlens.server.accounts import add_member, add_project

    try:
        project = add_project(db, name)
        for username in member or []:
            add_member(db, project, username)
    except MedlensError as exc:
        raise _fail(exc) from exc
    _stdout().print(project)


def main() -> None:
    """Console-script entry point."""
    app()
