"""etl/console.py renders; nothing below the CLI prints (issue 11, item 5)."""
from __future__ import annotations

import ast
import io
from pathlib import Path

from rich.console import Console

from etl import pipeline
from etl.console import Display, file_line, ingest_summary
from etl.ingest.loader import FileOutcome, IngestReport
from etl.paths import PROJECT_ROOT

PRESENTATION = {"etl/cli.py", "etl/console.py"}


def test_nothing_below_the_cli_prints_or_uses_rich():
    offenders = []
    for path in sorted((PROJECT_ROOT / "etl").rglob("*.py")):
        module = str(path.relative_to(PROJECT_ROOT))
        if module in PRESENTATION:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{module}:{node.lineno} print()")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if any(name == "rich" or name.startswith("rich.") or name == "typer" for name in names):
                    offenders.append(f"{module}:{node.lineno} imports {names[0]}")
    # etl/textsafe.py (terminal safety) may import rich.markup to escape; it renders nothing itself
    assert [o for o in offenders if not o.startswith("etl/textsafe.py")] == []


def _outcome(**kwargs) -> FileOutcome:
    values = {"path": Path("/in/labs.csv"), "status": "loaded", "format": "csv", "kind": "labs", "rows_read": 3,
              "rows_loaded": 2, "rows_quarantined": 1, "rows_duplicate": 0}
    return FileOutcome(**{**values, **kwargs})


def test_a_file_line_shows_input_text_as_written_not_as_markup():
    line = file_line(_outcome(status="failed", message="/in/[bold]x[/bold].csv line 2: bad"), None)
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(line, highlight=False)
    assert out.getvalue().strip() == "failed   /in/[bold]x[/bold].csv line 2: bad"


def test_the_display_renders_each_step_result_when_the_step_ends():
    out = io.StringIO()
    display = Display(Console(file=out, width=200, color_system=None), root=Path("/in"))
    hooks = display.hooks()
    report = IngestReport(files=[_outcome()])
    hooks.started("ingest", 1)
    hooks.file_done(report.files[0])
    hooks.finished("ingest", report)
    text = " ".join(out.getvalue().split())
    assert "loaded labs.csv labs (csv): read 3, loaded 2, quarantined 1, duplicate 0" in text
    assert ingest_summary(report).replace("[bold]", "").replace("[/bold]", "") in text


def test_pipeline_steps_report_to_hooks_without_printing(tmp_path, capsys, write):
    seen = []
    hooks = pipeline.Hooks(started=lambda step, total: seen.append(("started", step, total)),
                           file_done=lambda outcome: seen.append(("file", outcome.status)),
                           finished=lambda step, result: seen.append(("finished", step, type(result).__name__)))
    labs = write(tmp_path / "in" / "labs.csv", "patient_id,collected_at,code,value,unit\nP1,2024-01-01,2601-3,0.8,mmol/L\n")
    report = pipeline.ingest(tmp_path / "wh.duckdb", [labs], None, hooks)
    assert report.total("rows_loaded") == 1
    assert seen == [("started", "ingest", 1), ("file", "loaded"), ("finished", "ingest", "IngestReport")]
    assert capsys.readouterr() == ("", "")
