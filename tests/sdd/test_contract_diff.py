"""sdd contract diff: each change pair is classified as breaking or not, at the right place.

The table holds one edit per row, applied to a small contract that shares components between
requests and responses, so that direction, ``$ref`` resolution and shared schemas all matter.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sdd_helpers import write

from sdd.contract_diff import Contract, ContractLoadError, DiffReport, compare_contracts
from sdd.contract_diff import file_reader as reader

pytestmark = pytest.mark.fr("010-contract-gates/FR-002", "010-contract-gates/FR-003")

BASE: dict[str, Any] = yaml.safe_load(
    """
openapi: 3.1.0
info: {title: Shop, version: 1.2.0}
security: [{bearer: []}]
paths:
  /items:
    get:
      operationId: listItems
      parameters:
        - {name: limit, in: query, required: false,
           schema: {type: integer, minimum: 1, maximum: 100, default: 20}}
        - {name: color, in: query, schema: {$ref: '#/components/schemas/Color'}}
      responses:
        '200':
          description: A page of items.
          headers:
            X-Total: {required: true, schema: {type: integer}}
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Item'}}
        '401': {description: No token.}
    post:
      operationId: createItem
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/ItemCreate'}}
      responses:
        '201':
          description: Created.
          content:
            application/json: {schema: {$ref: '#/components/schemas/Item'}}
  /items/{item_id}:
    parameters:
      - {name: item_id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      operationId: getItem
      responses:
        '200':
          description: The item.
          content:
            application/json: {schema: {$ref: '#/components/schemas/Item'}}
    delete:
      operationId: deleteItem
      responses:
        '204': {description: Gone.}
  /users:
    post:
      operationId: register
      security: []
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/User'}}
      responses:
        '201':
          description: Registered.
          content:
            application/json: {schema: {$ref: '#/components/schemas/User'}}
  /health:
    get:
      operationId: health
      security: []
      responses:
        '200': {description: Alive.}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    key: {type: apiKey, in: header, name: X-Key}
  schemas:
    Color: {type: string, enum: [red, green, blue]}
    Name: {type: string, description: A name., minLength: 1, maxLength: 100}
    ItemCreate:
      type: object
      additionalProperties: false
      required: [name]
      properties:
        name: {$ref: '#/components/schemas/Name'}
        color: {$ref: '#/components/schemas/Color'}
        price: {type: number, minimum: 0}
        size: {$ref: '#/components/schemas/Size'}
    Size:
      oneOf:
        - {type: integer, minimum: 1}
        - {type: string, enum: [S, M, L]}
    Item:
      type: object
      required: [id, name, color]
      properties:
        id: {type: string, format: uuid, readOnly: true}
        name: {$ref: '#/components/schemas/Name'}
        color: {$ref: '#/components/schemas/Color'}
        price: {type: number}
        note: {type: [string, 'null']}
        tags: {type: array, items: {type: string}, maxItems: 10}
        size: {$ref: '#/components/schemas/Size'}
    User:
      type: object
      additionalProperties: false
      required: [id, email, password]
      properties:
        id: {type: string, readOnly: true}
        email: {type: string}
        password: {type: string, writeOnly: true, minLength: 8}
    Unused: {type: string}
"""
)

ITEMS = "/paths/~1items"
ITEM = "/paths/~1items~1{item_id}"
CREATE_BODY = f"{ITEMS}/post/requestBody/content/application~1json/schema"
CREATED = f"{ITEMS}/post/responses/201/content/application~1json/schema"
LISTED = f"{ITEMS}/get/responses/200/content/application~1json/schema/items"
READ = f"{ITEM}/get/responses/200/content/application~1json/schema"
REGISTER_BODY = "/paths/~1users/post/requestBody/content/application~1json/schema"
REGISTERED = "/paths/~1users/post/responses/201/content/application~1json/schema"

Edit = Callable[[dict[str, Any]], None]


def schema(d: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = d["components"]["schemas"][name]
    return found


def prop(d: dict[str, Any], name: str, prop_name: str) -> dict[str, Any]:
    found: dict[str, Any] = schema(d, name)["properties"][prop_name]
    return found


def list_items(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["paths"]["/items"]["get"]
    return found


def create_item(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["paths"]["/items"]["post"]
    return found


def rename_item_schema(d: dict[str, Any]) -> None:
    schemas = d["components"]["schemas"]
    schemas["Product"] = schemas.pop("Item")
    text = yaml.safe_dump(d).replace("#/components/schemas/Item'", "#/components/schemas/Product'")
    text = text.replace("#/components/schemas/Item\n", "#/components/schemas/Product\n")
    d.clear()
    d.update(yaml.safe_load(text))


def split_user(d: dict[str, Any]) -> None:
    """Request and response schemas instead of readOnly/writeOnly: same wire shapes."""
    schemas = d["components"]["schemas"]
    schemas["UserCreate"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["email", "password"],
        "properties": {"email": {"type": "string"}, "password": {"type": "string", "minLength": 8}},
    }
    schemas["User"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "email"],
        "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
    }
    body = d["paths"]["/users"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {"$ref": "#/components/schemas/UserCreate"}


def rename_path_parameter(d: dict[str, Any]) -> None:
    item = d["paths"].pop("/items/{item_id}")
    item["parameters"][0]["name"] = "id"
    d["paths"]["/items/{id}"] = item


@dataclass(frozen=True)
class Case:
    name: str
    edit: Edit
    kind: str
    breaking: bool
    pointer: str


def _set(target: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Edit:
    return lambda d: target(d).__setitem__(key, value)


CASES = [
    Case(
        "operation removed",
        lambda d: d["paths"]["/items/{item_id}"].pop("delete"),
        "operation-removed",
        True,
        f"{ITEM}/delete",
    ),
    Case(
        "operation added",
        lambda d: d["paths"]["/items/{item_id}"].__setitem__(
            "put", {"operationId": "putItem", "responses": {"200": {"description": "ok"}}}
        ),
        "operation-added",
        False,
        f"{ITEM}/put",
    ),
    Case(
        "parameter removed",
        lambda d: list_items(d)["parameters"].pop(1),
        "parameter-removed",
        True,
        f"{ITEMS}/get/parameters/1",
    ),
    Case(
        "required parameter added",
        lambda d: list_items(d)["parameters"].append(
            {"name": "shop", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        "required-parameter-added",
        True,
        f"{ITEMS}/get/parameters/2",
    ),
    Case(
        "optional parameter added",
        lambda d: list_items(d)["parameters"].append(
            {"name": "q", "in": "query", "schema": {"type": "string"}}
        ),
        "parameter-added",
        False,
        f"{ITEMS}/get/parameters/2",
    ),
    Case(
        "parameter became required",
        lambda d: list_items(d)["parameters"][0].__setitem__("required", True),
        "parameter-became-required",
        True,
        f"{ITEMS}/get/parameters/0/required",
    ),
    Case(
        "parameter style changed",
        lambda d: list_items(d)["parameters"][1].__setitem__("explode", False),
        "parameter-style-changed",
        True,
        f"{ITEMS}/get/parameters/1",
    ),
    Case(
        "path parameter renamed",
        rename_path_parameter,
        "path-parameter-renamed",
        False,
        "/paths/~1items~1{id}/parameters/0/name",
    ),
    Case(
        "response status removed",
        lambda d: list_items(d)["responses"].pop("401"),
        "response-status-removed",
        True,
        f"{ITEMS}/get/responses/401",
    ),
    Case(
        "error status added",
        lambda d: list_items(d)["responses"].__setitem__("429", {"description": "Slow down."}),
        "response-status-added",
        False,
        f"{ITEMS}/get/responses/429",
    ),
    Case(
        "second success status added",
        lambda d: create_item(d)["responses"].__setitem__("202", {"description": "Queued."}),
        "response-status-added",
        True,
        f"{ITEMS}/post/responses/202",
    ),
    Case(
        "response property removed",
        lambda d: schema(d, "Item")["properties"].pop("price"),
        "property-removed",
        True,
        f"{READ}/properties/price",
    ),
    Case(
        "request property removed",
        lambda d: schema(d, "ItemCreate")["properties"].pop("price"),
        "property-removed",
        True,
        f"{CREATE_BODY}/properties/price",
    ),
    Case(
        "required request property added",
        lambda d: (
            schema(d, "ItemCreate")["properties"].__setitem__("shop", {"type": "string"}),
            schema(d, "ItemCreate")["required"].append("shop"),
        ),
        "required-property-added",
        True,
        f"{CREATE_BODY}/properties/shop",
    ),
    Case(
        "optional request property added",
        lambda d: schema(d, "ItemCreate")["properties"].__setitem__("shop", {"type": "string"}),
        "property-added",
        False,
        f"{CREATE_BODY}/properties/shop",
    ),
    Case(
        "response property added",
        lambda d: schema(d, "Item")["properties"].__setitem__("shop", {"type": "string"}),
        "property-added",
        False,
        f"{READ}/properties/shop",
    ),
    Case(
        "request property became required",
        lambda d: schema(d, "ItemCreate")["required"].append("color"),
        "property-became-required",
        True,
        f"{CREATE_BODY}/required",
    ),
    Case(
        "response property became optional",
        lambda d: schema(d, "Item")["required"].remove("color"),
        "property-became-optional",
        True,
        f"{READ}/required",
    ),
    Case(
        "request property became optional",
        lambda d: schema(d, "ItemCreate").__setitem__("required", []),
        "property-became-optional",
        False,
        f"{CREATE_BODY}/required",
    ),
    Case(
        "response type changed",
        _set(lambda d: prop(d, "Item", "price"), "type", "string"),
        "type-changed",
        True,
        f"{READ}/properties/price/type",
    ),
    Case(
        "request type widened to nullable",
        _set(lambda d: prop(d, "ItemCreate", "price"), "type", ["number", "null"]),
        "type-changed",
        False,
        f"{CREATE_BODY}/properties/price/type",
    ),
    Case(
        "response type widened to nullable",
        _set(lambda d: prop(d, "Item", "price"), "type", ["number", "null"]),
        "type-changed",
        True,
        f"{READ}/properties/price/type",
    ),
    Case(
        "response type narrowed",
        _set(lambda d: prop(d, "Item", "note"), "type", "string"),
        "type-changed",
        False,
        f"{READ}/properties/note/type",
    ),
    Case(
        "request integer widened to number",
        _set(lambda d: list_items(d)["parameters"][0]["schema"], "type", "number"),
        "type-changed",
        False,
        f"{ITEMS}/get/parameters/0/schema/type",
    ),
    Case(
        "response format changed",
        _set(lambda d: prop(d, "Item", "id"), "format", "uri"),
        "format-changed",
        True,
        f"{READ}/properties/id/format",
    ),
    Case(
        "request format added",
        _set(lambda d: schema(d, "Name"), "format", "email"),
        "format-changed",
        True,
        f"{CREATE_BODY}/properties/name/format",
    ),
    Case(
        "request format removed",
        lambda d: d["paths"]["/items/{item_id}"]["parameters"][0]["schema"].pop("format"),
        "format-changed",
        False,
        f"{ITEM}/parameters/0/schema/format",
    ),
    Case(
        "enum value removed: request",
        _set(lambda d: schema(d, "Color"), "enum", ["red", "blue"]),
        "enum-value-removed",
        True,
        f"{CREATE_BODY}/properties/color/enum",
    ),
    Case(
        "enum value removed: response",
        _set(lambda d: schema(d, "Color"), "enum", ["red", "blue"]),
        "enum-value-removed",
        False,
        f"{READ}/properties/color/enum",
    ),
    Case(
        "enum value removed: query parameter",
        _set(lambda d: schema(d, "Color"), "enum", ["red", "blue"]),
        "enum-value-removed",
        True,
        f"{ITEMS}/get/parameters/1/schema/enum",
    ),
    Case(
        "enum value added: response",
        _set(lambda d: schema(d, "Color"), "enum", ["red", "green", "blue", "black"]),
        "enum-value-added",
        True,
        f"{LISTED}/properties/color/enum",
    ),
    Case(
        "enum value added: request",
        _set(lambda d: schema(d, "Color"), "enum", ["red", "green", "blue", "black"]),
        "enum-value-added",
        False,
        f"{CREATE_BODY}/properties/color/enum",
    ),
    Case(
        "maxLength lowered: request",
        _set(lambda d: schema(d, "Name"), "maxLength", 50),
        "maxLength-lowered",
        True,
        f"{CREATE_BODY}/properties/name/maxLength",
    ),
    Case(
        "maxLength lowered: response",
        _set(lambda d: schema(d, "Name"), "maxLength", 50),
        "maxLength-lowered",
        False,
        f"{READ}/properties/name/maxLength",
    ),
    Case(
        "maxLength raised: response",
        _set(lambda d: schema(d, "Name"), "maxLength", 500),
        "maxLength-raised",
        True,
        f"{CREATED}/properties/name/maxLength",
    ),
    Case(
        "maximum lowered: query",
        _set(lambda d: list_items(d)["parameters"][0]["schema"], "maximum", 50),
        "maximum-lowered",
        True,
        f"{ITEMS}/get/parameters/0/schema/maximum",
    ),
    Case(
        "minLength raised: request",
        _set(lambda d: schema(d, "Name"), "minLength", 3),
        "minLength-raised",
        True,
        f"{CREATE_BODY}/properties/name/minLength",
    ),
    Case(
        "minimum raised: request",
        _set(lambda d: prop(d, "ItemCreate", "price"), "minimum", 1),
        "minimum-raised",
        True,
        f"{CREATE_BODY}/properties/price/minimum",
    ),
    Case(
        "minimum lowered: request",
        _set(lambda d: prop(d, "ItemCreate", "price"), "minimum", -5),
        "minimum-lowered",
        False,
        f"{CREATE_BODY}/properties/price/minimum",
    ),
    Case(
        "maxItems raised: response",
        _set(lambda d: prop(d, "Item", "tags"), "maxItems", 20),
        "maxItems-raised",
        True,
        f"{READ}/properties/tags/maxItems",
    ),
    Case(
        "pattern added: request",
        _set(lambda d: schema(d, "Name"), "pattern", "^[a-z]+$"),
        "pattern-added",
        True,
        f"{CREATE_BODY}/properties/name/pattern",
    ),
    Case(
        "request default changed",
        _set(lambda d: list_items(d)["parameters"][0]["schema"], "default", 50),
        "default-changed",
        True,
        f"{ITEMS}/get/parameters/0/schema/default",
    ),
    Case(
        "security added",
        _set(lambda d: d["paths"]["/health"]["get"], "security", [{"bearer": []}]),
        "security-added",
        True,
        "/paths/~1health/get/security",
    ),
    Case(
        "security made stricter",
        lambda d: d.__setitem__("security", [{"bearer": [], "key": []}]),
        "security-stricter",
        True,
        f"{ITEMS}/get/security",
    ),
    Case(
        "security relaxed",
        lambda d: d.__setitem__("security", [{"bearer": []}, {"key": []}]),
        "security-relaxed",
        False,
        f"{ITEMS}/get/security",
    ),
    Case(
        "request media type removed",
        lambda d: create_item(d)["requestBody"].__setitem__(
            "content", {"application/xml": {"schema": {"type": "string"}}}
        ),
        "media-type-removed",
        True,
        f"{ITEMS}/post/requestBody/content/application~1json",
    ),
    Case(
        "response media type removed",
        lambda d: create_item(d)["responses"]["201"].pop("content"),
        "media-type-removed",
        True,
        f"{ITEMS}/post/responses/201/content/application~1json",
    ),
    Case(
        "media type added",
        lambda d: create_item(d)["requestBody"]["content"].__setitem__(
            "application/xml", {"schema": {"type": "string"}}
        ),
        "media-type-added",
        False,
        f"{ITEMS}/post/requestBody/content/application~1xml",
    ),
    Case(
        "request property became read-only",
        _set(lambda d: prop(d, "ItemCreate", "color"), "readOnly", True),
        "read-only-flipped",
        True,
        f"{CREATE_BODY}/properties/color/readOnly",
    ),
    Case(
        "read-only required property became writable",
        lambda d: prop(d, "User", "id").pop("readOnly"),
        "read-only-flipped",
        True,
        f"{REGISTER_BODY}/properties/id/readOnly",
    ),
    Case(
        "read-only dropped where only responses use it",
        lambda d: prop(d, "Item", "id").pop("readOnly"),
        "read-only-flipped",
        False,
        f"{READ}/properties/id/readOnly",
    ),
    Case(
        "response property became write-only",
        _set(lambda d: prop(d, "Item", "price"), "writeOnly", True),
        "write-only-flipped",
        True,
        f"{READ}/properties/price/writeOnly",
    ),
    Case(
        "write-only property is now returned",
        lambda d: prop(d, "User", "password").pop("writeOnly"),
        "write-only-flipped",
        True,
        f"{REGISTERED}/properties/password/writeOnly",
    ),
    Case(
        "response header removed",
        lambda d: list_items(d)["responses"]["200"].pop("headers"),
        "response-header-removed",
        True,
        f"{ITEMS}/get/responses/200/headers/X-Total",
    ),
    Case(
        "response header became optional",
        _set(lambda d: list_items(d)["responses"]["200"]["headers"]["X-Total"], "required", False),
        "response-header-became-optional",
        True,
        f"{ITEMS}/get/responses/200/headers/X-Total/required",
    ),
    Case(
        "operationId changed",
        _set(lambda d: d["paths"]["/health"]["get"], "operationId", "probe"),
        "operation-id-changed",
        True,
        "/paths/~1health/get/operationId",
    ),
    Case(
        "request body became optional",
        _set(lambda d: create_item(d)["requestBody"], "required", False),
        "request-body-became-optional",
        False,
        f"{ITEMS}/post/requestBody/required",
    ),
    Case(
        "component renamed",
        rename_item_schema,
        "component-renamed",
        False,
        "/components/schemas/Product",
    ),
    Case(
        "user split into request and response schemas",
        split_user,
        "component-added",
        False,
        "/components/schemas/UserCreate",
    ),
    Case(
        "description edited",
        _set(lambda d: schema(d, "Name"), "description", "Any name."),
        "documentation-changed",
        False,
        "/components/schemas/Name/description",
    ),
    Case(
        "unused component changed",
        lambda d: schema(d, "Unused").__setitem__("maxLength", 3),
        "unused-component-changed",
        False,
        "/components/schemas/Unused",
    ),
    Case(
        "keyword without a rule",
        _set(lambda d: schema(d, "Color"), "not", {"const": "red"}),
        "keyword-changed",
        True,
        f"{CREATE_BODY}/properties/color/not",
    ),
    Case(
        "oneOf variant removed: request",
        lambda d: schema(d, "Size")["oneOf"].pop(1),
        "variant-removed",
        True,
        f"{CREATE_BODY}/properties/size/oneOf",
    ),
    Case(
        "oneOf variant added: response",
        lambda d: schema(d, "Size")["oneOf"].append({"type": "boolean"}),
        "variant-added",
        True,
        f"{READ}/properties/size/oneOf",
    ),
    Case(
        "oneOf variant added: request",
        lambda d: schema(d, "Size")["oneOf"].append({"type": "boolean"}),
        "variant-added",
        False,
        f"{CREATE_BODY}/properties/size/oneOf",
    ),
    Case(
        "enum value removed inside a oneOf variant",
        lambda d: schema(d, "Size")["oneOf"][1].__setitem__("enum", ["S", "M"]),
        "enum-value-removed",
        True,
        f"{CREATE_BODY}/properties/size/oneOf/1/enum",
    ),
    Case(
        "additionalProperties allowed on a request",
        lambda d: schema(d, "ItemCreate").pop("additionalProperties"),
        "additional-properties-changed",
        False,
        f"{CREATE_BODY}/additionalProperties",
    ),
]


def compare(base: dict[str, Any], head: dict[str, Any], tmp_path: Path) -> DiffReport:
    write(tmp_path / "base.yaml", yaml.safe_dump(base, sort_keys=False))
    write(tmp_path / "head.yaml", yaml.safe_dump(head, sort_keys=False))
    return compare_contracts(
        Contract("base.yaml", "base", reader(tmp_path)),
        Contract("head.yaml", "head", reader(tmp_path)),
    )


def edited(edit: Edit) -> dict[str, Any]:
    head = copy.deepcopy(BASE)
    edit(head)
    return head


def test_the_table_holds_at_least_thirty_distinct_edits() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 30


@pytest.mark.fr("010-contract-gates/FR-004")
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_change_is_classified(case: Case, tmp_path: Path) -> None:
    report = compare(BASE, edited(case.edit), tmp_path)
    found = [(c.kind, c.breaking) for c in report.changes if c.pointer == case.pointer]
    assert (case.kind, case.breaking) in found, "\n".join(
        f"{c.breaking} {c.kind} {c.pointer}" for c in report.changes
    )


@pytest.mark.parametrize(
    "name",
    [
        "component renamed",
        "user split into request and response schemas",
        "description edited",
        "path parameter renamed",
        "unused component changed",
    ],
)
def test_shape_preserving_edits_break_nothing(name: str, tmp_path: Path) -> None:
    (case,) = [case for case in CASES if case.name == name]
    report = compare(BASE, edited(case.edit), tmp_path)
    assert report.changes
    assert report.breaking == []
    assert report.ok


def test_identical_contracts_have_no_changes(tmp_path: Path) -> None:
    report = compare(BASE, copy.deepcopy(BASE), tmp_path)
    assert report.changes == []
    assert report.verdict() == "no changes (info.version 1.2.0 → 1.2.0)"


def test_a_shared_component_is_reported_at_every_use(tmp_path: Path) -> None:
    report = compare(BASE, edited(_set(lambda d: schema(d, "Name"), "maxLength", 50)), tmp_path)
    where = {(c.pointer, c.breaking) for c in report.changes if c.kind == "maxLength-lowered"}
    assert where == {
        (f"{CREATE_BODY}/properties/name/maxLength", True),
        (f"{CREATED}/properties/name/maxLength", False),
        (f"{LISTED}/properties/name/maxLength", False),
        (f"{READ}/properties/name/maxLength", False),
    }
    assert {c.base for c in report.changes} == {"/components/schemas/Name/maxLength"}
    assert {c.operation for c in report.changes if c.breaking} == {"createItem (POST /items)"}


def test_documentation_is_reported_once_where_it_is_written(tmp_path: Path) -> None:
    report = compare(
        BASE, edited(_set(lambda d: schema(d, "Name"), "description", "Any name.")), tmp_path
    )
    assert [(c.kind, c.pointer, c.operation) for c in report.changes] == [
        ("documentation-changed", "/components/schemas/Name/description", None)
    ]


def test_a_component_only_new_operations_use_is_not_called_unused(tmp_path: Path) -> None:
    def add_throttling(d: dict[str, Any]) -> None:
        d["components"]["responses"] = {"TooMany": {"description": "Slow down."}}
        list_items(d)["responses"]["429"] = {"$ref": "#/components/responses/TooMany"}

    report = compare(BASE, edited(add_throttling), tmp_path)
    (added,) = [c for c in report.changes if c.kind == "component-added"]
    assert added.reason == "responses TooMany was added; its uses are compared on the wire"


@pytest.mark.fr("010-contract-gates/FR-005")
def test_a_major_version_bump_allows_breaking_changes(tmp_path: Path) -> None:
    def remove_and_bump(d: dict[str, Any]) -> None:
        d["paths"]["/items/{item_id}"].pop("delete")
        d["info"]["version"] = "2.0.0"

    report = compare(BASE, edited(remove_and_bump), tmp_path)
    assert [c.kind for c in report.breaking] == ["operation-removed"]
    assert report.major_bumped
    assert report.ok
    assert "allowed by the major version bump" in report.verdict()


@pytest.mark.fr("010-contract-gates/FR-005")
@pytest.mark.parametrize(
    ("before", "after", "bumped"),
    [
        ("1.2.0", "1.9.0", False),
        ("1.2.0", "2.0.0", True),
        ("v3", "v4-beta", True),
        ("2026-11", "2026-12", False),
        ("draft", "final", False),
    ],
)
def test_only_the_major_part_counts(before: str, after: str, bumped: bool, tmp_path: Path) -> None:
    def breaking_with_version(d: dict[str, Any]) -> None:
        d["paths"]["/items/{item_id}"].pop("delete")
        d["info"]["version"] = after

    base = copy.deepcopy(BASE)
    base["info"]["version"] = before
    report = compare(base, edited(breaking_with_version), tmp_path)
    assert report.major_bumped is bumped
    assert report.ok is bumped


def test_recursive_schemas_are_compared_once_per_pair(tmp_path: Path) -> None:
    def recursive(d: dict[str, Any]) -> None:
        prop(d, "Item", "tags")["items"] = {"$ref": "#/components/schemas/Item"}

    base = edited(recursive)
    head = copy.deepcopy(base)
    prop(head, "Item", "price")["type"] = "string"
    report = compare(base, head, tmp_path)
    # Item inside Item is the same pair of schemas: it is not walked again, endlessly.
    assert sorted(c.pointer for c in report.breaking) == sorted(
        f"{use}/properties/price/type" for use in (CREATED, LISTED, READ)
    )


def test_refs_into_other_files_are_followed(tmp_path: Path) -> None:
    def external(color_enum: list[str]) -> dict[str, Any]:
        d = copy.deepcopy(BASE)
        d["components"]["schemas"]["Color"] = {"$ref": "shared/color.yaml#/Color"}
        return d

    write(tmp_path / "base" / "shared" / "color.yaml", "Color: {type: string, enum: [red, blue]}\n")
    write(tmp_path / "head" / "shared" / "color.yaml", "Color: {type: string, enum: [red]}\n")
    for side in ("base", "head"):
        write(tmp_path / side / "api.yaml", yaml.safe_dump(external([]), sort_keys=False))
    report = compare_contracts(
        Contract("api.yaml", "base", reader(tmp_path / "base")),
        Contract("api.yaml", "head", reader(tmp_path / "head")),
    )
    (change,) = [c for c in report.breaking if c.pointer == f"{CREATE_BODY}/properties/color/enum"]
    assert change.kind == "enum-value-removed"
    assert change.head == "shared/color.yaml#/Color/enum"


@pytest.mark.fr("010-contract-gates/FR-005")
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("#/components/schemas/Nowhere", "points nowhere"),
        ("https://example.com/color.yaml#/Color", "never uses the network"),
        ("missing.yaml#/Color", "missing.yaml does not exist"),
    ],
)
def test_an_unresolvable_ref_is_an_input_error(ref: str, message: str, tmp_path: Path) -> None:
    head = copy.deepcopy(BASE)
    prop(head, "ItemCreate", "color")["$ref"] = ref
    with pytest.raises(ContractLoadError, match=message) as raised:
        compare(BASE, head, tmp_path)
    assert raised.value.exit_code == 2
