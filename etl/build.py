"""`osteoreg build`: run the dbt project against one warehouse through dbt's Python API.

dbt is imported inside `build` because importing it costs about two seconds, which every other
command would otherwise pay. The warehouse path reaches `dbt_project/profiles.yml` through the
environment (`OSTEOREG_WAREHOUSE_PATH`), so `osteoreg --warehouse X build` builds X. dbt's target
and log folders live beside the warehouse, never in the repository.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import BlockingProblem
from .paths import DBT_PROJECT_DIR
from .rules import refuse_unknown_vars
from .warehouse import ensure_current, session

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


@dataclass
class BuildResult:
    warehouse: Path
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)

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


def build(warehouse_path: Path, vars: dict | None = None, select: str | None = None,
          progress: Callable[[str], None] | None = None, exclude: str | None = None,
          target: str = "duckdb") -> BuildResult:
    """Run `dbt build` (seeds, models, unit and data tests) on the warehouse.

    Raises BlockingProblem naming the first failing node when any model, seed or test fails, so
    the pipeline stops before quality checks and scoring read half-built marts. Raises
    UsageError, before anything runs, when `vars` names a var the project does not define.
    `target` is the profile's output (duckdb, spark, postgres); on Spark and PostgreSQL the raw
    layer must already be where the engine reads it (etl/cluster/targets.py does that).
    """
    if vars:
        refuse_unknown_vars(vars)
    warehouse_path = Path(warehouse_path).absolute()
    ensure_current(warehouse_path)
    with session(warehouse_path):
        pass  # fails with one sentence now if another process holds the write lock

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
    result = BuildResult(warehouse=warehouse_path, seconds=time.perf_counter() - started, nodes=nodes)

    if outcome.exception is not None:
        raise BlockingProblem(f"dbt could not build the project: {_first_line(outcome.exception)}")
    final = getattr(outcome.result, "results", None)
    if final:
        result.nodes = [_final_node_result(run) for run in final]
    failed = [node for node in result.nodes if node.status in _FAILED]
    if failed or not outcome.success:
        raise BlockingProblem(_failure_sentence(failed, len(failed)))
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


__all__ = ["BuildResult", "NodeResult", "build", "dbt_work_dir"]
