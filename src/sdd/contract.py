"""The operationIds of the OpenAPI contract, with the line each is declared on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


class ContractError(ValueError):
    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    line: int


def _line_of(node: Any) -> int:
    return int(node.start_mark.line) + 1


def load_operations(contract: Path) -> list[Operation]:
    """Every ``paths.*.<method>.operationId``; raises ContractError on unreadable YAML."""
    import yaml

    try:
        text = contract.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("contract is not valid UTF-8", line=1) from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        # Composing keeps the node marks, so each operation can be reported with its line.
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ContractError(
            f"invalid YAML: {exc.problem}", line=(mark.line + 1) if mark else 1
        ) from exc
    except yaml.YAMLError as exc:
        raise ContractError(f"invalid YAML: {exc}", line=1) from exc
    if not isinstance(root, yaml.MappingNode):
        raise ContractError("the contract is not a YAML mapping", line=1)
    operations: list[Operation] = []
    for key, value in root.value:
        if key.value != "paths" or not isinstance(value, yaml.MappingNode):
            continue
        for path_key, item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            for method_key, operation in item.value:
                if method_key.value not in HTTP_METHODS or not isinstance(
                    operation, yaml.MappingNode
                ):
                    continue
                found = [
                    Operation(
                        str(value.value), method_key.value, str(path_key.value), _line_of(key)
                    )
                    for key, value in operation.value
                    if key.value == "operationId" and isinstance(value, yaml.ScalarNode)
                ]
                # An operation without an id is kept with "" so it can be reported.
                operations += found or [
                    Operation("", method_key.value, str(path_key.value), _line_of(method_key))
                ]
    return operations
