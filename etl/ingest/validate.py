"""Typing and validation of canonical text rows, written as one set-based SQL statement per kind.

Every row ends in exactly one of two places: a typed row ready for `raw.*`, or a quarantine row
with the first reason that applies (reasons in priority order, as named in the seed
`quarantine_reasons.csv`). Nothing is decided row by row in Python.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import seed_lookup as seed
from .canonical import columns
from .numbers import FLAT_NUMBERS, Numbers

# An ISO 8601 offset at the end of a timestamp is kept as text and never applied: a result
# written 2021-11-10T19:14:41-08:00 belongs to 2021-11-10 (registry contract section 2).


def text(column: str) -> str:
    """A canonical column as cleaned once at the first level of `typed_query` (see `clean`)."""
    return f"s.{column}"


def clean(value: str) -> str:
    """The source text with blanks treated as absent. Trimming copies every string, so it is done
    only where a value starts or ends with a space (a third of the typing cost otherwise)."""
    return (f"CASE WHEN starts_with({value}, ' ') OR ends_with({value}, ' ') THEN nullif(trim({value}), '') "
            f"ELSE nullif({value}, '') END")


def offset(expr: str) -> str:
    """The trailing UTC offset of an ISO 8601 timestamp (`Z`, `+01:00`, `-0800`, `+05`), if any.

    Plain string tests rather than a regular expression: this runs on every lab row.
    """
    return (f"CASE WHEN length({expr}) > 19 THEN CASE "
            f"WHEN right({expr}, 1) = 'Z' THEN 'Z' "
            f"WHEN substr({expr}, -6, 1) IN ('+', '-') AND substr({expr}, -3, 1) = ':' THEN right({expr}, 6) "
            f"WHEN substr({expr}, -5, 1) IN ('+', '-') THEN right({expr}, 5) "
            f"WHEN substr({expr}, -3, 1) IN ('+', '-') THEN right({expr}, 3) END END")


def timestamp(expr: str, formats: list[str]) -> str:
    """ISO 8601 with any precision, with or without offset; then the profile's own formats."""
    local = f"left({expr}, length({expr}) - coalesce(length({offset(expr)}), 0))"
    # Hour 24 is no time of day (ISO 8601-1:2019); DuckDB would read it as the next day's midnight.
    iso = f"CASE WHEN substr({expr}, 12, 2) <> '24' OR length({expr}) < 13 THEN TRY_CAST({local} AS TIMESTAMP) END"
    extra = [f"TRY_STRPTIME({expr}, '{fmt.replace(chr(39), chr(39) * 2)}')" for fmt in formats]
    return f"coalesce({', '.join([iso] + extra)})" if extra else iso


# A number as SQL and JSON write it (no `1_500`, which DuckDB's cast would take as 1500).
_PLAIN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_DECIMAL_COMMA = r"[+-]?\d+,\d+"
# Comma then exactly three digits after 1-3 digits not starting with 0: a thousands group?
_THOUSANDS_LIKE = r"[+-]?[1-9]\d{0,2}(,\d{3})+"


def _unsigned(expr: str) -> str:
    """The value without a leading comparator (`<0.20`, `>= 150`, `=0.80`)."""
    return (f"CASE WHEN left({expr}, 1) IN ('<', '>', '=') "
            f"THEN regexp_replace({expr}, '^(<=|>=|<|>|=)\\s*', '') ELSE {expr} END")


def number(expr: str, numbers: Numbers = FLAT_NUMBERS) -> str:
    """A numeric value from its text, or NULL: plain, with a leading comparator, and with a
    decimal comma only as `numbers` allows (see `Numbers`)."""
    bare = _unsigned(expr)
    if numbers.decimal:
        text_ = bare
        if numbers.thousands:
            text_ = f"replace({text_}, '{numbers.thousands}', '')"
        if numbers.decimal != ".":
            text_ = f"replace({text_}, '{numbers.decimal}', '.')"
        value = f"CASE WHEN regexp_full_match({text_}, '{_PLAIN}') THEN TRY_CAST({text_} AS DOUBLE) END"
    elif numbers.commas:
        value = (f"CASE WHEN regexp_full_match({bare}, '{_PLAIN}') THEN TRY_CAST({bare} AS DOUBLE) "
                 f"WHEN regexp_full_match({bare}, '{_DECIMAL_COMMA}') "
                 f"AND NOT regexp_full_match({bare}, '{_THOUSANDS_LIKE}') "
                 f"THEN TRY_CAST(replace({bare}, ',', '.') AS DOUBLE) END")
    else:
        value = f"CASE WHEN regexp_full_match({bare}, '{_PLAIN}') THEN TRY_CAST({bare} AS DOUBLE) END"
    return f"CASE WHEN isfinite({value}) THEN {value} END"


def ambiguous_number(expr: str, numbers: Numbers = FLAT_NUMBERS) -> str:
    """True where the text is a number only under a guess of its separators (`1,250`, `1.234,5`)."""
    if numbers.decimal or not numbers.commas:
        return "false"
    bare = _unsigned(expr)
    return (f"coalesce(regexp_full_match({bare}, '{_THOUSANDS_LIKE}') OR (contains({bare}, ',') "
            f"AND contains({bare}, '.') AND regexp_full_match({bare}, '[+-]?\\d[\\d.,]*')), false)")


def comparator(expr: str) -> str:
    return (f"CASE WHEN left({expr}, 1) IN ('<', '>') "
            f"THEN regexp_extract({expr}, '^(<=|>=|<|>)', 1) END")


def status(expr: str) -> str:
    return f"coalesce(upper({expr}), 'F')"


@dataclass
class Check:
    reason: str
    field: str
    failed_when: str  # SQL over the typed columns (alias t)


@dataclass
class KindSQL:
    raw_table: str
    typed: list[tuple[str, str]]      # (typed column, expression over source alias s)
    lookups: list[tuple[str, str]]    # seed lookups over the typed columns (alias t), in order
    derived: list[tuple[str, str]]    # columns computed over typed columns and lookups (alias t)
    checks: list[Check]
    hash_columns: list[str]
    raw_columns: list[str]            # the raw table's content columns, in insert order


# No `IN (...)` lists below: DuckDB may rewrite one into a join, which gives up file order
# (`seed_lookup.within` is the CASE form; the loader checks the plan).




def _patient_and_date(field: str, text_column: str) -> list[Check]:
    """The first checks of every kind: whose row it is and when it happened."""
    return [
        Check("missing_patient_id", "patient_id", "t.patient_id IS NULL"),
        Check("missing_date", field, f"t.{text_column} IS NULL"),
        Check("invalid_date", field, f"t.{field} IS NULL"),
    ]


def patient_reference(patient_id: str, namespace: str) -> str:
    """The source reference a raw row carries: the identifier value, qualified by its namespace
    as FHIR token search writes it (`system|value`) when the source names one (contract 2a).
    `identity.resolve_keys` turns references into patients."""
    return f"CASE WHEN {namespace} IS NULL THEN {patient_id} ELSE {namespace} || '|' || {patient_id} END"


def _version_typed() -> list[tuple[str, str]]:
    return [("reported_at", timestamp(text("reported_at"), [])),
            ("version_seq", f"TRY_CAST({text('version_seq')} AS BIGINT)")]


def _numeric_checks(names: list[str]) -> list[Check]:
    return [check for n in names for check in (
        Check("ambiguous_number", n, f"t.{n} IS NULL AND t.{n}_ambiguous"),
        Check("invalid_number", n, f"t.{n}_txt IS NOT NULL AND t.{n} IS NULL"))]


# ISO 8601 reduced precision, as HL7 DTM (`1960`, `196001`, read as `1960-01`) and FHIR `date` allow.
_YEAR_ONLY = r"\d{4}"
_YEAR_MONTH = r"\d{4}-\d{2}"


def birth_date_precision(expr: str) -> str:
    """`year`, `month` or `day`: how much of the birth date the source knows (contract 2, 3, 4).
    A partial date is a known year (and month), not a missing one: the patient and her sex load."""
    return (f"CASE WHEN regexp_full_match({expr}, '{_YEAR_ONLY}') THEN 'year' "
            f"WHEN regexp_full_match({expr}, '{_YEAR_MONTH}') THEN 'month' "
            f"WHEN {expr} IS NOT NULL THEN 'day' END")


def birth_date(expr: str, formats: list[str]) -> str:
    """The birth date, or for a partial one the first day of its year or month. The stored date
    is read only together with `birth_date_precision`: dbt derives the earliest and latest
    possible birth dates from the two and never takes the first day as the birthday."""
    return (f"CASE WHEN regexp_full_match({expr}, '{_YEAR_ONLY}') THEN TRY_CAST({expr} || '-01-01' AS DATE) "
            f"WHEN regexp_full_match({expr}, '{_YEAR_MONTH}') THEN TRY_CAST({expr} || '-01' AS DATE) "
            f"ELSE CAST({timestamp(expr, formats)} AS DATE) END")


def _patients(formats: list[str], numbers: Numbers = FLAT_NUMBERS) -> KindSQL:
    """Patients: who, sex, birth date (contract 2); menopausal status from its list."""
    return KindSQL(
        raw_table="raw.patients",
        typed=[
            ("patient_id", patient_reference(text("patient_id"), text("patient_id_namespace"))),
            ("sex", text("sex")),
            ("birth_date_txt", text("birth_date")),
            ("birth_date_precision", birth_date_precision(text("birth_date"))),
            ("birth_date", birth_date(text("birth_date"), formats)),
            ("menopausal_status", f"lower({text('menopausal_status')})"),
            ("ethnicity", text("ethnicity")),
            ("menopausal_status_date_txt", text("menopausal_status_date")),
            ("menopausal_status_date", f"CAST({timestamp(text('menopausal_status_date'), formats)} AS DATE)"),
        ],
        lookups=[],
        derived=[],
        checks=[
            *_patient_and_date("birth_date", "birth_date_txt"),
            Check("invalid_category", "menopausal_status",
                  f"t.menopausal_status IS NOT NULL AND {seed.spelled('menopausal_status', 't.menopausal_status')} IS NULL"),
            Check("invalid_date", "menopausal_status_date",
                  "t.menopausal_status_date_txt IS NOT NULL AND t.menopausal_status_date IS NULL"),
        ],
        hash_columns=["patient_id", "sex", "birth_date", "birth_date_precision", "menopausal_status",
                      "ethnicity", "menopausal_status_date"],
        raw_columns=["patient_id", "sex", "birth_date", "birth_date_precision", "menopausal_status",
                     "ethnicity", "menopausal_status_date"],
    )


def _labs(formats: list[str], numbers: Numbers = FLAT_NUMBERS) -> KindSQL:
    """Lab results: the value as sent, parsed into number and comparator; the code resolved to
    LOINC and analyte, the unit to its canonical spelling, both by seed lookups (contract 2, 5, 7)."""
    collected = text("collected_at")
    return KindSQL(
        raw_table="raw.lab_results",
        typed=[
            ("patient_id", patient_reference(text("patient_id"), text("patient_id_namespace"))),
            ("collected_txt", collected),
            ("collected_at", timestamp(collected, formats)),
            ("collected_offset", offset(collected)),
            ("code", text("code")),
            ("code_system", f"coalesce(CASE WHEN upper({text('code_system')}) IN ('LN', 'LOINC') THEN 'LOINC' "
                            f"ELSE {text('code_system')} END, 'LOINC')"),
            ("given_loinc", text("loinc_code")),
            ("name", text("name")),
            ("value_text", text("value")),
            ("value_num", number(text("value"), numbers)),
            ("value_ambiguous", ambiguous_number(text("value"), numbers)),
            ("value_comparator", comparator(text("value"))),
            ("unit", text("unit")),
            ("reference_range", text("reference_range")),
            ("abnormal_flag", text("abnormal_flag")),
            ("status", status(text("status"))),
            ("accession_id", text("accession_id")),
            ("result_id", text("result_id")),
            *_version_typed(),
        ],
        lookups=[
            ("loinc_code", "coalesce(t.given_loinc, CASE WHEN t.code_system = 'LOINC' THEN t.code END)"),
            ("analyte", seed.mapped("t.loinc_code", seed.analyte_by_loinc())),
            ("unit_canonical", seed.mapped("lower(replace(t.unit, ' ', ''))", seed.unit_by_key())),
            ("convertible", seed.within("t.analyte || '|' || t.unit_canonical", seed.convertible_pairs())),
            ("status_known", seed.within("t.status", seed.statuses())),
            ("status_final", seed.within("t.status", seed.final_statuses())),
        ],
        derived=[
            ("is_tracked", "t.analyte IS NOT NULL"),
        ],
        checks=[
            *_patient_and_date("collected_at", "collected_txt"),
            Check("missing_code", "code", "t.code IS NULL"),
            Check("invalid_status", "status", "NOT t.status_known"),
            Check("missing_value", "value", "t.value_text IS NULL AND t.status_final"),
            Check("ambiguous_number", "value",
                  "t.analyte IS NOT NULL AND t.value_num IS NULL AND t.value_ambiguous"),
            Check("invalid_number", "value",
                  "t.analyte IS NOT NULL AND t.value_text IS NOT NULL AND t.value_num IS NULL"),
            Check("missing_unit", "unit", "t.analyte IS NOT NULL AND t.value_num IS NOT NULL AND t.unit IS NULL"),
            Check("unknown_unit", "unit",
                  "t.analyte IS NOT NULL AND t.value_num IS NOT NULL AND NOT coalesce(t.convertible, false)"),
        ],
        hash_columns=["patient_id", "collected_at", "collected_offset", "code_system", "code", "loinc_code",
                      "name", "value_text", "unit", "reference_range", "abnormal_flag", "status",
                      "accession_id", "result_id"],
        raw_columns=["patient_id", "collected_at", "collected_offset", "code", "code_system", "loinc_code",
                     "name", "value_text", "value_num", "value_comparator", "unit", "reference_range",
                     "abnormal_flag", "status", "accession_id", "result_id", "is_tracked",
                     "reported_at", "version_seq"],
    )


# The DXA measures that may carry a unit, and the canonical column holding it.
_DXA_UNIT_COLUMNS = {"t_score": "t_score_unit", "z_score": "z_score_unit", "bmd_g_cm2": "bmd_unit"}


def dxa_unit_factor(measure: str, unit: str) -> str:
    """The factor from the unit a DXA measure was sent in to the unit stored (seed dxa_units:
    BMD in mg/cm2 is thousandths of g/cm2; scores are unitless); 1 without a unit, NULL for a
    unit the seed does not list for the measure (quarantined as `unknown_unit`)."""
    canonical = seed.mapped(f"lower(replace({unit}, ' ', ''))", seed.unit_by_key())
    factors = {u: repr(f) for u, f in seed.dxa_unit_factors()[measure].items()}
    return f"CASE WHEN {unit} IS NULL THEN 1.0 ELSE CAST({seed.mapped(canonical, factors)} AS DOUBLE) END"


def _dxa(formats: list[str], numbers: Numbers = FLAT_NUMBERS) -> KindSQL:
    """DXA results: one site (and side) per row with its scores and measurements (contract 2)."""
    scan = text("scan_date")
    numeric = ["t_score", "z_score", "bmd_g_cm2", "bmc_g", "area_cm2", "height_cm", "weight_kg"]
    typed = [
        ("patient_id", patient_reference(text("patient_id"), text("patient_id_namespace"))),
        ("scan_txt", scan),
        ("scan_date", f"CAST({timestamp(scan, formats)} AS DATE)"),
        ("scan_offset", offset(scan)),
        ("site", f"lower({text('site')})"),
        ("side_txt", f"lower({text('side')})"),
        ("side", seed.spelled("side", f"lower({text('side')})")),
        ("manufacturer", text("manufacturer")),
        ("status", status(text("status"))),
        ("result_id", text("result_id")),
        ("menopausal_status", f"lower({text('menopausal_status')})"),
        *_version_typed(),
    ]
    for n in numeric:
        value = number(text(n), numbers)
        if n in _DXA_UNIT_COLUMNS:  # in the stored unit (an unknown unit is quarantined below)
            unit = _DXA_UNIT_COLUMNS[n]
            factor = dxa_unit_factor(n, text(unit))
            typed += [(f"{unit}_txt", text(unit)), (f"{unit}_factor", factor)]
            value = f"CASE WHEN coalesce({factor}, 1) = 1 THEN {value} ELSE round({value} * {factor}, 9) END"
        typed += [(f"{n}_txt", text(n)), (n, value),
                  (f"{n}_ambiguous", ambiguous_number(text(n), numbers))]
    return KindSQL(
        raw_table="raw.dxa_results",
        typed=typed,
        lookups=[
            ("site_known", seed.within("t.site", seed.dxa_sites())),
            ("status_known", seed.within("t.status", seed.statuses())),
            ("status_final", seed.within("t.status", seed.final_statuses())),
        ],
        derived=[],
        checks=[
            *_patient_and_date("scan_date", "scan_txt"),
            Check("invalid_site", "site", "NOT coalesce(t.site_known, false)"),
            Check("invalid_category", "side", "t.side_txt IS NOT NULL AND t.side IS NULL"),
            Check("invalid_category", "menopausal_status",
                  f"t.menopausal_status IS NOT NULL AND {seed.spelled('menopausal_status', 't.menopausal_status')} IS NULL"),
            Check("invalid_status", "status", "NOT t.status_known"),
            *_numeric_checks(numeric),
            *[Check("unknown_unit", unit, f"t.{unit}_txt IS NOT NULL AND t.{unit}_factor IS NULL")
              for unit in _DXA_UNIT_COLUMNS.values()],
            Check("missing_value", "t_score",
                  "t.status_final AND t.t_score IS NULL AND t.z_score IS NULL AND t.bmd_g_cm2 IS NULL"),
        ],
        hash_columns=["patient_id", "scan_date", "scan_offset", "site", "side", *numeric, "manufacturer",
                      "status", "result_id", "menopausal_status"],
        raw_columns=["patient_id", "scan_date", "scan_offset", "site", "side", "t_score", "z_score",
                     "bmd_g_cm2", "bmc_g", "area_cm2", "manufacturer", "height_cm", "weight_kg", "status",
                     "result_id", "menopausal_status", "reported_at", "version_seq"],
    )


def _fractures(formats: list[str], numbers: Numbers = FLAT_NUMBERS) -> KindSQL:
    """Fractures: date and site, fragility true unless the export says otherwise (contract 2)."""
    day = text("fracture_date")
    fragility = f"lower({text('fragility')})"
    return KindSQL(
        raw_table="raw.fractures",
        typed=[
            ("patient_id", patient_reference(text("patient_id"), text("patient_id_namespace"))),
            ("fracture_txt", day),
            ("fracture_date", f"CAST({timestamp(day, formats)} AS DATE)"),
            ("site", text("site")),
            ("fragility_txt", fragility),
            ("fragility", f"CASE WHEN {fragility} IS NULL THEN true "
                          f"ELSE {seed.spelled_boolean('fragility', fragility)} END"),
            ("code", text("code")),
            ("code_system", text("code_system")),
            ("status", status(text("status"))),
            ("result_id", text("result_id")),
            *_version_typed(),
        ],
        lookups=[("status_known", seed.within("t.status", seed.statuses()))],
        derived=[],
        checks=[
            *_patient_and_date("fracture_date", "fracture_txt"),
            Check("missing_code", "site", "t.site IS NULL"),
            Check("invalid_category", "fragility", "t.fragility IS NULL"),
            Check("invalid_status", "status", "NOT t.status_known"),
        ],
        hash_columns=["patient_id", "fracture_date", "site", "fragility", "code", "code_system", "status",
                      "result_id"],
        raw_columns=["patient_id", "fracture_date", "site", "fragility", "code", "code_system", "status",
                     "result_id", "reported_at", "version_seq"],
    )


# One declaration per kind: what its rows are typed into, looked up, derived, checked (in
# priority order: the first failing check is the row's reason), hashed and stored.
DECLARATIONS: dict[str, Callable[..., KindSQL]] = {
    "patients": _patients, "labs": _labs, "dxa": _dxa, "fractures": _fractures,
}


def kind_sql(kind: str, formats: list[str], numbers: Numbers = FLAT_NUMBERS) -> KindSQL:
    """The declaration of `kind`, with the source profile's extra date `formats` and the way the
    source writes `numbers` (contract section 2)."""
    declare = DECLARATIONS.get(kind)
    if declare is None:
        raise ValueError(f"unknown kind {kind}")
    return declare(formats, numbers)


HASH_PROBE = "hash('osteoreg row hash')"


def row_hash(spec: KindSQL, alias: str) -> str:
    """The row's content hash over its typed raw columns (the same expression for new and stored rows).

    DuckDB's `hash` is fast but not promised stable across DuckDB versions; every load records
    `HASH_PROBE`, and the loader re-hashes stored rows when the probe changes.
    """
    return "hash(" + ", ".join(f"{alias}.{c}" for c in spec.hash_columns) + ")"


def typed_query(kind: str, source: str, present: list[str], formats: list[str], numbered: bool = True,
                numbers: Numbers = FLAT_NUMBERS) -> str:
    """SELECT turning the canonical text rows of `source` into typed rows with reason and payload.

    `present` are the canonical columns the source has; absent ones read as NULL. A source that is
    not `numbered` has no `source_row` yet (NULL here; the loader fills it from file order). The payload of a
    quarantined row is the source row itself as JSON (built only for quarantined rows), so nothing
    the sender wrote is lost.
    """
    spec = kind_sql(kind, formats, numbers)
    wanted = columns(kind)
    has_extra = "extra" in present
    given = [c for c in wanted if c in present]
    fill = "".join(f", NULL::VARCHAR AS {c}" for c in wanted if c not in present)
    row = "source_row" if numbered else "NULL::BIGINT AS source_row"
    # Each column is cleaned once here; the text as sent is kept beside it for the payload.
    cleaned = ", ".join(f"{clean(c)} AS {c}, {c} AS src_{c}" for c in given)
    inner_source = f"(SELECT {row}, {cleaned}{', extra' if has_extra else ''}{fill} FROM {source})"
    typed = "".join(f",\n                       {expr} AS {name}" for name, expr in spec.typed)
    carried = "".join(f", s.src_{c}" for c in given)
    payload = "json_object(" + ", ".join(f"'{c}', d.src_{c}" for c in given) + ")"
    if has_extra:
        payload = f"json_merge_patch(coalesce(d.extra, '{{}}'::JSON), {payload})"
    # The first failing check's number, evaluated once; its reason and field are looked up by it.
    failed = "CASE " + " ".join(f"WHEN {c.failed_when} THEN {i}" for i, c in enumerate(spec.checks, 1)) + " END"
    reasons = "[" + ", ".join(f"'{c.reason}'" for c in spec.checks) + "]"
    fields = "[" + ", ".join(f"'{c.field}'" for c in spec.checks) + "]"
    derived = "".join(f", {expr} AS {name}" for name, expr in spec.derived)
    typed_rows = f"""(
                SELECT s.source_row{typed},
                       {'TRY_CAST(s.extra AS JSON)' if has_extra else 'NULL::JSON'} AS extra{carried}
                FROM {inner_source} AS s
            ) AS t"""
    # Each seed lookup is an expression over the previous level rather than a join to a seed table
    # (the values are few; a hash join per row was a fifth of the typing time).
    for name, expr in spec.lookups:
        typed_rows = f"(SELECT t.*, {expr} AS {name} FROM {typed_rows}) AS t"
    kept = ", ".join(f"d.{c}" for c in ["source_row"] + spec.raw_columns + ["extra"])
    return f"""
        SELECT {kept},
               {reasons}[d.failed_check] AS reason,
               {fields}[d.failed_check] AS field,
               CASE WHEN d.failed_check IS NOT NULL THEN {payload} END AS payload,
               CASE WHEN d.failed_check IS NULL THEN {row_hash(spec, 'd')} END AS row_hash
        FROM (
            SELECT t.*{derived},
                   {failed} AS failed_check
            FROM {typed_rows}
        ) AS d
    """
