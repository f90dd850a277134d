"""`osteoreg score`: fit what has no version yet, then score every assessment the current versions
have not scored; export and import model files; model cards for the report.

Nothing here prints or exits. A model that refuses (too few outcomes, too small a sample, a
fit that cannot be computed) is reported in `ScoreRun` in one sentence and the other models go
on. Each model's version and scores are written in one transaction. After the models, the
pre-DXA triage table is rebuilt with the triage model (settings `triage_model`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import warehouse
from ..errors import OsteoregError, UsageError
from . import store
from .frame import Frame, fingerprint, require_marts, training_frame
from .models import ModelDefinition, ModelRefused
from .registry import all_models, definition
from .rules_used import rules_in_effect
from .settings import ScoringSettings, load_settings

# Columns a scan measures; a model that reads them cannot score patients without a DXA.
SCAN_COLUMNS = ("weight_kg", "bmi")


@dataclass
class ModelRun:
    """What `score` did for one model."""

    model_name: str
    model_version: str | None          # the version applied; None when refused without any version
    status: str                        # scored / refused
    fitted: bool = False               # a version was (re)fitted or (re)evaluated in this run
    new_version: bool = False          # that version did not exist before
    new_scores: int = 0
    not_scorable: int = 0              # rows written without a score (outside the population, a predictor missing)
    message: str | None = None         # the refusal or warning sentence


@dataclass
class ScoreRun:
    warehouse: Path
    seconds: float = 0.0
    models: list[ModelRun] = field(default_factory=list)
    triage_candidates: int = 0         # rows of scoring.dxa_referral_candidates
    triage_model: str | None = None    # the model that ranked them; None when it has no version
    triage_message: str | None = None  # why there is no triage table, when there is none

    def model(self, name: str) -> ModelRun:
        return next(run for run in self.models if run.model_name == name)

    @property
    def new_scores(self) -> int:
        return sum(run.new_scores for run in self.models)

    @property
    def refusals(self) -> list[ModelRun]:
        return [run for run in self.models if run.message]


def _settings(settings: ScoringSettings | dict | None) -> ScoringSettings:
    return settings if isinstance(settings, ScoringSettings) else load_settings(settings)


def score(warehouse_path: Path, refit: bool = False, progress: Callable[[str], None] | None = None,
          settings: ScoringSettings | dict | None = None) -> ScoreRun:
    """Score every assessment lacking a score from the current version of each model.

    A model without a version is fitted first; `refit` fits new versions of the fitted models
    (old versions and their scores stay) and re-evaluates the fixed ones.
    """
    settings = _settings(settings)
    warehouse_path = Path(warehouse_path).absolute()
    started = time.perf_counter()
    note = progress or (lambda line: None)
    warehouse.ensure_current(warehouse_path)
    run = ScoreRun(warehouse=warehouse_path)
    with warehouse.session(warehouse_path) as conn, store.bulk_writes(conn):
        require_marts(conn)
        rules = rules_in_effect(conn)
        cache: dict[str, object] = {}

        def training() -> tuple[Frame, dict, dict]:
            if "frame" not in cache:
                note("reading the training assessments")
                frame = training_frame(conn, settings.max_fit_rows, settings.seed)
                cache["frame"] = frame
                cache["fingerprint"] = fingerprint(conn, frame)
            return cache["frame"], cache["fingerprint"], rules

        for model in all_models():
            conn.begin()
            try:
                outcome = _score_model(conn, model, refit, settings, rules, training, note)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            run.models.append(outcome)
        conn.begin()
        try:
            _triage(conn, run, settings)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    run.seconds = time.perf_counter() - started
    return run


def _score_model(conn, model: ModelDefinition, refit: bool, settings: ScoringSettings, rules: dict, training,
                 note: Callable[[str], None]) -> ModelRun:
    """Score with the current version, fitting a new one first when there is none, when asked, or
    when the build's rules are not the ones the version was made under.

    The rules are part of a version (`_with_rules`): a model fitted on `mg_below_op_cutoff` at
    0.845 does not describe the flag a rebuild at 0.80 computes, nor its outcome, so after a
    `build --vars` the next `score` makes a version that matches the marts (osteoreg issue 11).
    """
    current = store.current(conn, model.name)
    outcome = ModelRun(model_name=model.name, model_version=None if current is None else current.version,
                       status="scored")
    stale = current is not None and current.parameters.get(RULES_KEY) != store.canonical(rules)
    if current is None or refit or stale or (
            model.fixed_parameters is not None
            and current.version != store.version_of(_with_rules(model.fixed_parameters(settings), rules))):
        note(f"{model.name}: {'evaluating' if not model.fitted else 'fitting'}")
        try:
            current, outcome.new_version, warnings = _fit(conn, model, current, settings, training)
            outcome.fitted = True
            outcome.message = " ".join(warnings) or None
        except ModelRefused as refusal:
            outcome.message = str(refusal)
            if current is None:
                outcome.status = "refused"
                return outcome
        outcome.model_version = current.version
    note(f"{model.name} {current.version}: scoring")
    outcome.new_scores, outcome.not_scorable = store.write_scores(conn, current)
    return outcome


def _triage(conn, run: ScoreRun, settings: ScoringSettings) -> None:
    """Rebuild the DXA referral candidates from the triage model's current version."""
    panel = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
                         "AND table_name = 'fct_latest_lab_panel'").fetchall()[0][0]
    if not panel:
        run.triage_message = "No DXA referral candidates: the marts have no fct_latest_lab_panel; run `osteoreg build`."
        return
    model = store.current(conn, settings.triage_model)
    if model is None:
        conn.execute("DELETE FROM scoring.dxa_referral_candidates").fetchall()
        run.triage_message = f"No DXA referral candidates: the {settings.triage_model} model has no version."
        return
    needs_scan = sorted({term["column"] for term in model.parameters["terms"]} & set(SCAN_COLUMNS))
    if needs_scan or model.parameters["kind"] != "logistic":
        conn.execute("DELETE FROM scoring.dxa_referral_candidates").fetchall()
        run.triage_message = (f"No DXA referral candidates: the triage model {model.name} cannot score patients "
                              f"without a DXA (it {'reads ' + ', '.join(needs_scan) if needs_scan else 'gives no probability'}).")
        return
    run.triage_model = model.name
    run.triage_candidates = store.write_triage(conn, model, settings.triage_drivers)


def _fit(conn, model: ModelDefinition, current: store.StoredModel | None, settings: ScoringSettings,
         training) -> tuple[store.StoredModel, bool, list[str]]:
    frame, data_fingerprint, rules = training()
    try:
        result = model.fit(frame, settings, rules)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:
        # osteoreg issue 19: numbers that cannot be fitted refuse this model, not the run
        raise ModelRefused(f"The {model.name} model cannot be fitted on this registry's data "
                           f"({type(error).__name__}: {str(error).splitlines()[0].rstrip('.') if str(error) else 'no detail'}).") from error
    parameters = store.canonical(_with_rules(result.parameters, rules))
    version = store.version_of(parameters)
    existing = store.get(conn, model.name, version)
    if existing is not None and not model.fitted:
        # The same fixed model on newer data: a re-validation of the version, not a new one.
        store.update_evaluation(conn, model.name, version, result.metrics, data_fingerprint)
    stored, is_new = store.save(conn, store.StoredModel(
        name=model.name, version=version, parameters=parameters, metrics=result.metrics,
        card=result.card, fingerprint=data_fingerprint, origin="fitted" if model.fitted else "defined"))
    return stored, is_new, result.warnings


def export_model(warehouse_path: Path, name: str, file: Path, version: str | None = None) -> Path:
    """Write the current (or the given) version of a model to a JSON file another registry imports."""
    definition(name)
    with warehouse.session(Path(warehouse_path), read_only=True) as conn:
        _require_scoring_schema(conn)
        model = store.current(conn, name) if version is None else store.get(conn, name, version)
    if model is None:
        which = "a current version" if version is None else f"a version {version}"
        raise UsageError(f"The warehouse has no {which} of the model {name}; run `osteoreg score` first.")
    return store.write_document(model, file)


@dataclass
class ImportedModel:
    model_name: str
    model_version: str
    already_present: bool


def import_model(warehouse_path: Path, file: Path) -> ImportedModel:
    """Store a model file's version and make it current; `score` then applies it unchanged."""
    model = store.read_document(file)
    definition(model.name)
    warehouse_path = Path(warehouse_path).absolute()
    warehouse.ensure_current(warehouse_path)
    with warehouse.session(warehouse_path) as conn:
        conn.begin()
        try:
            _, is_new = store.save(conn, model)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return ImportedModel(model.name, model.version, already_present=not is_new)


def _require_scoring_schema(conn) -> None:
    found = conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'scoring' "
                         "AND table_name = 'models' AND column_name = 'is_current'").fetchall()[0][0]
    if not found:
        raise OsteoregError("The warehouse has no scoring models yet; run `osteoreg score` first.")


def model_cards(warehouse_path: Path) -> list[dict]:
    """One card per current model version (what it is, how it was evaluated, its metrics)."""
    with warehouse.session(Path(warehouse_path), read_only=True) as conn:
        found = conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'scoring' "
                             "AND table_name = 'models' AND column_name = 'is_current'").fetchall()[0][0]
        if not found:
            return []
        stored = [store.current(conn, model.name) for model in all_models()]
    return [{"model_name": model.name, "model_version": model.version, "origin": model.origin,
             "created_at": model.created_at.isoformat() if model.created_at else None,
             **(model.card or {}), "metrics": model.metrics, "training_fingerprint": model.fingerprint}
            for model in stored if model is not None]


RULES_KEY = "rules_in_effect"


def _with_rules(parameters: dict, rules: dict) -> dict:
    """The parameters with the build's stated rules (`rules_used.STATED`) they were made under."""
    return {**parameters, RULES_KEY: rules}
