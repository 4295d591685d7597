"""Reading and writing topology files (CSV and YAML), with the line number of every row."""

import csv
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from models.topology.fields import NULLABLE_FIELDS, SiteFields

COLUMNS = list(SiteFields.model_fields)


class FileFormat(StrEnum):
    CSV = "csv"
    YAML = "yaml"

    @classmethod
    def of(cls, path: Path) -> "FileFormat":
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return cls.CSV
        if suffix in (".yaml", ".yml"):
            return cls.YAML
        raise TopologyError([f"{path.name}: unknown file type; use .csv, .yaml or .yml"])


class TopologyError(Exception):
    """Everything wrong with a topology, one message per problem, each naming its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SiteRow:
    line: int
    site: SiteFields


def parse(text: str, fmt: FileFormat) -> list[SiteRow]:
    """Validate every row; raise `TopologyError` listing all bad rows, or return them all."""
    raw = _csv_rows(text) if fmt is FileFormat.CSV else _yaml_rows(text)
    rows: list[SiteRow] = []
    problems: list[str] = []
    for line, data in raw:
        try:
            rows.append(SiteRow(line, SiteFields.model_validate(data)))
        except ValidationError as exc:
            problems.extend(f"line {line}: {_describe(error)}" for error in exc.errors())
    if problems:
        raise TopologyError(problems)
    return rows


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "row"
    message = error["msg"]
    if error["type"] == "string_type" and isinstance(error.get("input"), int):
        message += " (quote codes in YAML: 040 unquoted is read as a number)"
    return f"{field}: {message}"


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = reader.fieldnames or []
    unknown = [column for column in header if column not in COLUMNS]
    missing = [column for column in ("code", "name", "level") if column not in header]
    if unknown or missing:
        raise TopologyError(
            [f"line 1: unknown column '{c}'" for c in unknown]
            + [f"line 1: missing column '{c}'" for c in missing]
        )
    rows = []
    for record in reader:
        if None in record:
            raise TopologyError([f"line {reader.line_num}: more cells than columns"])
        rows.append((reader.line_num, _from_cells(record, reader.line_num)))
    return rows


def _from_cells(record: dict[str, str], line: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column, cell in record.items():
        value = (cell or "").strip()
        if not value:
            # An empty nullable cell clears the field; other empty cells keep the default.
            if column in NULLABLE_FIELDS:
                data[column] = None
            continue
        if column == "thresholds":
            try:
                data[column] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise TopologyError([f"line {line}: thresholds: not JSON ({exc.msg})"]) from exc
            continue
        data[column] = value
    return data


def _yaml_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError([f"not valid YAML: {exc}"]) from exc
    # Accept either a bare list of sites or a mapping with a `sites:` list.
    if isinstance(data, dict) and isinstance(node, yaml.MappingNode):
        data = data.get("sites")
        node = next((v for k, v in node.value if k.value == "sites"), None)
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise TopologyError(["the YAML file must hold a list of sites (or a 'sites:' list)"])
    rows = []
    for item, item_node in zip(data, node.value, strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            raise TopologyError([f"line {line}: a site must be a mapping of fields"])
        rows.append((line, item))
    return rows


def dump(sites: list[SiteFields], fmt: FileFormat) -> str:
    """The file text for `sites`; `parse` of it gives the same sites back."""
    if fmt is FileFormat.YAML:
        body = {"sites": [site.model_dump(mode="json", exclude_none=True) for site in sites]}
        return yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for site in sites:
        row = site.model_dump(mode="json")
        if row["thresholds"] is not None:
            row["thresholds"] = json.dumps(
                {k: v for k, v in row["thresholds"].items() if v is not None}
            )
        row["enabled"] = "true" if row["enabled"] else "false"
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
