"""Patient identity (contract section 2a) and pseudonymous keys: HMAC-SHA256 of the patient
under a secret kept off the database.

A raw row carries a source reference: an identifier value, qualified by its namespace as FHIR
token search writes it (`system|value`, `HOSPA|1001`), or a FHIR logical reference
(`Patient/abc`). `identity.patient_map` gives each reference its key; `identity.patient_references`
records the patient (`person_id`) it was resolved to:
- a namespace is placed in a registry namespace by the identity settings (a YAML file kept beside
  the warehouse) or, when it is the only one its format has brought, in the default namespace;
  a second undeclared namespace of a format fails the file (nothing is merged by guess);
- a FHIR logical reference stands for the record identifier of that Patient resource when some
  load has brought the Patient (its identifiers are in `identity.patient_identifiers`), so the
  order in which Patient and Observation files arrive does not matter;
- the person is the value in the default namespace, else `<registry namespace>|<value>`.
A load resolves its own references and those its identifiers link (set-based SQL, in the size
of the file); identity settings that place a namespace anew re-resolve every reference
(`rekey_all`), so a merge or split of identities re-keys through the map, never in the marts; a
person keeps the key it was first given.

The secret comes from $OSTEOREG_SECRET or from a file beside the warehouse, created once with
owner-only permissions. It never enters the database, so a copy of the warehouse (or of the
published snapshot) cannot be used to recompute keys from guessed patient ids.
Keys are computed once per source id and stored in `identity.patient_map`; changing the secret
later only affects ids seen for the first time after the change.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import shutil

import duckdb
import yaml

from .errors import InputError, OsteoregError, UsageError

DEFAULT_NAMESPACE = "default"
SETTINGS_SUFFIX = ".identity.yaml"
# The format families whose namespaces are counted apart (one hospital sends several formats).
FORMAT_GROUPS = {"csv": "flat", "tsv": "flat", "parquet": "flat", "hl7v2": "hl7v2",
                 "fhir_json": "fhir", "fhir_ndjson": "fhir"}
KEY_HEX_CHARS = 16  # 64 bits: collision odds for 10M patients about 3e-6; short enough to read
_BLOCK = 64          # SHA-256 block size in bytes (RFC 2104)
MIN_SECRET_BYTES = 32  # 128 bits as hex, in the file or $OSTEOREG_SECRET; osteoreg writes 64 hex digits (256 bits)


def secret_path(warehouse_path: Path) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + ".secret")


def load_secret(warehouse_path: Path) -> bytes:
    """The HMAC secret: $OSTEOREG_SECRET, else the file beside the warehouse (made on first use)."""
    from_env = os.environ.get("OSTEOREG_SECRET")
    if from_env is not None and from_env.strip():
        if len(from_env.strip()) < MIN_SECRET_BYTES:
            # As for the file: a short key lets anyone recompute the keys from guessed ids.
            raise UsageError(f"OSTEOREG_SECRET holds only {len(from_env.strip())} characters; a key needs at least "
                             f"{MIN_SECRET_BYTES} (for example `openssl rand -hex 32`), or unset it to use the "
                             "secret file beside the warehouse.")
        return from_env.encode("utf-8")
    if from_env is not None and from_env != "":
        raise UsageError("OSTEOREG_SECRET holds only white space; set it to a long random value or unset it "
                         "to use the secret file beside the warehouse.")
    path = secret_path(warehouse_path)
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise OsteoregError(f"The secret file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`.")
        secret = path.read_bytes().strip()
        if len(secret) < MIN_SECRET_BYTES:
            # An empty or short key makes the HMAC a plain hash anyone can recompute from guessed ids.
            raise OsteoregError(
                f"The secret file {path} holds {'nothing' if not secret else f'only {len(secret)} characters'}; "
                f"a key needs at least {MIN_SECRET_BYTES} (osteoreg writes 64 random hex digits), so restore "
                "it from your backup, or remove it before the first load to have a new one made.")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def patient_key(secret: bytes, patient_id: str) -> str:
    """The reference implementation (tests check the SQL against it)."""
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_HEX_CHARS]


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def assign_keys(conn: duckdb.DuckDBPyConnection, source_table: str, load_id: int, secret: bytes) -> int:
    """Give every patient id in `source_table` that has none yet a key; returns how many were added."""
    return resolve_keys(conn, source_table, load_id, secret)


def settings_path(warehouse_path: Path) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + SETTINGS_SUFFIX)


def load_settings(warehouse_path: Path, given: Path | None = None) -> dict[str, str]:
    """Source namespace -> registry namespace, from `given` (then kept beside the warehouse, so
    later ingests place namespaces the same way) or from the copy kept there.

    The file: `namespaces: {default: [HOSPA, "urn:oid:1.2.3"], hospital_b: [HOSPB]}`: each
    registry namespace lists the source namespaces that are one.
    """
    kept = settings_path(warehouse_path)
    path = Path(given) if given else kept
    if not path.exists():
        if given:
            raise InputError(f"The identity settings file {path} does not exist.")
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError(f"The identity settings file {path} is not valid YAML.") from None
    spec = doc.get("namespaces") if isinstance(doc, dict) else None
    if spec is None and isinstance(doc, dict) and "same_patient" in doc:
        spec = {}  # only identifiers declared one patient
    if not isinstance(spec, dict):
        raise InputError(f"The identity settings file {path} needs a `namespaces` mapping, e.g. "
                         f"`namespaces: {{default: [HOSPA], hospital_b: [HOSPB]}}`.")
    placed: dict[str, str] = {}
    for registry, sources in spec.items():
        sources = [sources] if isinstance(sources, str) else sources
        if not isinstance(sources, list) or not all(isinstance(s, (str, int)) for s in sources):
            raise InputError(f"The identity settings file {path}: `namespaces.{registry}` must list source namespaces.")
        for source in map(str, sources):
            if placed.get(source, str(registry)) != str(registry):
                raise InputError(f"The identity settings file {path} places namespace {source!r} in both "
                                 f"{placed[source]!r} and {registry!r}.")
            placed[source] = str(registry)
    if given and path.resolve() != kept.resolve():
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, kept)
        os.chmod(kept, 0o600)
    return placed


def load_same_patient(warehouse_path: Path, given: Path | None = None) -> dict[str, str]:
    """Record references the identity settings declare to be one patient (a merge an EMPI or a
    clerk found later), as reference -> the reference it is the same patient as:

        same_patient:
          "HOSPA|1001": ["HOSPB|77"]      # HOSPB's 77 is HOSPA's 1001

    A reference is `namespace|value` as the source sent it (a value alone: no namespace).
    Removing the line later splits them again. Read from `given` or the copy kept beside the
    warehouse (`load_settings` keeps it)."""
    path = Path(given) if given else settings_path(warehouse_path)
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError(f"The identity settings file {path} is not valid YAML.") from None
    spec = doc.get("same_patient") if isinstance(doc, dict) else None
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise InputError(f"The identity settings file {path}: `same_patient` must map a patient reference to the "
                         f"references that are the same patient, e.g. `same_patient: {{\"HOSPA|1001\": [\"HOSPB|77\"]}}`.")
    same: dict[str, str] = {}
    for target, others in spec.items():
        others = [others] if isinstance(others, (str, int)) else others
        if not isinstance(others, list) or not all(isinstance(o, (str, int)) for o in others):
            raise InputError(f"The identity settings file {path}: `same_patient.{target}` must list patient references.")
        for other in map(str, others):
            if other in same and same[other] != str(target) or other == str(target):
                raise InputError(f"The identity settings file {path} declares {other!r} the same patient as "
                                 f"{same.get(other, other)!r} and {target!r}; name one.")
            same[other] = str(target)
    return same


def apply_same_patient(conn: duckdb.DuckDBPyConnection, same: dict[str, str]) -> int:
    """The declared links as identifiers of source format `settings` (reference -> the patient
    record it stands for, as a FHIR logical reference does), replacing the previous ones; returns
    how many links were added or removed (then `rekey_all` re-resolves)."""
    conn.execute("CREATE OR REPLACE TEMP TABLE stage_same_patient (reference VARCHAR, patient_id VARCHAR)")
    if same:
        conn.executemany("INSERT INTO stage_same_patient VALUES (?, ?)", list(same.items()))
    removed = conn.execute("""
        DELETE FROM identity.patient_identifiers AS i
        WHERE i.source_format = 'settings' AND NOT EXISTS (
            SELECT 1 FROM stage_same_patient AS s WHERE s.reference = i.reference AND s.patient_id = i.patient_id)
    """).fetchall()[0][0]
    added = conn.execute("""
        INSERT INTO identity.patient_identifiers
        SELECT 'settings', coalesce(CASE WHEN strpos(s.reference, '|') > 0
                                         THEN left(s.reference, strpos(s.reference, '|') - 1) END, ''),
               'same_patient', s.reference, s.reference, s.patient_id, NULL, 0, 0
        FROM stage_same_patient AS s
        WHERE NOT EXISTS (SELECT 1 FROM identity.patient_identifiers AS i
                          WHERE i.source_format = 'settings' AND i.reference = s.reference
                            AND i.patient_id = s.patient_id)
    """).fetchall()[0][0]
    conn.execute("DROP TABLE stage_same_patient")
    return removed + added


def apply_settings(conn: duckdb.DuckDBPyConnection, settings: dict[str, str]) -> int:
    """Namespaces seen before take the place the settings now give them (a merge or a split);
    returns how many moved (then `rekey_all` re-resolves the references)."""
    moved = 0
    for source, registry in settings.items():
        moved += conn.execute("UPDATE identity.namespaces SET registry_namespace = ?, placed_by = 'settings' "
                              "WHERE namespace = ? AND registry_namespace <> ?",
                              [registry, source, registry]).fetchall()[0][0]
    return moved


def place_namespaces(conn: duckdb.DuckDBPyConnection, load_id: int, fmt: str, found: set[str],
                     settings: dict[str, str], path: Path) -> None:
    """Record the namespaces a file brings; refuse a second undeclared namespace of its format."""
    group = FORMAT_GROUPS.get(fmt, fmt)
    known = {r[0] for r in conn.execute("SELECT namespace FROM identity.namespaces").fetchall()}
    new = sorted(found - known)
    declared = [n for n in new if n in settings]
    undeclared = [n for n in new if n not in settings]
    if undeclared:
        defaults = {r[0] for r in conn.execute(
            "SELECT namespace FROM identity.namespaces WHERE source_format = ? AND placed_by = 'only_namespace'",
            [group]).fetchall()}
        together = sorted(defaults | set(undeclared))
        if len(together) > 1:
            listed = ", ".join(repr(n) for n in together)
            raise InputError(
                f"{path}: patient identifiers of {group} come from the namespaces {listed}, which the identity "
                f"settings do not place; say which are one hospital with `osteoreg ingest --identity FILE`, e.g. "
                f"`namespaces: {{default: [{together[0]}], hospital_b: [{together[1]}]}}`.")
    rows = ([[n, group, settings[n], "settings", load_id] for n in declared]
            + [[n, group, DEFAULT_NAMESPACE, "only_namespace", load_id] for n in undeclared])
    if rows:
        conn.executemany("INSERT INTO identity.namespaces VALUES (?, ?, ?, ?, ?)", rows)


def record_identifiers(conn: duckdb.DuckDBPyConnection, load_id: int, fmt: str, table: str) -> None:
    """Identifiers a reader saw (`table`: namespace, id_type, id_value, reference, patient_id),
    each with the record reference of the patient it belongs to; seen again, only last_load_id moves."""
    conn.execute(f"""
        INSERT INTO identity.patient_identifiers
        SELECT DISTINCT $group, coalesce(namespace, ''), coalesce(id_type, ''), id_value, reference, patient_id,
               NULL, $load_id, $load_id
        FROM {table} WHERE id_value IS NOT NULL AND patient_id IS NOT NULL
        ON CONFLICT DO UPDATE SET last_load_id = excluded.last_load_id, reference = excluded.reference
    """, {"group": FORMAT_GROUPS.get(fmt, fmt), "load_id": load_id})


def _hmac_sql(column: str) -> str:
    """HMAC written out in SQL (RFC 2104: H(k^opad || H(k^ipad || m))), parameters $outer/$inner:
    a million new ids take about a second inside DuckDB instead of a Python loop."""
    return f"left(sha256($outer || unhex(sha256($inner || encode({column})))), {KEY_HEX_CHARS})"


def resolve_keys(conn: duckdb.DuckDBPyConnection, references: str, load_id: int, secret: bytes) -> int:
    """Give the references in `references` (a query with a `patient_id` column: one file's) a map
    row, then resolve the references this load can have changed and re-key those whose person
    changed; returns how many references were new.

    A load changes the person of its own references and of the FHIR logical references its
    identifiers link (a Patient file arriving after its Observations); a namespace placed anew
    by the identity settings changes any, which `rekey_all` re-resolves. So the work is in the
    file's size, not the registry's."""
    before = conn.execute("SELECT count(*) FROM identity.patient_map").fetchall()[0][0]
    conn.execute(f"""
        INSERT INTO identity.patient_map (patient_id, patient_key, first_load_id, created_at)
        SELECT patient_id, '', $load_id, current_localtimestamp()
        FROM (SELECT DISTINCT patient_id FROM {references}) AS ids
        WHERE NOT EXISTS (SELECT 1 FROM identity.patient_map AS m WHERE m.patient_id = ids.patient_id)
    """, {"load_id": load_id})
    added = conn.execute("SELECT count(*) FROM identity.patient_map").fetchall()[0][0] - before
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_identity_scope AS
        SELECT DISTINCT patient_id FROM {references}
        UNION
        SELECT reference FROM identity.patient_identifiers
        WHERE last_load_id = $load_id AND reference IS NOT NULL AND reference <> patient_id
    """, {"load_id": load_id})
    _resolve(conn, "stage_identity_scope", load_id, secret)
    conn.execute("DROP TABLE stage_identity_scope")
    return added


def rekey_all(conn: duckdb.DuckDBPyConnection, secret: bytes) -> int:
    """Re-resolve every reference (after the identity settings placed a namespace anew: a merge
    or split of identities), so the map re-keys and the marts follow at the next build; returns
    how many references changed person."""
    load_id = conn.execute("SELECT coalesce(max(load_id), 0) FROM audit.loads").fetchall()[0][0]
    conn.execute("CREATE OR REPLACE TEMP TABLE stage_identity_scope AS SELECT patient_id FROM identity.patient_map")
    changed = _resolve(conn, "stage_identity_scope", load_id, secret)
    conn.execute("DROP TABLE stage_identity_scope")
    return changed


def _resolve(conn: duckdb.DuckDBPyConnection, scope: str, load_id: int, secret: bytes) -> int:
    """Resolve the references listed in `scope` (a table of `patient_id`) to their person and
    re-key those whose person changed; returns how many were re-keyed."""
    inner, outer = _pads(secret)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_identity_resolved AS
        WITH links AS (
            -- a FHIR logical reference stands for the record identifier of its Patient
            SELECT reference, arg_max(patient_id, last_load_id) AS record
            FROM identity.patient_identifiers
            WHERE reference IS NOT NULL AND reference <> patient_id
              AND reference IN (SELECT patient_id FROM {scope})
            GROUP BY reference
        ), refs AS (
            SELECT m.patient_id AS ref, coalesce(l.record, m.patient_id) AS record, m.patient_key,
                   r.person_id AS old_person
            FROM identity.patient_map AS m
            LEFT JOIN links AS l ON l.reference = m.patient_id
            LEFT JOIN identity.patient_references AS r ON r.patient_id = m.patient_id
            WHERE m.patient_id IN (SELECT patient_id FROM {scope})
        ), split AS (
            SELECT *, nullif(strpos(record, '|'), 0) AS bar FROM refs
        )
        SELECT s.ref, s.patient_key, s.old_person,
            CASE WHEN s.record LIKE 'Patient/%' THEN substr(s.record, 9)
                 WHEN n.registry_namespace = 'default' THEN substr(s.record, s.bar + 1)
                 WHEN n.registry_namespace IS NOT NULL THEN n.registry_namespace || '|' || substr(s.record, s.bar + 1)
                 ELSE s.record END AS person
        FROM split AS s
        LEFT JOIN identity.namespaces AS n ON s.bar IS NOT NULL AND n.namespace = left(s.record, s.bar - 1)
    """)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_identity_rekeyed AS
        WITH kept AS (   -- a person keeps the key it was first given (whatever the secret now is)
            SELECT person, min(patient_key) AS patient_key
            FROM (
                SELECT person, patient_key FROM stage_identity_resolved
                WHERE person = old_person AND patient_key <> ''
                UNION ALL
                -- the person's references outside the scope, which this load leaves as they are
                SELECT r.person_id, m.patient_key
                FROM identity.patient_references AS r
                JOIN identity.patient_map AS m ON m.patient_id = r.patient_id
                WHERE r.person_id IN (SELECT person FROM stage_identity_resolved)
                  AND r.patient_id NOT IN (SELECT patient_id FROM {scope}) AND m.patient_key <> ''
            )
            GROUP BY person
        )
        SELECT r.ref, r.person, coalesce(k.patient_key, {_hmac_sql('r.person')}) AS patient_key
        FROM stage_identity_resolved AS r
        LEFT JOIN kept AS k USING (person)
        WHERE r.old_person IS DISTINCT FROM r.person OR r.patient_key = ''
    """, {"outer": outer, "inner": inner})
    conn.execute("""
        UPDATE identity.patient_map AS m SET patient_key = k.patient_key
        FROM stage_identity_rekeyed AS k WHERE m.patient_id = k.ref AND m.patient_key <> k.patient_key""")
    conn.execute("""
        INSERT INTO identity.patient_references
        SELECT ref, person, $load_id FROM stage_identity_rekeyed
        ON CONFLICT DO UPDATE SET person_id = excluded.person_id, resolved_load_id = excluded.resolved_load_id
    """, {"load_id": load_id})
    # the identifiers this load recorded, and those of re-keyed references
    conn.execute("""
        UPDATE identity.patient_identifiers AS i SET patient_key = m.patient_key
        FROM identity.patient_map AS m
        WHERE m.patient_id = i.patient_id AND i.patient_key IS DISTINCT FROM m.patient_key
          AND (i.last_load_id = $load_id OR i.patient_id IN (SELECT ref FROM stage_identity_rekeyed))""",
                 {"load_id": load_id})
    rekeyed = conn.execute("SELECT count(*) FROM stage_identity_rekeyed").fetchall()[0][0]
    conn.execute("DROP TABLE stage_identity_resolved")
    conn.execute("DROP TABLE stage_identity_rekeyed")
    return rekeyed
