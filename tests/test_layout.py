"""The layout of `tests/` follows `etl/` (issue 11, item 7): every test package is named for a
package (or module) of `etl/`, except the few that test something other than one package."""
from __future__ import annotations

from pathlib import Path

from etl.paths import PROJECT_ROOT

TESTS = Path(__file__).resolve().parent
# end-to-end runs of the whole pipeline, the Alembic migrations, the dbt project, the fuzzer
NOT_PACKAGES = {"e2e", "migrations", "dbt_project", "fuzz"}


def _folders(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}


def test_every_test_package_has_a_counterpart_in_etl():
    """A folder of tests is named for a package of `etl/`, or for a module whose tests fill a
    folder of their own (e.g. tests/report/ for etl/report/)."""
    etl = PROJECT_ROOT / "etl"
    counterparts = {name for name in _folders(etl) if (etl / name / "__init__.py").exists()}
    counterparts |= {path.stem for path in etl.glob("*.py") if path.stem != "__init__"}
    test_packages = {name for name in _folders(TESTS) if any((TESTS / name).glob("test_*.py"))}
    assert test_packages - counterparts - NOT_PACKAGES == set()


def test_the_exceptions_exist_and_are_not_etl_packages():
    """An exception that stops existing, or turns into an `etl` package, should leave the list."""
    assert NOT_PACKAGES <= _folders(TESTS)
    assert NOT_PACKAGES.isdisjoint(_folders(PROJECT_ROOT / "etl"))



def test_pytest_collects_every_test_folder(pytestconfig):
    """pytest does not look inside folders named like build output (`build`, `dist`, `venv`, ...):
    a test folder of such a name is skipped silently (tests/build/ was, for etl/build.py)."""
    from fnmatch import fnmatch

    patterns = pytestconfig.getini("norecursedirs")
    assert [name for name in _folders(TESTS) if any(fnmatch(name, pattern) for pattern in patterns)] == []
