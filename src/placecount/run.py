"""Reproducible counts: ``run`` a whole count from its project file, ``verify`` and ``diff``.

``placecount.toml`` lists the sources, in order, and the outputs wanted. ``run``
builds the database from nothing, writes each output, and writes ``manifest.json``:
the version, the settings in full, every input and output with its SHA-256, and the
count's totals. Outputs carry no clock, user name or path, and rows come in a fixed
order, so the same inputs and settings give the same bytes on any machine.
``verify`` re-runs a manifest's count in a temporary folder and says, file by file
and total by total, what matches.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from . import __version__
from .errors import InputError, Issue
from .paths import open_regular, regular_file
from .project import (
    FlowsOutput,
    Project,
    ProjectSet,
    ReportOutput,
    ScenarioOutput,
    TraceOutput,
    key_path,
    load_project,
    load_project_set,
    split_selector,
    toml_line,
)
from .resources import resource_path
from .sources import file_digest

MANIFEST = "manifest.json"
DB_NAME = "placecount.duckdb"
#: Written in every output folder ``run`` builds: the files placecount owns there.
MARKER = ".placecount-output"


def _rel(path: Path, base: Path) -> str:
    """A path as the manifest writes it: relative, with forward slashes."""
    return PurePosixPath(Path(os.path.relpath(path.resolve(), base.resolve()))).as_posix()


def _project_inputs(project: Project, base: Path, project_file: Path) -> list[Path]:
    """Every file the project names as an input: what an output folder must not hold."""
    named = [project_file]
    for src in project.sources:
        named.append(base / src.file)
        if src.mapping:
            named.append(base / src.mapping)
    named += [base / m for m in project.mappings.values()]
    for spec in project.outputs:
        if isinstance(spec, FlowsOutput | ScenarioOutput) and spec.input:
            named.append(base / spec.input)
    return named


def _owned(out: Path) -> set[str] | None:
    """The files placecount wrote in ``out``, by its marker (or, for a folder written
    before there were markers, by its manifest); None when nothing says placecount owns it."""
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
        return {str(name) for name in marker["files"]} | {MARKER}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        names = {str(o["path"]) for o in manifest["outputs"]}
        names |= {str(p["path"]) for p in manifest.get("places", [])}
        places = {str(p["key"]) for p in manifest.get("places", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return names | {MANIFEST, DB_NAME} | {f"{k}/{DB_NAME}" for k in places}


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _not_ours(message: str, out: Path) -> InputError:
    return InputError.one(
        "output-not-ours",
        f"the output folder holds {message}: `run` replaces its output folder whole, and "
        "would lose it.",
        file=out.name,
        note="Give --out a new or empty folder, or one an earlier `run` wrote.",
    )


def _check_out(out: Path, project_file: Path, inputs: list[Path]) -> None:
    """Refuse an output folder that holds anything placecount did not write there."""
    own_db = (project_file.parent / DB_NAME).resolve()
    owned = (_owned(out) if out.is_dir() else None) or set()
    if _inside(own_db, out) and own_db.exists() and _rel(own_db, out) not in owned:
        raise _not_ours(f"the project's database {_rel(own_db, out)}", out)
    for path in inputs:
        if _inside(path.resolve(), out):
            raise _not_ours(f"an input of the count, {_rel(path, out)!r}", out)
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError.one(
            "output-not-ours",
            "the output folder is a file, not a folder.",
            file=out.name,
            note="Give --out a new or empty folder.",
        )
    for path in sorted(out.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        name = PurePosixPath(path.relative_to(out)).as_posix()
        if name not in owned and not (name.endswith(".wal") and name[:-4] in owned):
            raise _not_ours(f"{name!r}, which placecount did not write", out)


def _outside(name: str) -> str | None:
    """Why an output path named in a project or manifest is not inside its folder, or None."""
    if not name or PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor:
        return "is an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "climbs out of it with '..'"
    return None


def _output_entries(
    loc: tuple[object, ...], outputs: list[Any]
) -> list[tuple[tuple[object, ...], str]]:
    entries: list[tuple[tuple[object, ...], str]] = []
    for i, spec in enumerate(outputs):
        for field in ("file", "chart"):
            name = getattr(spec, field, None)
            if name is not None:
                entries.append(((*loc, i, field), name))
    return entries


def _confine(project_file: Path, entries: list[tuple[tuple[object, ...], str]]) -> None:
    """Refuse a project whose outputs would be written outside the output folder."""
    for loc, name in entries:
        why = _outside(name)
        if why is None:
            continue
        try:
            row = toml_line(project_file.read_text(encoding="utf-8"), loc)
        except (OSError, ValueError):
            row = None
        raise InputError.one(
            "output-outside",
            f"the output {name!r} {why}: `run` writes only inside its output folder.",
            file=project_file.name,
            row=row,
            header=key_path(loc),
            note="Give the output's path relative to the output folder, without '..'.",
        )


def _target(out: Path, name: str) -> Path:
    """Where an output named in the project goes: inside ``out``, or an error."""
    target = out / name
    if _outside(name) is not None or not _inside(target.resolve(), out.resolve()):
        raise InputError.one(
            "output-outside",
            f"the output {name!r} would be written outside the output folder.",
            note="Give the output's path relative to the output folder, without '..'.",
        )
    return target


def _aside_prefix(out: Path) -> str:
    """The start of the name of a folder built (or moved aside) beside ``out``: it names
    the process, so a later run can tell a killed run's folder from a running one's."""
    return f".{out.name}-{os.getpid()}-"


def _running(pid: int) -> bool:
    if os.name != "posix":
        return True  # no safe way to ask here: the folder is left, and ignored
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def _left_by_killed_run(folder: Path, out: Path) -> bool:
    """Whether ``folder`` beside ``out`` is a ``.new`` or ``.old`` folder of a run whose
    process is gone: named as ``_aside_prefix`` and ``tempfile`` name them, nothing else."""
    import re

    m = re.fullmatch(rf"\.{re.escape(out.name)}-(\d+)-[a-z0-9_]{{8}}\.(?:new|old)", folder.name)
    if m is None or folder.is_symlink() or not folder.is_dir():
        return False
    pid = int(m.group(1))
    return pid != os.getpid() and not _running(pid)


def _clear_stale(out: Path) -> None:
    """What a killed run left beside ``out``: its half-built ``.new`` folder is removed;
    an ``.old`` folder (the last complete output, moved aside for the swap) is put back
    when the kill came before the new output took its place, and removed otherwise."""
    left = [p for p in out.parent.iterdir() if _left_by_killed_run(p, out)]
    olds = [p for p in left if p.suffix == ".old" and _owned(p) is not None]
    if olds and not out.exists():
        os.replace(max(olds, key=lambda p: p.stat().st_mtime), out)
    for p in left:
        if p.exists():
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def _building(out: Path) -> Iterator[Path]:
    """A new empty folder beside ``out`` to build in; swapped in for ``out`` only when
    the block finishes, with a marker naming the files placecount wrote there."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(out)
    new = Path(tempfile.mkdtemp(prefix=_aside_prefix(out), suffix=".new", dir=out.parent))
    try:
        yield new
        files = sorted(
            PurePosixPath(p.relative_to(new)).as_posix()
            for p in new.rglob("*")
            if p.is_file() and p != new / MARKER
        )
        from .render import to_json, write_output

        write_output(new / MARKER, to_json({"files": files}))
        umask = os.umask(0)
        os.umask(umask)
        new.chmod(0o777 & ~umask)
        _swap(new, out)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def _swap(new: Path, out: Path) -> None:
    """Put the folder ``new`` where ``out`` is, the old one moved aside and then removed."""
    try:
        os.replace(new, out)  # out is missing or an empty folder
        return
    except OSError:
        if not out.is_dir():
            raise
    old = Path(tempfile.mkdtemp(prefix=_aside_prefix(out), suffix=".old", dir=out.parent))
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def run(
    project_file: Path,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    strict: bool = False,
    ingested: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """Build the count described by ``project_file`` from scratch and write its outputs.

    Returns the manifest, which is also written to ``out/manifest.json``. The count is
    built in a new folder beside ``out`` and swapped in only when it is complete, so a
    failed or killed run leaves the last complete output as it was.
    """
    project_file = Path(project_file)
    real, key = split_selector(project_file)
    if key is None:
        pset = load_project_set(real)
        if pset is not None:
            return run_set(real, pset, out, progress, strict=strict, ingested=ingested)
    project = load_project(project_file)
    if project is None:
        raise InputError.one(
            "no-project",
            f"there is no project file {project_file.name!r} here.",
            note="Run `placecount init`, then list [[sources]] and [[outputs]] in it.",
        )
    if not project.sources:
        raise InputError.one(
            "bad-project",
            "the project lists no [[sources]] to ingest.",
            file=project_file.name,
            note="Add a [[sources]] table for each spreadsheet.",
        )
    base = project_file.parent
    final = (Path(out) if out is not None else base / "out").resolve()
    _confine(real, _output_entries(("outputs",), project.outputs))
    _check_out(final, real, _project_inputs(project, base, real))
    with _building(final) as out:
        manifest = _run_into(
            project, project_file, real, key, base, out, progress, strict, ingested
        )
    return manifest


def _run_into(
    project: Project,
    project_file: Path,
    real: Path,
    key: str | None,
    base: Path,
    out: Path,
    progress: Callable[[str], None] | None,
    strict: bool = False,
    ingested: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """Build the count in ``out``, a new empty folder, and write its manifest there.

    ``ingested`` is told each source's ingest result (for its summary and warnings).
    ``strict`` is ingest's --strict for every source, and any warning left then stops
    the run before its outputs replace the last complete ones."""
    from . import api

    db = out / DB_NAME
    inputs: dict[str, Path] = {_rel(real, base): real}
    used_kinds: list[str] = []
    warned: list[Issue] = []
    for i, src in enumerate(project.sources, start=1):
        path = base / src.file
        if progress:
            progress(f"ingest {src.kind} {src.file} ({i}/{len(project.sources)})")
        mapping = base / src.mapping if src.mapping else None
        result = api.ingest(
            src.kind,
            [path],
            db,
            sheet=src.sheet,
            org=src.org,
            orgs=src.orgs,
            measure=src.measure,
            year=src.year,
            units=src.units,
            header_row=src.header_row,
            mapping=mapping,
            columns=[f"{k}={v}" for k, v in src.columns.items()],
            region=src.region,
            share=src.share,
            place_population=src.place_population,
            region_population=src.region_population,
            part=src.part,
            table=src.table,
            strict=src.strict or strict,
            count=src.count,
            project_file=project_file,
        )
        if ingested is not None:
            ingested(src.file, result)
        warned += [i for i in result.issues if i.severity == "warning"]
        inputs[_rel(path, base)] = path
        if mapping is not None:
            inputs[_rel(mapping, base)] = mapping
        if src.kind not in used_kinds:
            used_kinds.append(src.kind)
    if strict and warned:
        raise InputError(
            issues=[
                *warned,
                Issue(
                    code="strict-warnings",
                    message=f"--strict: {len(warned)} warning{'s' if len(warned) != 1 else ''} "
                    "above stop the run; the last complete output is kept as it was.",
                ),
            ]
        )
    for kind, mapping_file in sorted(project.mappings.items()):
        if kind in used_kinds:
            inputs[_rel(base / mapping_file, base)] = base / mapping_file
    outputs: list[Path] = []
    for i, spec in enumerate(project.outputs, start=1):
        if progress:
            progress(f"write {spec.file} ({i}/{len(project.outputs)})")
        outputs += _write_output(spec, db, base, out, project_file, inputs)
    reference = _reference_inputs(used_kinds)
    totals = _totals(db, project_file)
    manifest = {
        "placecount_version": __version__,
        "project_file": _rel(real, out) + (f"#{key}" if key else ""),
        "settings": project.model_dump(mode="json"),
        "inputs": [_entry(name, path) for name, path in inputs.items()],
        "reference_data": [_entry(name, path) for name, path in reference.items()],
        "outputs": [_entry(_rel(p, out), p) for p in outputs],
        "totals": totals,
    }
    from .render import to_json, write_output

    write_output(out / MANIFEST, to_json(manifest))
    return manifest


def run_set(
    project_file: Path,
    pset: ProjectSet,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    strict: bool = False,
    ingested: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """Build each place of a project of several in its own folder under ``out``, then the
    comparisons; ``out/manifest.json`` lists every input, output and total of the set."""
    base = project_file.parent
    final = (Path(out) if out is not None else base / "out").resolve()
    named = [project_file] + [base / c.deflators for c in pset.compare if c.deflators]
    for entry in pset.places:
        sub = pset.project_for(entry.slug())
        named += _project_inputs(sub, base, project_file)
    entries = _output_entries(("outputs",), pset.outputs)
    entries += _output_entries(("compare",), pset.compare)
    for j, entry in enumerate(pset.places):
        entries += _output_entries(("places", j, "outputs"), entry.outputs or [])
    _confine(project_file, entries)
    _check_out(final, project_file, named)
    with _building(final) as out:
        return _run_set_into(project_file, pset, base, out, progress, strict, ingested)


def _run_set_into(
    project_file: Path,
    pset: ProjectSet,
    base: Path,
    out: Path,
    progress: Callable[[str], None] | None,
    strict: bool = False,
    ingested: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    from . import api, compare
    from .render import to_json, write_output

    places: list[dict[str, Any]] = []
    inputs: dict[str, dict[str, Any]] = {}
    reference: dict[str, dict[str, Any]] = {}
    outputs: list[dict[str, Any]] = []
    totals: dict[str, Any] = {}
    runs: list[tuple[str, Path, Path]] = []
    for entry in pset.places:
        key = entry.slug()
        if progress:
            progress(f"place {key}")
        folder = out / key
        selected = project_file.with_name(f"{project_file.name}#{key}")
        manifest = run(selected, folder, progress, strict=strict, ingested=ingested)
        runs.append((key, folder, selected))
        for item in manifest["inputs"]:
            inputs.setdefault(item["path"], item)
        for item in manifest["reference_data"]:
            reference.setdefault(item["path"], item)
        outputs += [{**o, "path": f"{key}/{o['path']}"} for o in manifest["outputs"]]
        places.append({"key": key, **_entry(f"{key}/{MANIFEST}", folder / MANIFEST)})
        totals[key] = manifest["totals"]
    for spec in pset.compare:
        if progress:
            progress(f"compare {spec.file}")
        target = _target(out, spec.file)
        fmt = compare.SUFFIXES.get(target.suffix.lower())
        if fmt is None:
            raise _bad_suffix(spec.file, compare.FORMATS)
        counts = []
        for key, folder, selected in runs:
            report = api.report(folder / DB_NAME, by=spec.by, project_file=selected)
            counts.append(compare.count_from_run(key, folder / MANIFEST, report, selected))
        deflators = base / spec.deflators if spec.deflators else None
        result = compare.compare(
            [],
            by=spec.by,
            prices=spec.prices,
            base_year=spec.base_year,
            deflators=deflators,
            mixed=spec.mixed,
            benchmarks=spec.benchmarks,
            england_population=spec.england_population,
            counts=counts,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        write_output(target, compare.output(result, fmt))
        outputs.append(_entry(_rel(target, out), target))
        if deflators is not None:
            inputs.setdefault(_rel(deflators, base), _entry(_rel(deflators, base), deflators))
    inputs = {_rel(project_file, base): _entry(_rel(project_file, base), project_file)} | inputs
    manifest = {
        "placecount_version": __version__,
        "project_file": _rel(project_file, out),
        "settings": pset.model_dump(mode="json"),
        "places": places,
        "inputs": list(inputs.values()),
        "reference_data": [reference[k] for k in sorted(reference)],
        "outputs": outputs,
        "totals": {"places": totals},
    }
    write_output(out / MANIFEST, to_json(manifest))
    return manifest


def _entry(name: str, path: Path) -> dict[str, Any]:
    digest, size = file_digest(path)
    return {"path": name, "sha256": digest, "size": size}


def _reference_inputs(kinds: list[str]) -> dict[str, Path]:
    """The bundled data a count depends on: the classification, schemas and mappings."""
    out = {"placecount:data/cofog/cofog.csv": resource_path("data", "cofog", "cofog.csv")}
    for kind in sorted(kinds):
        out[f"placecount:schemas/{kind}.toml"] = resource_path("schemas", f"{kind}.toml")
        mapping = resource_path("data", "cofog", "mappings", f"{kind}.csv")
        if mapping.exists():
            out[f"placecount:data/cofog/mappings/{kind}.csv"] = mapping
    departments = resource_path("data", "reference", "departments.csv")
    out["placecount:data/reference/departments.csv"] = departments
    return out


def _write_output(
    spec: Any, db: Path, base: Path, out: Path, project_file: Path, inputs: dict[str, Path]
) -> list[Path]:
    from . import api, render

    target = _target(out, spec.file)
    target.parent.mkdir(parents=True, exist_ok=True)
    fmt = render.SUFFIX_FORMATS.get(target.suffix.lower())
    written = [target]
    if isinstance(spec, ReportOutput):
        if fmt not in render.REPORT_FORMATS:
            raise _bad_suffix(spec.file, render.REPORT_FORMATS)
        result = api.report(
            db,
            by=spec.by,
            kinds=spec.kind,
            orgs=spec.org,
            cofog=spec.cofog,
            theme=spec.theme,
            detail=fmt == "xlsx",
            project_file=project_file,
        )
        if fmt == "html":
            from .report_html import project_charts

            result["sources"] = api.sources(db)
            result["charts"] = project_charts(db, project_file)
        render.write_output(target, render.report_writer(result, fmt))
    elif isinstance(spec, TraceOutput):
        if fmt != "json":
            raise _bad_suffix(spec.file, ("json",))
        text = api.trace_json(db, spec.code, kinds=spec.kind, by=spec.by, project_file=project_file)
        render.write_output(target, text)
    elif isinstance(spec, FlowsOutput):
        if fmt not in render.FLOWS_FORMATS:
            raise _bad_suffix(spec.file, render.FLOWS_FORMATS)
        chart = _target(out, spec.chart) if spec.chart else None
        source = base / spec.input if spec.input else None
        result = api.flows(
            source,
            db=db,
            rate=spec.rate,
            measured=spec.measured,
            sensitivity=spec.sensitivity,
            collapse=spec.collapse,
            chart=chart,
            title=spec.title,
        )
        render.write_output(target, render.flows_output(result, fmt))
        if source is not None:
            inputs[_rel(source, base)] = source
        if chart is not None:
            written.append(chart)
    elif isinstance(spec, ScenarioOutput):
        written = _write_scenario(spec, db, base, out, inputs)
    return written


def _write_scenario(
    spec: ScenarioOutput, db: Path, base: Path, out: Path, inputs: dict[str, Path]
) -> list[Path]:
    from . import render, scenario, scenario_render

    source = base / spec.input
    inputs[_rel(source, base)] = source
    model = scenario.load_scenario(source)
    result = scenario.price(model, db)
    target = _target(out, spec.file)
    fmt = render.SUFFIX_FORMATS.get(target.suffix.lower(), "")
    render.write_output(target, scenario_render.scenario_output(result, fmt))
    written = [target]
    if spec.chart:
        chart = _target(out, spec.chart)
        scenario_render.scenario_chart(result, chart)
        written.append(chart)
    return written


def _bad_suffix(name: str, formats: tuple[str, ...]) -> InputError:
    return InputError.one(
        "bad-project",
        f"outputs: cannot tell how to write {name!r}.",
        file="placecount.toml",
        note="Use one of the extensions: "
        + ", ".join(f".{f}" if f != "table" else ".txt" for f in formats)
        + ".",
    )


def _totals(db: Path, project_file: Path) -> dict[str, Any]:
    """The count's totals, for the manifest: what `verify` and `diff` compare."""
    from . import api

    result = api.report(db, project_file=project_file)
    rec = result["reconciliation"]
    return {
        "count_gbp": rec["count_gbp"],
        "gross_gbp": rec["gross_gbp"],
        "transfers_gbp": rec["transfers_gbp"],
        "replaced_gbp": rec["replaced_gbp"],
        "ndpb_memo_gbp": result["totals"]["ndpb_memo_gbp"],
        "by_kind_gbp": result["totals"]["by_kind_gbp"],
        "records": result["records"],
    }


# -- verify -------------------------------------------------------------------------------


def _named_inputs(project_file: Path) -> set[Path]:
    """The files a project file names as inputs, resolved; only the project file itself
    when it cannot be read (the run that follows says why)."""
    real, key = split_selector(project_file)
    named = [real]
    try:
        pset = load_project_set(real) if key is None else None
        if pset is not None:
            named += [real.parent / c.deflators for c in pset.compare if c.deflators]
            for entry in pset.places:
                named += _project_inputs(pset.project_for(entry.slug()), real.parent, real)
        else:
            project = load_project(project_file)
            if project is not None:
                named += _project_inputs(project, real.parent, real)
    except InputError:
        pass
    return {p.resolve() for p in named}


def _manifest_input(name: str, base: Path, named: set[Path], manifest_file: Path) -> Path:
    """Where a manifest's input entry is, if ``verify`` may read it: inside the project's
    folder, or named by the project file itself (``../shared/outturn.xlsx``), or bundled
    reference data. A manifest someone sends cannot make verify read ``/etc/passwd``."""

    def refuse(why: str) -> InputError:
        return InputError.one(
            "input-outside",
            f"the manifest's input {name!r} {why}: `verify` reads only the inputs its "
            "project file names, inside the project's folder.",
            file=manifest_file.name,
            value=name,
            note="This manifest was not written by `placecount run` for this project; "
            "do not trust it.",
        )

    if name.startswith("placecount:"):
        rest = name.split(":", 1)[1]
        if _outside(rest) is not None:
            raise refuse(f"{_outside(rest)}")
        return resource_path(*rest.split("/"))
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor:
        raise refuse("is an absolute path")
    path = base / name
    resolved = path.resolve()
    if not _inside(resolved, base.resolve()) and resolved not in named:
        raise refuse("is outside the project's folder")
    return path


def _digest_regular(path: Path, name: str, manifest_file: Path) -> str:
    """The SHA-256 of a manifest's input, read only if it is a regular file."""
    import hashlib

    try:
        fh = open_regular(path, "manifest's input")
    except InputError as exc:
        from dataclasses import replace

        issue = replace(exc.issues[0], file=manifest_file.name, value=name)
        raise InputError(issues=[issue]) from None
    h = hashlib.sha256()
    with fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(manifest_file: Path) -> dict[str, Any]:
    """Re-run a manifest's count in a temporary folder and compare, file by file."""
    manifest_file = Path(manifest_file)
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        project_file = (manifest_file.parent / manifest["project_file"]).resolve()
        expected_inputs = manifest["inputs"] + manifest.get("reference_data", [])
        expected_outputs = manifest["outputs"]
        outside = [(o["path"], _outside(str(o["path"]))) for o in expected_outputs]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError.one(
            "bad-manifest", f"not a placecount manifest: {exc}.", file=manifest_file.name
        ) from exc
    for name, why in outside:
        if why is not None:
            raise InputError.one(
                "output-outside",
                f"the manifest's output {name!r} {why}: a manifest's outputs are inside "
                "its folder.",
                file=manifest_file.name,
                note="This manifest was not written by `placecount run`; do not trust it.",
            )
    if (
        PurePosixPath(manifest["project_file"]).is_absolute()
        or PureWindowsPath(manifest["project_file"]).anchor
    ):
        raise InputError.one(
            "input-outside",
            f"the manifest's project file {manifest['project_file']!r} is an absolute path: "
            "`run` writes it relative to the manifest.",
            file=manifest_file.name,
            note="This manifest was not written by `placecount run`; do not trust it.",
        )
    base = project_file.parent
    real_project, _ = split_selector(project_file)
    if real_project.exists():
        regular_file(real_project, "project file")
    named = _named_inputs(project_file)
    checks: list[dict[str, Any]] = []
    for item in expected_inputs:
        name = str(item["path"])
        path = _manifest_input(name, base, named, manifest_file)
        if not path.exists():
            checks.append({"what": "input", "path": name, "status": "missing"})
            continue
        digest = _digest_regular(path, name, manifest_file)
        status = "same" if digest == item["sha256"] else "changed"
        checks.append(
            {
                "what": "input",
                "path": name,
                "status": status,
                "expected_sha256": item["sha256"],
                "actual_sha256": digest,
            }
        )
    with tempfile.TemporaryDirectory(prefix="placecount-verify-") as tmp:
        again = run(project_file, Path(tmp))
        actual = {o["path"]: o["sha256"] for o in again["outputs"]}
        for item in expected_outputs:
            got = actual.get(item["path"])
            status = "missing" if got is None else ("same" if got == item["sha256"] else "differs")
            checks.append(
                {
                    "what": "output",
                    "path": item["path"],
                    "status": status,
                    "expected_sha256": item["sha256"],
                    "actual_sha256": got,
                }
            )
        for name in sorted(set(actual) - {o["path"] for o in expected_outputs}):
            checks.append({"what": "output", "path": name, "status": "new"})
        if "places" in manifest["totals"]:
            before, after = manifest["totals"]["places"], again["totals"].get("places", {})
            totals = []
            for key in sorted(set(before) | set(after)):
                for row in compare_totals(before.get(key, {}), after.get(key, {})):
                    totals.append({**row, "total": f"{key}: {row['total']}"})
        else:
            totals = compare_totals(manifest["totals"], again["totals"])
        shutil.rmtree(tmp, ignore_errors=True)
    if again["placecount_version"] != manifest.get("placecount_version"):
        checks.append(
            {
                "what": "version",
                "path": "placecount",
                "status": "changed",
                "expected": manifest.get("placecount_version"),
                "actual": again["placecount_version"],
            }
        )
    ok = all(c["status"] == "same" for c in checks) and all(
        t["moved_gbp"] == "0.00" for t in totals
    )
    return {"ok": ok, "manifest": manifest_file.name, "checks": checks, "totals": totals}


def compare_totals(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each total and each COFOG × kind figure, before and after, with how far it moved."""
    rows: list[dict[str, Any]] = []
    for key in ("count_gbp", "gross_gbp", "transfers_gbp", "replaced_gbp", "ndpb_memo_gbp"):
        rows.append(_moved(key, before.get(key), after.get(key)))
    b = {(r["cofog_code"], r["kind"]): r["amount_gbp"] for r in before.get("records", [])}
    a = {(r["cofog_code"], r["kind"]): r["amount_gbp"] for r in after.get("records", [])}
    for code, kind in sorted(set(b) | set(a), key=lambda k: (k[0] or "~", k[1])):
        rows.append(
            _moved(f"{code or 'unmapped'} {kind}", b.get((code, kind)), a.get((code, kind)))
        )
    return rows


def _moved(key: str, before: str | None, after: str | None) -> dict[str, Any]:
    moved = Decimal(after or 0) - Decimal(before or 0)
    return {
        "total": key,
        "expected_gbp": before,
        "actual_gbp": after,
        "moved_gbp": str(moved.quantize(Decimal("0.01"))),
    }


# -- diff ---------------------------------------------------------------------------------


def diff(first: Path, second: Path) -> dict[str, Any]:
    """What changed between two counts (two manifests, or two `report --format json` files)."""
    a, b = _load_totals(Path(first)), _load_totals(Path(second))
    rows = compare_totals(a, b)
    changed = [r for r in rows if r["moved_gbp"] != "0.00"]
    return {
        "first": Path(first).name,
        "second": Path(second).name,
        "changed": changed,
        "unchanged": len(rows) - len(changed),
    }


def read_json(path: Path) -> Any:
    """A manifest or report JSON file, or a clear error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError.one(
            "bad-manifest", f"cannot be read as JSON: {exc}.", file=path.name
        ) from exc


def _load_totals(path: Path) -> dict[str, Any]:
    data = read_json(path)
    if isinstance(data, dict) and "totals" in data and "records" in data.get("totals", {}):
        return dict(data["totals"])
    if isinstance(data, dict) and "records" in data and "reconciliation" in data:
        rec = data["reconciliation"]
        return {
            "count_gbp": rec["count_gbp"],
            "gross_gbp": rec["gross_gbp"],
            "transfers_gbp": rec["transfers_gbp"],
            "replaced_gbp": rec.get("replaced_gbp"),
            "ndpb_memo_gbp": data["totals"].get("ndpb_memo_gbp"),
            "records": data["records"],
        }
    raise InputError.one(
        "bad-manifest",
        "this is neither a manifest.json nor a report in JSON.",
        file=path.name,
        note="Give two manifest.json files, or two files from `placecount report --format json`.",
    )


__all__ = ["Project", "diff", "run", "verify"]
