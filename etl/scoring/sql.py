"""A model's parameters as SQL: the linear predictor, band and reasons over the input relation.

`linear.py` is the numpy rendering used to fit; this one scores the warehouse, so applying a
model to millions of assessments is one set-based DuckDB statement, not a Python loop. Column
names are checked against `linear.INPUT_COLUMNS` and every number passes through `float()`, so an
imported model file cannot smuggle SQL into the statement.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ..errors import UsageError
from .linear import INPUT_COLUMNS, TRANSFORMS

# Sources of a scored row: the assessments, or the pre-DXA triage candidates.
INPUTS = {"assessment": "assessment_inputs.sql", "triage": "triage_inputs.sql"}


@lru_cache(maxsize=None)
def input_sql(kind: str) -> str:
    return resources.files(__package__).joinpath("sql", INPUTS[kind]).read_text(encoding="utf-8")


def _number(value) -> str:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise UsageError(f"A model parameter is not a finite number ({value!r}).")
    return repr(number)


def _text(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _column(term: dict) -> str:
    column = term["column"]
    if column not in INPUT_COLUMNS:
        raise UsageError(f"The model term {term.get('name')!r} names an unknown input column {column!r}.")
    return column


def _cube(expression: str) -> str:
    return f"pow(greatest({expression}, 0.0), 3)"


def term_sql(term: dict) -> str:
    """The term's value; NULL where its column is empty and it imputes nothing."""
    column, transform = _column(term), term["transform"]
    if transform == "is_missing":
        return f"CASE WHEN {column} IS NULL THEN 1.0 ELSE 0.0 END"
    if transform == "linear":
        value = column
    elif transform == "at_or_below":
        value = f"CASE WHEN {column} <= {_number(term['threshold'])} THEN 1.0 WHEN {column} IS NOT NULL THEN 0.0 END"
    elif transform == "rcs":
        t = [float(knot) for knot in term["knots"]]
        k, j = len(t), int(term["basis"]) - 1
        a = (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
        b = (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
        scale = (t[k - 1] - t[0]) ** 2
        value = (f"CASE WHEN {column} IS NOT NULL THEN ({_cube(f'{column} - {_number(t[j])}')} "
                 f"- {_cube(f'{column} - {_number(t[k - 2])}')} * {_number(a)} "
                 f"+ {_cube(f'{column} - {_number(t[k - 1])}')} * {_number(b)}) / {_number(scale)} END")
    else:
        raise UsageError(f"Unknown term transform {transform!r}; known: {', '.join(TRANSFORMS)}.")
    if term.get("impute") is not None:
        return f"coalesce({value}, {_number(term['impute'])})"
    return value


def population_sql(parameters: dict) -> str:
    population = parameters.get("population") or {}
    conditions = [f"{name} = {_text(population[name])}" for name in ("sex", "menopausal_status") if name in population]
    return " AND ".join(conditions) or "TRUE"


def score_sql(parameters: dict, linear_predictor: str) -> str:
    score = linear_predictor
    if parameters.get("score_decimals") is not None:
        score = f"round({score}, {int(parameters['score_decimals'])})"
    if parameters.get("score_transform") == "truncate":
        score = f"(trunc({score}) + 0.0)"
    return score


def band_sql(parameters: dict, value: str) -> str:
    bands = parameters["bands"]
    branches = []
    for band in bands["ranges"]:
        if "below" in band:
            branches.append(f"WHEN {value} < {_number(band['below'])} THEN {_text(band['label'])}")
        elif "at_most" in band:
            branches.append(f"WHEN {value} <= {_number(band['at_most'])} THEN {_text(band['label'])}")
        else:
            branches.append(f"WHEN {value} IS NOT NULL THEN {_text(band['label'])}")
    case = "CASE " + " ".join(branches) + " END"
    if bands.get("sexes") is not None:
        sexes = ", ".join(_text(sex) for sex in bands["sexes"])
        case = f"CASE WHEN sex IN ({sexes}) THEN {case} END"
    return case


def inputs_hash_sql(parameters: dict) -> str:
    """The hash of what the model reads (its columns, and the population's), stored with each
    score: a re-run compares it alone to find the rows whose inputs changed."""
    read = sorted({_column(term) for term in parameters["terms"]})
    return f"hash({', '.join(read + ['sex', 'menopausal_status'])})"


def inputs_hash_select(parameters: dict) -> str:
    """Per input row: subject and `inputs_hash`, without scoring (change detection)."""
    return f"""
    WITH input AS ({{input}})
    SELECT subject_id, {inputs_hash_sql(parameters)} AS inputs_hash
    FROM input"""


def scoring_select(parameters: dict) -> str:
    """Per input row: subject, score, probability, band, band note, reason not scored, the
    contributions (a FLOAT[] in the order of the terms) and the hash of what the model read.

    Each term's value is computed once (`terms`), then read by the completeness test, the
    reasons and the contributions: a spline term written out three times cost the lasso's
    statement 2.6 s instead of 1 s at 2M assessments."""
    terms = parameters["terms"]
    values = [f"term_{i}" for i in range(len(terms))]
    term_columns = "".join(f"{term_sql(term)} AS {value},\n               " for term, value in zip(terms, values))
    coefficients = [_number(term["coefficient"]) for term in terms]
    contributions = [f"{value} * {coefficient}" for value, coefficient in zip(values, coefficients)]
    complete = " AND ".join(f"{value} IS NOT NULL" for value in values) or "TRUE"
    missing = ", ".join(f"CASE WHEN {value} IS NULL THEN {_text(term['column'])} END"
                        for term, value in zip(terms, values))
    linear_predictor = " + ".join([_number(parameters.get("intercept", 0.0))] + contributions)
    logistic = parameters["kind"] == "logistic"
    population_text = parameters.get("population_text", "its population")
    bands = parameters["bands"]
    unbanded = bands.get("unbanded_note")
    band_note = "NULL"
    if bands.get("sexes") is not None and unbanded:
        sexes = ", ".join(_text(sex) for sex in bands["sexes"])
        band_note = f"CASE WHEN sex NOT IN ({sexes}) OR sex IS NULL THEN {_text(unbanded)} END"
    return f"""
    WITH input AS ({{input}}),
    terms AS (
        SELECT subject_id, patient_key, index_date, sex,
               {term_columns}coalesce(({population_sql(parameters)}), FALSE) AS in_population,
               {inputs_hash_sql(parameters)} AS inputs_hash
        FROM input
    ),
    evaluated AS (
        SELECT subject_id, patient_key, index_date, sex, in_population, inputs_hash,
               {complete} AS complete,
               {score_sql(parameters, linear_predictor)} AS raw_score,
               [{', '.join(contributions)}]::FLOAT[] AS contribution_values,
               {f"CASE WHEN NOT ({complete}) THEN concat_ws(', ', {missing}) END" if missing else "NULL"} AS missing_columns
        FROM terms
    ),
    scored AS (
        SELECT *, CASE WHEN in_population AND complete THEN raw_score END AS score
        FROM evaluated
    )
    SELECT subject_id, patient_key, index_date, score,
           {"1.0 / (1.0 + exp(-score))" if logistic else "CAST(NULL AS DOUBLE)"} AS risk_probability,
           {band_sql(parameters, "1.0 / (1.0 + exp(-score))" if logistic and bands["on"] == "probability" else "score")} AS risk_band,
           CASE WHEN score IS NOT NULL THEN {band_note} END AS band_note,
           CASE WHEN NOT in_population THEN {_text("outside the model's population (" + population_text + ")")}
                WHEN NOT complete THEN 'no value for ' || missing_columns END AS not_scored_reason,
           CASE WHEN score IS NOT NULL THEN contribution_values END AS contribution_values,
           inputs_hash
    FROM scored"""
