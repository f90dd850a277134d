"""Numbers, dates and ids as a lab system writes them, for whole columns at once (pyarrow).

Values are carried as integers of the last reported digit (`k` with `d` decimals means k / 10^d),
so the text is exact and the number the registry parses back from it is known to the last bit.
Formatting 20 million values one by one in Python would take minutes; these run in C++.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EPOCH = np.datetime64("1970-01-01", "D")


def strings(values) -> pa.Array:
    return pa.array(values, type=pa.string())


def take(vocabulary: Sequence[str], index: np.ndarray) -> pa.Array:
    return strings(list(vocabulary)).take(pa.array(np.asarray(index, dtype=np.int64)))


def concat(*parts) -> pa.Array:
    """Element-wise concatenation of arrays and scalar strings (no separator)."""
    return pc.binary_join_element_wise(*parts, "")


def _digits(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def zero_padded(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers left-padded with zeros to `width` digits."""
    return pc.utf8_lpad(_digits(values), width=width, padding="0")


def fixed(k: np.ndarray, decimals: np.ndarray, comma: np.ndarray | None = None) -> pa.Array:
    """`k / 10^decimals` with exactly `decimals` digits after a point (or a comma where `comma`)."""
    k = np.asarray(k, dtype=np.int64)
    d = np.broadcast_to(np.asarray(decimals, dtype=np.int64), k.shape)
    scale = 10 ** d
    magnitude = np.abs(k)
    whole = _digits(magnitude // scale)
    # The fraction with its leading zeros: (fraction + 10^d) written out, minus the leading 1.
    fraction = pc.utf8_slice_codeunits(_digits(magnitude % scale + scale), 1)
    separator = "." if comma is None else pc.if_else(pa.array(np.asarray(comma, dtype=bool)), ",", ".")
    text = pc.if_else(pa.array(d == 0), whole, pc.binary_join_element_wise(whole, fraction, separator))
    negative = k < 0
    if negative.any():
        text = pc.if_else(pa.array(negative), concat("-", text), text)
    return text


def iso_date(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 as `YYYY-MM-DD`."""
    return pc.cast(pa.array(np.asarray(days, dtype=np.int32), type=pa.date32()), pa.string())


def iso_timestamp(days: np.ndarray, minute_of_day: np.ndarray, offset: pa.Array | None = None) -> pa.Array:
    """`YYYY-MM-DDTHH:MM:00`, followed by the offset text where one is given (null = none)."""
    minute_of_day = np.asarray(minute_of_day, dtype=np.int64)
    hours = pc.utf8_slice_codeunits(_digits(minute_of_day // 60 + 100), 1)
    minutes = pc.utf8_slice_codeunits(_digits(minute_of_day % 60 + 100), 1)
    stamp = concat(iso_date(days), "T", hours, ":", minutes, ":00")
    if offset is not None:
        stamp = pc.if_else(pc.is_null(offset), stamp, concat(stamp, offset))
    return stamp


def null_where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """`values` with nulls where `mask` is true (an empty CSV field)."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(None, pa.string()), values)


def replace_where(mask: np.ndarray, replacement, values: pa.Array) -> pa.Array:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), replacement, values)


def day_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01."""
    dates = EPOCH + np.asarray(days, dtype=np.int64)
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    return (years.astype(np.int64) + 1970,
            (months - years.astype("datetime64[M]")).astype(np.int64) + 1,
            (dates - months.astype("datetime64[D]")).astype(np.int64) + 1)


def whole_years(born: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years of life on a day: the age a person gives (birthday counted on the day)."""
    by, bm, bd = day_parts(born)
    oy, om, od = day_parts(on)
    return oy - by - ((om * 100 + od) < (bm * 100 + bd))


def day_number(iso: str) -> int:
    return int((np.datetime64(iso, "D") - EPOCH).astype(np.int64))
