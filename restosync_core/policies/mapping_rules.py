"""What makes a written mapping valid, and the first problem of a seed, named by its JSON path."""

from __future__ import annotations

from collections.abc import Sequence

from restosync_core.errors import ValidationFailed
from restosync_core.model.ids import is_valid_vendor_id
from restosync_core.model.mappings import NewMapping

MAX_CODE_LENGTH = 64
"""ERP and RestoMarket codes: 1-64 characters, not all blank."""
MAX_LABEL_LENGTH = 255


def _code_problem(value: str, name: str) -> str | None:
    if not value or not value.strip():
        return f"{name} must not be empty or blank"
    if len(value) > MAX_CODE_LENGTH:
        return f"{name} must be at most {MAX_CODE_LENGTH} characters"
    return None


def first_problem(new: NewMapping) -> tuple[str, str] | None:
    """(wire field name, message) of the first invalid field, or None when the mapping is valid."""
    if not is_valid_vendor_id(new.vendor_id):
        return "vendorId", "vendorId must be 1-64 characters of [A-Za-z0-9._-]"
    for field, value in (("erpCode", new.erp_code), ("restoCode", new.resto_code)):
        problem = _code_problem(value, field)
        if problem:
            return field, problem
    if new.resto_label is not None and len(new.resto_label) > MAX_LABEL_LENGTH:
        return "restoLabel", f"restoLabel must be at most {MAX_LABEL_LENGTH} characters"
    return None


def check_mapping(new: NewMapping, *, at: str = "$") -> None:
    """Raise ``ValidationFailed`` naming ``<at>.<field>`` when ``new`` is invalid."""
    problem = first_problem(new)
    if problem:
        field, message = problem
        raise ValidationFailed(f"{message} at {at}.{field}", path=f"{at}.{field}")


def check_seed_rows(rows: Sequence[NewMapping], *, at: str = "$.mappings") -> None:
    """Every row valid and every (vendor, type, ERP code) once; else the first bad row, by index."""
    first_seen: dict[tuple[str, str, str], int] = {}
    for index, row in enumerate(rows):
        check_mapping(row, at=f"{at}[{index}]")
        earlier = first_seen.setdefault(row.key, index)
        if earlier != index:
            path = f"{at}[{index}].erpCode"
            raise ValidationFailed(
                f"duplicate of row {earlier} (same vendorId, mappingType and erpCode) at {path}", path=path
            )
