"""The business's YAML files (endpoints.yaml, business.yaml): read, validated, every problem named.

A file that cannot be read, is not YAML, is not a mapping or does not fit its model raises the
file's own error (a `ValueError` subclass) with one message: the path, then each problem with
where it is (`operations.book.method: ...`), so a misconfigured service refuses to start in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: Path | str, model: type[M], error: type[ValueError], *, what: str, shape: str) -> M:
    """`model` validated from the YAML file at `path`; `error` (naming the file and every problem) otherwise.
    `what` names the file in messages ("the endpoints file"), `shape` says what its top level holds."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping with {shape}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in problem['loc']) or 'file'}: "
                            f"{problem['msg'].removeprefix('Value error, ')}" for problem in exc.errors())
        raise error(f"{path}: {details}") from exc
