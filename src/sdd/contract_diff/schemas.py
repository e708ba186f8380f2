"""Compare two schemas as they travel: in requests a client sends, or responses it receives.

A change is breaking when a request that was valid may now be refused, or a response may now
hold something a client written against the old contract does not expect. Requests and responses
therefore meet the same edit from opposite sides: lowering a ``maxLength`` breaks requests and is
harmless in responses; adding an enum value is harmless in requests and breaks responses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sdd.contract_diff.documents import Contract, Location, Node, join

Direction = Literal["request", "response"]
Effect = Literal["narrows", "widens", "changes"]

# Keywords that describe a schema without constraining what goes over the wire.
SCHEMA_ANNOTATIONS = frozenset(
    {"description", "title", "examples", "example", "$comment", "externalDocs", "xml"}
)
# Keywords compared by a rule below (anything else that changes is "no rule: review by hand").
SCHEMA_RULES = frozenset(
    {
        "$ref", "$id", "$schema", "$anchor", "$defs", "definitions", "type", "nullable",
        "format", "enum", "const", "pattern", "multipleOf", "uniqueItems", "items",
        "properties", "required", "additionalProperties", "allOf", "oneOf", "anyOf",
        "default", "readOnly", "writeOnly", "deprecated",
        "maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum",
        "minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum",
    }
)  # fmt: skip
UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")


@dataclass(frozen=True)
class Change:
    """One difference between the base and head contracts."""

    breaking: bool
    kind: str
    reason: str
    pointer: str
    base: str | None = None
    head: str | None = None
    operation: str | None = None
    direction: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "breaking": self.breaking,
            "kind": self.kind,
            "reason": self.reason,
            "pointer": self.pointer,
            "base": self.base,
            "head": self.head,
            "operation": self.operation,
            "direction": self.direction,
        }


def is_breaking(effect: Effect, direction: Direction) -> bool:
    if effect == "changes":
        return True
    return (effect == "narrows") == (direction == "request")


def consequence(effect: Effect, direction: Direction) -> str:
    return {
        ("narrows", "request"): "requests that were valid may now be refused",
        ("widens", "request"): "the server accepts more than before",
        ("narrows", "response"): "responses hold a subset of what they did",
        ("widens", "response"): "responses may now hold what clients never expected",
        ("changes", "request"): "requests that were valid may now be refused",
        ("changes", "response"): "responses may now hold what clients never expected",
    }[(effect, direction)]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    """The JSON types a schema allows; None when any type is allowed."""
    raw = schema.get("type")
    if raw is None:
        return None
    found = {raw} if isinstance(raw, str) else {str(item) for item in raw}
    if schema.get("nullable") is True:
        found.add("null")
    return frozenset(found)


def _covers(outer: frozenset[str] | None, inner: frozenset[str] | None) -> bool:
    if outer is None:
        return True
    if inner is None:
        return False
    return all(t in outer or (t == "integer" and "number" in outer) for t in inner)


def _enum(schema: dict[str, Any]) -> dict[str, Any] | None:
    """Allowed values keyed by their canonical JSON; ``const`` is a one-value enum."""
    if "const" in schema:
        return {canonical(schema["const"]): schema["const"]}
    values = schema.get("enum")
    if isinstance(values, list):
        return {canonical(value): value for value in values}
    return None


@dataclass
class SchemaComparer:
    """Reporting, and the rules for schemas; :class:`Comparer` adds operations."""

    base: Contract
    head: Contract
    changes: list[Change] = field(default_factory=list)
    _documented: set[tuple[str | None, str | None, str]] = field(default_factory=set)
    _stack: set[tuple[Location, Location, str]] = field(default_factory=set)
    _operation: str | None = None

    # -- reporting ---------------------------------------------------------------------------

    def emit(
        self,
        kind: str,
        breaking: bool,
        reason: str,
        pointer: str,
        base: Location | None = None,
        head: Location | None = None,
        direction: Direction | None = None,
        *,
        shared: bool = False,
    ) -> None:
        """Record a change; ``shared`` ones are reported once, for no operation in particular."""
        self.changes.append(
            Change(
                breaking=breaking,
                kind=kind,
                reason=reason,
                pointer=pointer,
                base=base.render(self.base.main_file) if base else None,
                head=head.render(self.head.main_file) if head else None,
                operation=None if shared else self._operation,
                direction=direction,
            )
        )

    def directional(
        self,
        kind: str,
        effect: Effect,
        what: str,
        pointer: str,
        b: Node,
        h: Node,
        direction: Direction,
        key: str,
    ) -> None:
        self.emit(
            kind,
            is_breaking(effect, direction),
            f"{what}: {consequence(effect, direction)}",
            join(pointer, key),
            b.location.child(key) if key in mapping_of(b) else b.location,
            h.location.child(key) if key in mapping_of(h) else h.location,
            direction,
        )

    def documentation(self, b: Node, h: Node, keys: tuple[str, ...], pointer: str) -> None:
        """Annotation edits, reported once per place they are written, never breaking."""
        bm, hm = mapping_of(b), mapping_of(h)
        extensions = {k for k in (*bm, *hm) if k.startswith("x-")}
        for key in (*keys, *sorted(extensions)):
            if canonical(bm.get(key)) == canonical(hm.get(key)):
                continue
            where_b = b.location.child(key) if key in bm else None
            where_h = h.location.child(key) if key in hm else None
            signature = (
                where_b.render("") if where_b else None,
                where_h.render("") if where_h else None,
                key,
            )
            if signature in self._documented:
                continue
            self._documented.add(signature)
            written = (
                where_h.render(self.head.main_file)
                if where_h
                else (where_b or b.location).render(self.base.main_file)
            )
            self.emit(
                "documentation-changed",
                False,
                f"`{key}` changed; it documents the contract and is not sent over the wire",
                written,
                where_b,
                where_h,
                shared=True,
            )

    # -- schemas ---------------------------------------------------------------------------

    def no_rule(
        self, key: str, pointer: str, b: Node, h: Node, direction: Direction | None
    ) -> None:
        self.emit(
            "keyword-changed",
            True,
            f"`{key}` changed and the diff has no rule for it: review it by hand "
            "(a major version bump accepts it)",
            pointer,
            b.location.child(key) if key in mapping_of(b) else b.location,
            h.location.child(key) if key in mapping_of(h) else h.location,
            direction,
        )

    def compare_schema(self, braw: Node, hraw: Node, direction: Direction, pointer: str) -> None:
        bref, href = braw.get("$ref"), hraw.get("$ref")
        if isinstance(bref, str) and isinstance(href, str) and bref != href:
            signature = (braw.location.render(""), hraw.location.render(""), "$ref")
            if signature not in self._documented:
                self._documented.add(signature)
                self.emit(
                    "ref-changed",
                    False,
                    f"$ref {bref} → {href}: the schema is compared on the wire where it is used",
                    hraw.location.child("$ref").render(self.head.main_file),
                    braw.location.child("$ref"),
                    hraw.location.child("$ref"),
                    shared=True,
                )
        b, h = self.base.resolve(braw), self.head.resolve(hraw)
        frame = (b.location, h.location, direction)
        if frame in self._stack:
            return  # a recursive schema: this pair is already being compared further up
        self._stack.add(frame)
        try:
            self._compare_schema(b, h, direction, pointer)
        finally:
            self._stack.discard(frame)

    def _compare_schema(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        if b.value is False or h.value is False:
            if b.value is not h.value:
                self.no_rule("schema", pointer, b, h, direction)
            return
        bm, hm = mapping_of(b), mapping_of(h)  # an absent schema, or `true`, allows anything
        self.documentation(b, h, tuple(sorted(SCHEMA_ANNOTATIONS)), pointer)
        if bool(bm.get("deprecated")) != bool(hm.get("deprecated")):
            self.documentation(b, h, ("deprecated",), pointer)
        self.compare_type(b, h, direction, pointer)
        self.compare_format(b, h, direction, pointer)
        self.compare_enum(b, h, direction, pointer)
        self.compare_bounds(b, h, direction, pointer)
        self.compare_default(b, h, direction, pointer)
        for key in ("items", "additionalProperties"):
            self.compare_subschema(b, h, direction, pointer, key)
        if any(k in bm or k in hm for k in ("properties", "required")):
            self.compare_properties(b, h, direction, pointer)
        for key in ("allOf", "oneOf", "anyOf"):
            self.compare_composition(b, h, direction, pointer, key)
        for key in sorted((bm.keys() | hm.keys()) - SCHEMA_RULES - SCHEMA_ANNOTATIONS):
            if key.startswith("x-"):
                continue
            if canonical(bm.get(key)) != canonical(hm.get(key)):
                self.no_rule(key, join(pointer, key), b, h, direction)

    def compare_type(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        bt, ht = _types(mapping_of(b)), _types(mapping_of(h))
        if bt == ht:
            return
        effect: Effect = (
            "widens" if _covers(ht, bt) else "narrows" if _covers(bt, ht) else "changes"
        )
        before = "any" if bt is None else "|".join(sorted(bt))
        after = "any" if ht is None else "|".join(sorted(ht))
        self.directional(
            "type-changed", effect, f"type {before} → {after}", pointer, b, h, direction, "type"
        )

    def compare_format(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        bf, hf = b.get("format"), h.get("format")
        if bf == hf:
            return
        effect: Effect = "narrows" if bf is None else "widens" if hf is None else "changes"
        self.directional(
            "format-changed", effect, f"format {bf} → {hf}", pointer, b, h, direction, "format"
        )

    def compare_enum(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        be, he = _enum(mapping_of(b)), _enum(mapping_of(h))
        if be is None and he is None:
            return
        key = "const" if "const" in mapping_of(h) or "const" in mapping_of(b) else "enum"
        if be is None or he is None:
            effect: Effect = "narrows" if be is None else "widens"
            what = "the values are now restricted" if be is None else "any value is now allowed"
            self.directional(
                "enum-added" if be is None else "enum-removed",
                effect,
                what,
                pointer,
                b,
                h,
                direction,
                key,
            )
            return
        removed = [be[k] for k in be if k not in he]
        added = [he[k] for k in he if k not in be]
        if removed:
            self.directional(
                "enum-value-removed",
                "narrows",
                f"{', '.join(map(show, removed))} no longer allowed",
                pointer,
                b,
                h,
                direction,
                key,
            )
        if added:
            self.directional(
                "enum-value-added",
                "widens",
                f"{', '.join(map(show, added))} now allowed",
                pointer,
                b,
                h,
                direction,
                key,
            )

    def compare_bounds(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        bm, hm = mapping_of(b), mapping_of(h)
        for key in (*UPPER_BOUNDS, *LOWER_BOUNDS):
            bv, hv = bm.get(key), hm.get(key)
            if bv == hv:
                continue
            upper = key in UPPER_BOUNDS
            numbers = all(v is None or isinstance(v, int | float) for v in (bv, hv))
            if not numbers and not (isinstance(bv, bool) or isinstance(hv, bool)):
                self.no_rule(key, join(pointer, key), b, h, direction)
                continue
            if isinstance(bv, bool) or isinstance(hv, bool):  # OpenAPI 3.0 exclusive flags
                effect: Effect = "narrows" if hv else "widens"
                change = "set" if hv else "unset"
            elif bv is None:
                effect, change = "narrows", "added"
            elif hv is None:
                effect, change = "widens", "removed"
            elif hv < bv:
                effect, change = ("narrows" if upper else "widens"), "lowered"
            else:
                effect, change = ("widens" if upper else "narrows"), "raised"
            self.directional(
                f"{key}-{change}", effect, f"{key} {bv} → {hv}", pointer, b, h, direction, key
            )
        for key in ("pattern", "multipleOf"):
            bv, hv = bm.get(key), hm.get(key)
            if bv == hv:
                continue
            effect = "narrows" if bv is None else "widens" if hv is None else "changes"
            change = "added" if bv is None else "removed" if hv is None else "changed"
            self.directional(
                f"{key}-{change}",
                effect,
                f"{key} {show(bv)} → {show(hv)}",
                pointer,
                b,
                h,
                direction,
                key,
            )
        if bool(bm.get("uniqueItems")) != bool(hm.get("uniqueItems")):
            effect = "narrows" if hm.get("uniqueItems") else "widens"
            self.directional(
                "uniqueItems-changed", effect, f"uniqueItems → {bool(hm.get('uniqueItems'))}",
                pointer, b, h, direction, "uniqueItems",
            )  # fmt: skip

    def compare_default(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        bm, hm = mapping_of(b), mapping_of(h)
        if canonical(bm.get("default")) == canonical(hm.get("default")):
            return
        breaking = direction == "request" and "default" in bm
        self.emit(
            "default-changed",
            breaking,
            f"default {show(bm.get('default'))} → {show(hm.get('default'))}"
            + (
                ": clients that leave it out now get different behaviour"
                if breaking
                else ": it documents a value and constrains nothing"
            ),
            join(pointer, "default"),
            b.location.child("default") if "default" in bm else b.location,
            h.location.child("default") if "default" in hm else h.location,
            direction,
        )

    def compare_subschema(
        self, b: Node, h: Node, direction: Direction, pointer: str, key: str
    ) -> None:
        bm, hm = mapping_of(b), mapping_of(h)
        if key not in bm and key not in hm:
            return
        bv, hv = bm.get(key, True), hm.get(key, True)
        if isinstance(bv, dict) and isinstance(hv, dict):
            self.compare_schema(child_of(b, key), child_of(h, key), direction, join(pointer, key))
            return
        if canonical(bv) == canonical(hv):
            return
        if not isinstance(bv, dict | bool) or not isinstance(hv, dict | bool):
            self.no_rule(key, join(pointer, key), b, h, direction)  # e.g. 3.0 tuple `items`
            return
        # True (or absent) allows anything, False nothing, and a schema something in between.
        rank = {True: 2, False: 0}
        br = rank.get(bv, 1) if isinstance(bv, bool) else 1
        hr = rank.get(hv, 1) if isinstance(hv, bool) else 1
        effect: Effect = "narrows" if hr < br else "widens"
        if key == "additionalProperties" and direction == "response":
            # Tolerant readers ignore properties they do not know, as for an added property.
            self.emit(
                "additional-properties-changed",
                False,
                f"additionalProperties {show(bv)} → {show(hv)}: clients ignore properties "
                "they do not know",
                join(pointer, key),
                b.location.child(key) if key in bm else b.location,
                h.location.child(key) if key in hm else h.location,
                direction,
            )
            return
        kind = "additional-properties-changed" if key == "additionalProperties" else "items-changed"
        self.directional(
            kind, effect, f"{key} {show(bv)} → {show(hv)}", pointer, b, h, direction, key
        )

    def compare_properties(self, b: Node, h: Node, direction: Direction, pointer: str) -> None:
        bprops, hprops = child_of(b, "properties"), child_of(h, "properties")
        breq = set(mapping_of(b).get("required") or [])
        hreq = set(mapping_of(h).get("required") or [])
        names = list(mapping_of(hprops)) + [
            n for n in mapping_of(bprops) if n not in mapping_of(hprops)
        ]
        for name in names:
            where = join(pointer, "properties", name)
            bp = self.base.resolve(child_of(bprops, name)) if name in mapping_of(bprops) else None
            hp = self.head.resolve(child_of(hprops, name)) if name in mapping_of(hprops) else None
            if bp is not None and hp is not None:
                if self.compare_property(bp, hp, name, name in hreq, direction, where) and (
                    (name in breq) != (name in hreq)
                ):
                    self.required_changed(b, h, name, name in hreq, direction, pointer)
            elif bp is not None and _travels(bp, direction):
                self.emit(
                    "property-removed",  # located where it was written, not where it points
                    True,
                    f"property `{name}` was removed"
                    + (
                        ": clients that send it are refused or ignored"
                        if direction == "request"
                        else ": clients that read it no longer get it"
                    ),
                    where,
                    child_of(bprops, name).location,
                    None,
                    direction,
                )
            elif hp is not None and _travels(hp, direction):
                required = name in hreq and direction == "request"
                self.emit(
                    "required-property-added" if required else "property-added",
                    required,
                    f"property `{name}` was added"
                    + (
                        " as required: existing clients never send it"
                        if required
                        else (
                            " as optional"
                            if direction == "request"
                            else ": clients ignore properties they do not know"
                        )
                    ),
                    where,
                    None,
                    child_of(hprops, name).location,
                    direction,
                )
        # Required names without a property definition still constrain the object.
        for name in sorted((breq ^ hreq) - set(mapping_of(bprops)) - set(mapping_of(hprops))):
            self.required_changed(b, h, name, name in hreq, direction, pointer)

    def compare_property(
        self,
        bp: Node,
        hp: Node,
        name: str,
        is_required: bool,
        direction: Direction,
        where: str,
    ) -> bool:
        """Compare a property present on both sides; True when it travels on both sides."""
        flag = "readOnly" if direction == "request" else "writeOnly"
        before, after = bool(bp.get(flag)), bool(hp.get(flag))
        if before != after:
            self.flag_flipped(bp, hp, name, flag, after, is_required, direction, where)
            return False
        other = "writeOnly" if flag == "readOnly" else "readOnly"
        if bool(bp.get(other)) != bool(hp.get(other)):
            self.emit(
                f"{'read' if other == 'readOnly' else 'write'}-only-flipped",
                False,
                f"`{other}` of `{name}` changed; it governs "
                f"{'responses' if other == 'writeOnly' else 'requests'} only, so "
                f"{direction}s are unchanged",
                join(where, other),
                bp.location.child(other),
                hp.location.child(other),
                direction,
            )
        if before:  # the property does not travel in this direction on either side
            return False
        self.compare_schema(bp, hp, direction, where)
        return True

    def flag_flipped(
        self,
        bp: Node,
        hp: Node,
        name: str,
        flag: str,
        now_set: bool,
        is_required: bool,
        direction: Direction,
        where: str,
    ) -> None:
        kind = "read-only-flipped" if flag == "readOnly" else "write-only-flipped"
        if direction == "request":
            if now_set:
                breaking, reason = (
                    True,
                    (f"`{name}` became read-only: clients that send it are refused or ignored"),
                )
            else:
                breaking = is_required
                reason = (
                    f"`{name}` is no longer read-only and is required: existing clients never "
                    "send it"
                    if is_required
                    else f"`{name}` is no longer read-only: clients may now send it"
                )
        elif now_set:
            breaking, reason = (
                True,
                (f"`{name}` became write-only: clients that read it no longer receive it"),
            )
        else:
            # The flag promised the value never leaves the server (a password, a secret): a
            # response that now carries it breaks that promise, and strict clients reject it.
            breaking, reason = (
                True,
                (
                    f"`{name}` is no longer write-only: responses now carry a value the contract "
                    "promised never to return"
                ),
            )
        self.emit(
            kind,
            breaking,
            reason,
            join(where, flag),
            bp.location.child(flag),
            hp.location.child(flag),
            direction,
        )

    def required_changed(
        self,
        b: Node,
        h: Node,
        name: str,
        now_required: bool,
        direction: Direction,
        pointer: str,
    ) -> None:
        """``name`` entered or left the ``required`` list of the object ``b``/``h``."""
        self.requiredness_changed("property", f"`{name}`", now_required, direction, pointer, b, h)

    def requiredness_changed(
        self,
        what: str,
        label: str,
        now_required: bool,
        direction: Direction,
        pointer: str,
        b: Node,
        h: Node,
    ) -> None:
        """Required in requests narrows them; optional in responses widens them."""
        breaking = now_required == (direction == "request")
        if now_required:
            reason = (
                f"{label} became required: existing clients may not send it"
                if breaking
                else f"{label} became required: clients always receive it"
            )
        else:
            reason = (
                f"{label} became optional: clients that rely on it may not receive it"
                if breaking
                else f"{label} became optional"
            )
        self.emit(
            f"{what}-became-{'required' if now_required else 'optional'}",
            breaking,
            reason,
            join(pointer, "required"),
            b.location.child("required"),
            h.location.child("required"),
            direction,
        )

    def compare_composition(
        self, b: Node, h: Node, direction: Direction, pointer: str, key: str
    ) -> None:
        bl, hl = mapping_of(b).get(key), mapping_of(h).get(key)
        if bl is None and hl is None:
            return
        bl, hl = bl or [], hl or []
        if key == "allOf" or len(bl) == len(hl):
            if len(bl) != len(hl):
                self.no_rule(key, join(pointer, key), b, h, direction)
                return
            for index in range(len(bl)):
                self.compare_schema(
                    child_of(child_of(b, key), index),
                    child_of(child_of(h, key), index),
                    direction,
                    join(pointer, key, index),
                )
            return
        # oneOf/anyOf whose variants were added or removed: match the unchanged ones by content.
        bv, hv = child_of(b, key), child_of(h, key)
        before = [canonical(self.base.resolve(child_of(bv, i)).value) for i in range(len(bl))]
        after = [canonical(self.head.resolve(child_of(hv, i)).value) for i in range(len(hl))]
        for index, variant in enumerate(before):
            if variant not in after:
                what = f"{key} variant {index} was removed"
                self.directional("variant-removed", "narrows", what, pointer, b, h, direction, key)
        for index, variant in enumerate(after):
            if variant not in before:
                what = f"{key} variant {index} was added"
                self.directional("variant-added", "widens", what, pointer, b, h, direction, key)


def mapping_of(node: Node) -> dict[str, Any]:
    return node.value if isinstance(node.value, dict) else {}


def child_of(node: Node, key: str | int) -> Node:
    value = node.value
    if isinstance(value, dict):
        child = value.get(key)
    elif isinstance(value, list) and isinstance(key, int) and key < len(value):
        child = value[key]
    else:
        child = None
    return Node(child, node.location.child(key), node.via_ref)


def _travels(node: Node, direction: Direction) -> bool:
    """Whether a property is part of the wire shape in this direction."""
    return not node.get("readOnly" if direction == "request" else "writeOnly")
