"""`osteoreg build`: run the dbt project against one warehouse through dbt's Python API.

A build is full or incremental (contract section 9, osteoreg issue 17). `plan` decides: full when
asked (`--full-refresh`), when no earlier build is recorded in `audit.builds`, when the dbt
project (models, macros, seeds, dbt_project.yml) or the osteoreg/dbt versions differ from the
last build's fingerprint, when the rules in effect (`--vars`) differ, or for a partial
`--select`; else incremental, and dbt's incremental models recompute the patients of the loads
after the last build's `max_load_id` (model int_build_scope). The plan's reason is what the
console prints. Every build dbt ran is recorded in `audit.builds`; after a `partial` or `failed` one the next
build is whole.

dbt is imported inside `build` because importing it costs about two seconds, which every other
command would otherwise pay. The warehouse path reaches `dbt_project/profiles.yml` through the
environment (`OSTEOREG_WAREHOUSE_PATH`), so `osteoreg --warehouse X build` builds X. dbt's target
and log folders live beside the warehouse, never in the repository.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .errors import BlockingProblem
from .paths import DBT_PROJECT_DIR
from .rules import refuse_unknown_vars
from .warehouse import ensure_current, session

FULL, INCREMENTAL, PARTIAL, FAILED = "full", "incremental", "partial", "failed"
# The project files whose change changes the marts (data tests and docs do not).
# An --exclude of these only (data and unit tests) still builds every model: a whole build.
_TEST_TYPES = ("resource_type:test", "resource_type:unit_test")
_FINGERPRINTED = {"seeds": ("seeds",), "models and macros": ("models", "macros", "dbt_project.yml")}

WAREHOUSE_ENV = "OSTEOREG_WAREHOUSE_PATH"
# marts.rules_in_effect records the osteoreg version that ran the build from here.
VERSION_ENV = "OSTEOREG_VERSION"

# dbt's resource types as a user reads them in a sentence.
_KIND = {"model": "model", "seed": "seed", "test": "test", "unit_test": "unit test",
         "snapshot": "snapshot", "source": "source"}
_FAILED = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class NodeResult:
    """One dbt node's outcome, kept so a caller can report or assert on any of them."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    seconds: float
    message: str | None = None
    failures: int | None = None
    description: str | None = None   # the node's YAML description (what a warning means)


@dataclass(frozen=True)
class BuildPlan:
    """What a build will do and why, decided before dbt runs."""

    mode: str                      # FULL or INCREMENTAL
    reason: str                    # a clause the console prints after "full build:" / "incremental build:"
    since_load_id: int | None      # incremental: the loads after this one are new
    max_load_id: int | None        # the highest loaded load id this build consumes
    fingerprint: str               # "<part>=<sha256>;..." of the project parts and versions
    rules_fingerprint: str         # sha256 of the --vars given
    partial: bool = False          # a --select/--exclude build: recorded so the next one is whole


@dataclass
class BuildResult:
    warehouse: Path
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    plan: BuildPlan | None = None
    patients_in_scope: int | None = None   # incremental: the patients recomputed

    def count(self, resource_type: str) -> int:
        return sum(1 for node in self.nodes if node.resource_type == resource_type)

    @property
    def models(self) -> int:
        return self.count("model")

    @property
    def seeds(self) -> int:
        return self.count("seed")

    @property
    def tests(self) -> int:
        return self.count("test")

    @property
    def unit_tests(self) -> int:
        return self.count("unit_test")

    @property
    def warnings(self) -> list[NodeResult]:
        """Tests configured to warn that found rows (e.g. a source sending only radius DXA rows)."""
        return [node for node in self.nodes if node.status == "warn"]

    def node(self, name: str) -> NodeResult:
        return next(node for node in self.nodes if node.name == name)


def dbt_work_dir(warehouse_path: Path) -> Path:
    """dbt's target and logs for this warehouse: beside it, so parses are reused per warehouse."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + ".dbt")


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def project_fingerprint() -> str:
    """The parts of the dbt project the marts depend on, and the versions that compile them."""
    from dbt.version import __version__ as dbt_version

    parts = []
    for part, names in _FINGERPRINTED.items():
        files = []
        for name in names:
            root = DBT_PROJECT_DIR / name
            files += [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        parts.append(f"{part}={_digest(files)}")
    versions = hashlib.sha256(f"osteoreg {__version__} dbt {dbt_version}".encode()).hexdigest()
    parts.append(f"versions={versions}")
    return ";".join(parts)


def rules_fingerprint(vars: dict | None) -> str:
    return hashlib.sha256(json.dumps(vars or {}, sort_keys=True, default=str).encode()).hexdigest()


def _changed_parts(before: str, now: str) -> list[str]:
    old = dict(part.split("=", 1) for part in before.split(";") if "=" in part)
    new = dict(part.split("=", 1) for part in now.split(";") if "=" in part)
    return [part for part in new if old.get(part) != new[part]]


def plan(warehouse_path: Path, vars: dict | None = None, full_refresh: bool = False,
         select: str | None = None, exclude: str | None = None) -> BuildPlan:
    """Full or incremental, and why (see the module docstring); reads the build and load ledgers."""
    fingerprint, rules = project_fingerprint(), rules_fingerprint(vars)
    with session(Path(warehouse_path), read_only=True) as conn:
        max_load_id = conn.execute(
            "SELECT max(load_id) FROM audit.loads WHERE status = 'loaded'").fetchone()[0]
        last = conn.execute(
            "SELECT max_load_id, project_fingerprint, rules_fingerprint, mode FROM audit.builds "
            "ORDER BY build_id DESC LIMIT 1").fetchone()
        built = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
            "AND table_name = 'fct_bmd_assessment'").fetchone()[0] > 0

    def full(reason: str, partial: bool = False) -> BuildPlan:
        return BuildPlan(FULL, reason, None, max_load_id, fingerprint, rules, partial)

    if select:
        return full(f"a partial build (--select {select}) rebuilds what it selects whole", partial=True)
    if exclude and not all(part.startswith(_TEST_TYPES) for part in exclude.split()):
        return full(f"a partial build (--exclude {exclude}) rebuilds what it runs whole", partial=True)
    if full_refresh:
        return full("--full-refresh was asked for")
    if last is None or not built:
        return full("no earlier build of this warehouse is recorded")
    since, last_fingerprint, last_rules, last_mode = last
    if last_mode == PARTIAL:
        return full("the last build was partial (--select or --exclude)")
    if last_mode == FAILED:
        return full("the last build did not succeed")
    changed = _changed_parts(last_fingerprint, fingerprint)
    if changed:
        return full(f"the {' and the '.join(changed)} changed since the last build")
    if last_rules != rules:
        return full("the rules in effect (--vars) differ from the last build's")
    new = "no new loads" if max_load_id is None or since is not None and max_load_id <= since else \
        f"the loads after load {since}"
    return BuildPlan(INCREMENTAL, f"recomputing the patients of {new}", since, max_load_id, fingerprint, rules)


def record(warehouse_path: Path, build_plan: BuildPlan, started_at, patients_in_scope: int | None,
           failed: bool = False) -> None:
    """One row in audit.builds: the next build starts after a whole build that succeeded, and is
    whole after a partial or failed one."""
    from dbt.version import __version__ as dbt_version

    mode = FAILED if failed else PARTIAL if build_plan.partial else build_plan.mode
    with session(Path(warehouse_path)) as conn:
        conn.execute(
            "INSERT INTO audit.builds (started_at, finished_at, mode, reason, since_load_id, max_load_id, "
            "patients_in_scope, project_fingerprint, rules_fingerprint, osteoreg_version, dbt_version) "
            "VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [started_at, mode, build_plan.reason, build_plan.since_load_id, build_plan.max_load_id,
             patients_in_scope, build_plan.fingerprint, build_plan.rules_fingerprint, __version__, dbt_version])


def _patients_in_scope(warehouse_path: Path) -> int | None:
    with session(Path(warehouse_path), read_only=True) as conn:
        return conn.execute("SELECT count(DISTINCT patient_key) FROM intermediate.int_build_scope").fetchone()[0]


def build(warehouse_path: Path, vars: dict | None = None, select: str | None = None,
          progress: Callable[[str], None] | None = None, exclude: str | None = None,
          full_refresh: bool = False, target: str = "duckdb") -> BuildResult:
    """Run `dbt build` (seeds, models, unit and data tests) on the warehouse, full or incremental
    as `plan` decides (`full_refresh` forces a full one).

    `target` is the profile's output (duckdb, spark, postgres); on Spark and PostgreSQL the raw
    layer must already be where the engine reads it (etl/cluster/targets.py does that). A build on
    another engine is whole, and the ledger records it as partial, so that the next DuckDB build
    (whose intermediate tables it did not touch) is whole too.

    Raises BlockingProblem naming the first failing node when any model, seed or test fails, so
    the pipeline stops before quality checks and scoring read half-built marts. Raises
    UsageError, before anything runs, when `vars` names a var the project does not define.
    """
    if vars:
        refuse_unknown_vars(vars)
    warehouse_path = Path(warehouse_path).absolute()
    ensure_current(warehouse_path)
    with session(warehouse_path):
        pass  # fails with one sentence now if another process holds the write lock
    build_plan = plan(warehouse_path, vars, full_refresh, select, exclude)
    if target != "duckdb":
        build_plan = BuildPlan(FULL, f"builds on {target} are whole (incremental builds run on DuckDB)", None,
                               build_plan.max_load_id, build_plan.fingerprint, build_plan.rules_fingerprint,
                               partial=True)
    started_at = datetime.now(timezone.utc)

    from dbt.cli.main import dbtRunner

    work_dir = dbt_work_dir(warehouse_path)
    args = [
        "build",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", target,
        "--target-path", str(work_dir / ("target" if target == "duckdb" else f"target-{target}")),
        "--log-path", str(work_dir / "logs"),
        "--log-level", "none",
        "--log-level-file", "info",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    if vars:
        args += ["--vars", json.dumps(vars)]
    if build_plan.mode == FULL:
        args += ["--full-refresh"]
    if select:
        args += ["--select", select, "--indirect-selection", "buildable"]
    if exclude:
        args += ["--exclude", exclude]

    nodes: list[NodeResult] = []
    lock = threading.Lock()  # dbt finishes nodes on several threads; lines arrive one at a time

    def on_event(event) -> None:
        if event.info.name != "NodeFinished":
            return
        node = _node_result(event.data)
        with lock:
            nodes.append(node)
            if progress is not None:
                progress(_progress_line(node))

    started = time.perf_counter()
    try:
        with dbt_environment({WAREHOUSE_ENV: str(warehouse_path), VERSION_ENV: __version__,
                              "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
            outcome = dbtRunner(callbacks=[on_event]).invoke(args)
    finally:
        release_warehouse()
    result = BuildResult(warehouse=warehouse_path, seconds=time.perf_counter() - started, nodes=nodes,
                         plan=build_plan)

    if outcome.exception is not None:
        raise BlockingProblem(f"dbt could not build the project: {_first_line(outcome.exception)}")
    final = getattr(outcome.result, "results", None)
    if final:
        result.nodes = [_final_node_result(run) for run in final]
    failed = [node for node in result.nodes if node.status in _FAILED]
    if failed or not outcome.success:
        # Some models may have been rebuilt (and the scope's copy of the identity map with them):
        # the next build must not trust an incremental start, so it rebuilds whole.
        record(warehouse_path, build_plan, started_at, None, failed=True)
        raise BlockingProblem(_failure_sentence(failed, len(failed)))
    if build_plan.mode == INCREMENTAL:
        result.patients_in_scope = _patients_in_scope(warehouse_path)
    record(warehouse_path, build_plan, started_at, result.patients_in_scope)
    return result


def release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process.

    Without this the write lock outlives `build`, and the next step of `osteoreg run` (checks,
    scoring) cannot open the warehouse.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()
    reset_adapters()


def _final_node_result(run) -> NodeResult:
    """A node from dbt's run results, which carry the failing-row counts the events lack."""
    node = run.node
    status = getattr(run.status, "value", run.status)
    return NodeResult(
        unique_id=node.unique_id,
        name=node.name,
        resource_type=getattr(node.resource_type, "value", str(node.resource_type)),
        status=str(status).lower(),
        seconds=float(run.execution_time or 0.0),
        message=_node_message(run.message),
        failures=int(run.failures) if run.failures else None,
        description=" ".join((getattr(node, "description", "") or "").split()) or None,
    )


def _node_message(message: str | None) -> str | None:
    """The line that says what went wrong: dbt heads errors with "Runtime Error in model x (path)"."""
    if not message:
        return None
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    if len(lines) > 1 and " Error in " in lines[0]:
        lines = lines[1:]
    return lines[0].rstrip(".") if lines else None


def _node_result(data) -> NodeResult:
    info = data.node_info
    run = data.run_result
    failures = getattr(run, "failures", None)
    return NodeResult(
        unique_id=info.unique_id,
        name=info.node_name,
        resource_type=info.resource_type,
        status=(run.status or info.node_status or "").lower(),
        seconds=float(getattr(run, "execution_time", 0.0) or 0.0),
        message=_node_message(run.message),
        failures=int(failures) if failures else None,
    )


def _progress_line(node: NodeResult) -> str:
    kind = _KIND.get(node.resource_type, node.resource_type)
    return f"{kind} {node.name}: {node.status} ({node.seconds:.1f} s)"


def _failure_sentence(failed: list[NodeResult], n_failed: int) -> str:
    if not failed:
        return "dbt build did not succeed; see the dbt log beside the warehouse."
    first = failed[0]
    kind = _KIND.get(first.resource_type, first.resource_type)
    if first.resource_type == "test" and first.failures:
        detail = f"{first.failures} row{'' if first.failures == 1 else 's'}"
    else:
        detail = first.message or first.status
    others = n_failed - 1
    more = f" ({others} more node{'' if others == 1 else 's'} failed)" if others else ""
    return f"dbt {kind} {first.name} failed: {detail}{more}."


def _first_line(value: object) -> str:
    text = str(value).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(value).__name__


@contextlib.contextmanager
def dbt_environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


__all__ = ["FULL", "INCREMENTAL", "PARTIAL", "BuildPlan", "BuildResult", "NodeResult", "build", "dbt_work_dir", "plan",
           "project_fingerprint"]
