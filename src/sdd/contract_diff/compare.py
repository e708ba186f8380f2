"""Compare two contracts on the wire, operation by operation.

Operations are matched by method and path template (``/tasks/{id}`` and ``/tasks/{task_id}``
are the same URL); each parameter, body, response and header is compared where the operation
uses it, every ``$ref`` resolved, with the schema rules of :mod:`sdd.contract_diff.schemas`.
What no operation reaches (unused components, documentation) is reported as non-breaking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sdd.contract_diff.documents import Contract, Location, Node, join
from sdd.contract_diff.schemas import (
    Change,
    Direction,
    SchemaComparer,
    canonical,
    child_of,
    mapping_of,
)

__all__ = ["Change", "Comparer"]

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
# Component kinds that only document or guide tools: examples and links.
DOCUMENTATION_COMPONENTS = frozenset({"examples", "links"})
PARAMETER_STYLE = {"query": "form", "cookie": "form", "path": "simple", "header": "simple"}
_TEMPLATE = re.compile(r"\{[^}/]*\}")


def template_key(path: str) -> str:
    """``/tasks/{task_id}`` and ``/tasks/{id}`` are the same URL on the wire."""
    return _TEMPLATE.sub("{}", path)


def template_names(path: str) -> list[str]:
    return [match.group(0)[1:-1] for match in _TEMPLATE.finditer(path)]


@dataclass
class Operation:
    method: str
    path: str
    node: Node
    path_item: Node

    @property
    def pointer(self) -> str:
        return join("/paths", self.path, self.method)


@dataclass
class Comparer(SchemaComparer):
    """Every change from one contract to another, breaking or not."""

    # -- the document ----------------------------------------------------------------------

    def run(self) -> list[Change]:
        self.compare_top_level()
        base_ops = dict(self.operations(self.base))
        head_ops = dict(self.operations(self.head))
        for key in sorted(base_ops.keys() | head_ops.keys()):
            b, h = base_ops.get(key), head_ops.get(key)
            if b and h:
                self.compare_operation(b, h)
            elif b:
                self._operation = _label(b)
                self.emit(
                    "operation-removed",
                    True,
                    f"{b.method.upper()} {b.path} was removed: clients that call it get 404 or 405",
                    b.pointer,
                    b.node.location,
                    None,
                )
            elif h:
                self._operation = _label(h)
                self.emit(
                    "operation-added",
                    False,
                    f"{h.method.upper()} {h.path} is new: no existing client calls it",
                    h.pointer,
                    None,
                    h.node.location,
                )
        self._operation = None
        self.compare_security_schemes()
        self.compare_unused_components()
        return self.changes

    def operations(self, contract: Contract) -> Iterator[tuple[tuple[str, str], Operation]]:
        paths = contract.root.get("paths") if isinstance(contract.root, dict) else None
        for path, raw_item in (paths or {}).items():
            item = contract.resolve(
                Node(raw_item, Location(contract.main_file, join("/paths", path)))
            )
            for method in HTTP_METHODS:
                if isinstance(mapping_of(item).get(method), dict):
                    node = Node(item.value[method], item.location.child(method), item.via_ref)
                    yield (template_key(path), method), Operation(method, path, node, item)

    def compare_top_level(self) -> None:
        b, h = self.base.node(), self.head.node()
        if mapping_of(b).get("openapi") != mapping_of(h).get("openapi"):
            self.emit(
                "openapi-version-changed",
                False,
                f"OpenAPI {mapping_of(b).get('openapi')} → {mapping_of(h).get('openapi')}: "
                "tools read the document differently; the wire is compared below",
                "/openapi",
                b.location.child("openapi"),
                h.location.child("openapi"),
            )
        self.documentation(b, h, ("tags", "externalDocs"), "")
        bi, hi = child_of(b, "info"), child_of(h, "info")
        keys = tuple(sorted((mapping_of(bi).keys() | mapping_of(hi).keys()) - {"version"}))
        self.documentation(bi, hi, keys, "/info")
        self.compare_servers(b, h, "")
        for key in ("webhooks", "jsonSchemaDialect"):
            if canonical(mapping_of(b).get(key)) != canonical(mapping_of(h).get(key)):
                self.no_rule(key, join("", key), b, h, None)

    def compare_servers(self, b: Node, h: Node, pointer: str) -> None:
        def urls(node: Node) -> dict[str, int]:
            servers = mapping_of(node).get("servers") or []
            return {str(s.get("url")): i for i, s in enumerate(servers) if isinstance(s, dict)}

        bu, hu = urls(b), urls(h)
        for url in sorted(bu.keys() - hu.keys()):
            self.emit(
                "server-removed",
                True,
                f"server {url} was removed: clients configured with it lose their base URL",
                join(pointer, "servers", bu[url]),
                b.location.child("servers", bu[url]),
                None,
            )
        for url in sorted(hu.keys() - bu.keys()):
            self.emit(
                "server-added",
                False,
                f"server {url} was added",
                join(pointer, "servers", hu[url]),
                None,
                h.location.child("servers", hu[url]),
            )

    # -- operations ------------------------------------------------------------------------

    def compare_operation(self, bop: Operation, hop: Operation) -> None:
        self._operation = _label(hop)
        b, h = bop.node, hop.node
        pointer = hop.pointer
        bid, hid = b.get("operationId"), h.get("operationId")
        if bid != hid:
            self.emit(
                "operation-id-changed",
                True,
                f"operationId {bid!r} → {hid!r}: generated clients name the call after it, "
                "and links and specs refer to it",
                join(pointer, "operationId"),
                b.location.child("operationId"),
                h.location.child("operationId"),
            )
        if bool(b.get("deprecated")) != bool(h.get("deprecated")):
            self.emit(
                "operation-deprecated" if h.get("deprecated") else "operation-undeprecated",
                False,
                "the operation's deprecation flag changed; it still works as before",
                join(pointer, "deprecated"),
                b.location.child("deprecated"),
                h.location.child("deprecated"),
            )
        self.documentation(b, h, ("summary", "description", "tags", "externalDocs"), pointer)
        self.compare_parameters(bop, hop)
        self.compare_request_body(b, h, pointer)
        self.compare_responses(b, h, pointer)
        self.compare_security(bop, hop)
        for key in ("callbacks", "servers"):
            if canonical(b.get(key)) != canonical(h.get(key)):
                if key == "servers":
                    self.compare_servers(b, h, pointer)
                else:
                    self.no_rule(key, join(pointer, key), b, h, None)

    def parameters(self, op: Operation, contract: Contract) -> dict[tuple[str, str], Node]:
        names = template_names(op.path)
        found: dict[tuple[str, str], Node] = {}
        for owner in (op.path_item, op.node):  # operation-level parameters override
            for index, raw in enumerate(mapping_of(owner).get("parameters") or []):
                param = contract.resolve(Node(raw, owner.location.child("parameters", index)))
                p = mapping_of(param)
                where, name = str(p.get("in")), str(p.get("name"))
                if where == "path" and name in names:
                    key = (where, f"#{names.index(name)}")  # the name is not on the wire
                elif where == "header":
                    key = (where, name.lower())
                else:
                    key = (where, name)
                found[key] = param
        return found

    def compare_parameters(self, bop: Operation, hop: Operation) -> None:
        bp, hp = self.parameters(bop, self.base), self.parameters(hop, self.head)
        for key in sorted(bp.keys() | hp.keys()):
            b, h = bp.get(key), hp.get(key)
            either = h or b
            label = f"{key[0]} parameter `{either.get('name') if either else key[1]}`"
            if b and h:
                self.compare_parameter(b, h, label, key[0])
            elif b:
                self.emit(
                    "parameter-removed",
                    True,
                    f"{label} was removed: clients that send it depend on what it did",
                    b.location.pointer,
                    b.location,
                    None,
                    "request",
                )
            elif h:
                required = bool(h.get("required"))
                self.emit(
                    "required-parameter-added" if required else "parameter-added",
                    required,
                    f"{label} was added"
                    + (": existing clients never send it" if required else " as optional"),
                    h.location.pointer,
                    None,
                    h.location,
                    "request",
                )

    def compare_parameter(self, b: Node, h: Node, label: str, where: str) -> None:
        pointer = h.location.pointer
        if b.get("name") != h.get("name"):
            self.emit(
                "path-parameter-renamed",
                False,
                f"path parameter `{b.get('name')}` is now `{h.get('name')}`: "
                "its name is not sent over the wire",
                join(pointer, "name"),
                b.location.child("name"),
                h.location.child("name"),
                "request",
            )
        self.became_required(b, h, label, pointer, "parameter", "request")
        default_style = PARAMETER_STYLE.get(where, "form")
        styles = []
        for node in (b, h):
            style = node.get("style") or default_style
            explode = node.get("explode")
            styles.append((style, style == "form" if explode is None else bool(explode)))
        if styles[0] != styles[1]:
            self.emit(
                "parameter-style-changed",
                True,
                f"{label} is serialised differently (style/explode {styles[0]} → {styles[1]}): "
                "clients encode it the old way",
                pointer,
                b.location,
                h.location,
                "request",
            )
        if bool(b.get("allowEmptyValue")) and not h.get("allowEmptyValue"):
            self.emit(
                "parameter-empty-value-refused",
                True,
                f"{label} no longer allows an empty value",
                join(pointer, "allowEmptyValue"),
                b.location,
                h.location,
                "request",
            )
        if bool(b.get("deprecated")) != bool(h.get("deprecated")):
            self.emit(
                "parameter-deprecated" if h.get("deprecated") else "parameter-undeprecated",
                False,
                f"{label}: the deprecation flag changed; it works as before",
                join(pointer, "deprecated"),
                b.location,
                h.location,
                "request",
            )
        self.documentation(b, h, ("description", "example", "examples"), pointer)
        if "schema" in mapping_of(b) or "schema" in mapping_of(h):
            self.compare_schema(
                child_of(b, "schema"), child_of(h, "schema"), "request", join(pointer, "schema")
            )
        if "content" in mapping_of(b) or "content" in mapping_of(h):
            self.compare_content(b, h, pointer, "request")

    def became_required(
        self, b: Node, h: Node, label: str, pointer: str, what: str, direction: Direction
    ) -> None:
        """The ``required`` flag of a parameter, body or header changed."""
        after = bool(h.get("required"))
        if bool(b.get("required")) != after:
            self.requiredness_changed(what, label, after, direction, pointer, b, h)

    def compare_request_body(self, b: Node, h: Node, pointer: str) -> None:
        pointer = join(pointer, "requestBody")
        braw, hraw = b.get("requestBody"), h.get("requestBody")
        if braw is None and hraw is None:
            return
        if braw is None:
            body = self.head.resolve(Node(hraw, h.location.child("requestBody")))
            required = bool(body.get("required"))
            self.emit(
                "request-body-added",
                required,
                "a request body was added"
                + (" and is required: existing clients send none" if required else " as optional"),
                pointer,
                None,
                body.location,
                "request",
            )
            return
        bb = self.base.resolve(Node(braw, b.location.child("requestBody")))
        if hraw is None:
            self.emit(
                "request-body-removed",
                True,
                "the request body was removed: what clients send is no longer read",
                pointer,
                bb.location,
                None,
                "request",
            )
            return
        hb = self.head.resolve(Node(hraw, h.location.child("requestBody")))
        self.became_required(bb, hb, "the request body", pointer, "request-body", "request")
        self.documentation(bb, hb, ("description",), pointer)
        self.compare_content(bb, hb, pointer, "request")

    def compare_content(self, b: Node, h: Node, pointer: str, direction: Direction) -> None:
        bc, hc = child_of(b, "content"), child_of(h, "content")
        for media in sorted(mapping_of(bc).keys() | mapping_of(hc).keys()):
            where = join(pointer, "content", media)
            if media not in mapping_of(hc):
                self.emit(
                    "media-type-removed",
                    True,
                    f"media type {media} was removed"
                    + (
                        ": clients that send it are refused (415)"
                        if direction == "request"
                        else ": clients that ask for it no longer get it"
                    ),
                    where,
                    bc.location.child(media),
                    None,
                    direction,
                )
                continue
            if media not in mapping_of(bc):
                self.emit(
                    "media-type-added",
                    False,
                    f"media type {media} was added: existing clients keep using the others",
                    where,
                    None,
                    hc.location.child(media),
                    direction,
                )
                continue
            bm = self.base.resolve(child_of(bc, media))
            hm = self.head.resolve(child_of(hc, media))
            self.documentation(bm, hm, ("example", "examples"), where)
            if canonical(bm.get("encoding")) != canonical(hm.get("encoding")):
                self.no_rule("encoding", join(where, "encoding"), bm, hm, direction)
            if "schema" in mapping_of(bm) or "schema" in mapping_of(hm):
                self.compare_schema(
                    child_of(bm, "schema"), child_of(hm, "schema"), direction, join(where, "schema")
                )

    def compare_responses(self, b: Node, h: Node, pointer: str) -> None:
        br, hr = child_of(b, "responses"), child_of(h, "responses")
        had_success = any(str(code).startswith("2") for code in mapping_of(br))
        for code in sorted(mapping_of(br).keys() | mapping_of(hr).keys(), key=str):
            where = join(pointer, "responses", str(code))
            if code not in mapping_of(hr):
                self.emit(
                    "response-status-removed",
                    True,
                    f"response {code} was removed: clients that handle it never see it again, "
                    "and the server may answer something they do not expect",
                    where,
                    br.location.child(str(code)),
                    None,
                    "response",
                )
                continue
            if code not in mapping_of(br):
                success = str(code).startswith("2") and had_success
                self.emit(
                    "response-status-added",
                    success,
                    f"response {code} was added"
                    + (
                        ": clients expect the success statuses documented before"
                        if success
                        else ": clients handle unexpected errors generically"
                    ),
                    where,
                    None,
                    hr.location.child(str(code)),
                    "response",
                )
                continue
            bresp = self.base.resolve(child_of(br, code))
            hresp = self.head.resolve(child_of(hr, code))
            self.documentation(bresp, hresp, ("description",), where)
            self.compare_headers(bresp, hresp, where)
            self.compare_content(bresp, hresp, where, "response")
            if canonical(bresp.get("links")) != canonical(hresp.get("links")):
                self.emit(
                    "links-changed",
                    False,
                    "the response's links changed: they guide tools and are not sent",
                    join(where, "links"),
                    bresp.location.child("links"),
                    hresp.location.child("links"),
                    "response",
                )

    def compare_headers(self, b: Node, h: Node, pointer: str) -> None:
        bh = {name.lower(): name for name in mapping_of(child_of(b, "headers"))}
        hh = {name.lower(): name for name in mapping_of(child_of(h, "headers"))}
        for key in sorted(bh.keys() | hh.keys()):
            if key not in hh:
                self.emit(
                    "response-header-removed",
                    True,
                    f"header {bh[key]} is no longer sent: clients that read it lose it",
                    join(pointer, "headers", bh[key]),
                    b.location.child("headers", bh[key]),
                    None,
                    "response",
                )
            elif key not in bh:
                self.emit(
                    "response-header-added",
                    False,
                    f"header {hh[key]} is new: existing clients ignore it",
                    join(pointer, "headers", hh[key]),
                    None,
                    h.location.child("headers", hh[key]),
                    "response",
                )
            else:
                bn = self.base.resolve(child_of(child_of(b, "headers"), bh[key]))
                hn = self.head.resolve(child_of(child_of(h, "headers"), hh[key]))
                where = join(pointer, "headers", hh[key])
                self.became_required(
                    bn, hn, f"header {hh[key]}", where, "response-header", "response"
                )
                self.documentation(bn, hn, ("description", "example", "examples"), where)
                if "schema" in mapping_of(bn) or "schema" in mapping_of(hn):
                    self.compare_schema(
                        child_of(bn, "schema"),
                        child_of(hn, "schema"),
                        "response",
                        join(where, "schema"),
                    )

    # -- security --------------------------------------------------------------------------

    def effective_security(
        self, op: Operation, contract: Contract
    ) -> tuple[Node, list[dict[str, set[str]]]]:
        if "security" in mapping_of(op.node):
            node = child_of(op.node, "security")
        else:
            node = child_of(contract.node(), "security")
        alternatives = [
            {str(name): set(scopes or []) for name, scopes in alt.items()}
            for alt in (node.value or [])
            if isinstance(alt, dict)
        ]
        return node, alternatives or [{}]

    def compare_security(self, bop: Operation, hop: Operation) -> None:
        bnode, bsec = self.effective_security(bop, self.base)
        hnode, hsec = self.effective_security(hop, self.head)

        def shape(alternatives: list[dict[str, set[str]]]) -> list[str]:
            return sorted(canonical({k: sorted(v) for k, v in a.items()}) for a in alternatives)

        if shape(bsec) == shape(hsec):
            return

        def satisfied(old: dict[str, set[str]]) -> bool:
            return any(
                all(name in old and scopes <= old[name] for name, scopes in new.items())
                for new in hsec
            )

        lost = [alt for alt in bsec if not satisfied(alt)]
        pointer = join(hop.pointer, "security")
        if not lost:
            kind, reason = "security-relaxed", "every client that was allowed still is"
        elif {} in bsec:
            kind = "security-added"
            reason = "the operation now requires authentication: anonymous clients get 401"
        else:
            kind = "security-stricter"
            reason = "clients authenticated the old way are no longer allowed: " + ", ".join(
                " + ".join(sorted(alt)) or "anonymous" for alt in lost
            )
        self.emit(kind, bool(lost), reason, pointer, bnode.location, hnode.location, "request")

    def compare_security_schemes(self) -> None:
        bs = child_of(child_of(self.base.node(), "components"), "securitySchemes")
        hs = child_of(child_of(self.head.node(), "components"), "securitySchemes")
        for name in sorted(mapping_of(bs).keys() & mapping_of(hs).keys()):
            b, h = self.base.resolve(child_of(bs, name)), self.head.resolve(child_of(hs, name))
            self.documentation(b, h, ("description",), h.location.pointer)
            if canonical(_on_the_wire(b.value)) != canonical(_on_the_wire(h.value)):
                self.emit(
                    "security-scheme-changed",
                    True,
                    f"security scheme {name} changed how clients authenticate "
                    "(type, location, scheme or flows)",
                    h.location.pointer,
                    b.location,
                    h.location,
                )
        for name in sorted(mapping_of(bs).keys() ^ mapping_of(hs).keys()):
            removed = name in mapping_of(bs)
            self.emit(
                "security-scheme-removed" if removed else "security-scheme-added",
                False,
                f"security scheme {name} was {'removed' if removed else 'added'}; "
                "operations that use it are compared above",
                join("/components/securitySchemes", name),
                bs.location.child(name) if removed else None,
                None if removed else hs.location.child(name),
            )

    # -- components nobody uses ------------------------------------------------------------

    def compare_unused_components(self) -> None:
        bc = mapping_of(child_of(self.base.node(), "components"))
        hc = mapping_of(child_of(self.head.node(), "components"))
        base_refs, head_refs = self.base.referenced(), self.head.referenced()
        for kind in sorted((bc.keys() | hc.keys()) - {"securitySchemes"}):
            bk, hk = bc.get(kind) or {}, hc.get(kind) or {}
            if not isinstance(bk, dict) or not isinstance(hk, dict):
                continue
            removed = sorted(bk.keys() - hk.keys())
            added = sorted(hk.keys() - bk.keys())
            renamed = {
                old: new
                for old in removed
                for new in added
                if canonical(bk[old]) == canonical(hk[new])
            }
            for old, new in renamed.items():
                self.emit(
                    "component-renamed",
                    False,
                    f"{kind} {old} is now {new} with the same content: "
                    "every use is compared on the wire",
                    join("/components", kind, new),
                    Location(self.base.main_file, join("/components", kind, old)),
                    Location(self.head.main_file, join("/components", kind, new)),
                )
            for name in sorted(bk.keys() | hk.keys()):
                if name in renamed or name in renamed.values():
                    continue
                pointer = join("/components", kind, name)
                b_used = _reached(base_refs, self.base.main_file, pointer)
                h_used = _reached(head_refs, self.head.main_file, pointer)
                b_at = Location(self.base.main_file, pointer) if name in bk else None
                h_at = Location(self.head.main_file, pointer) if name in hk else None
                if name not in hk:
                    reason = (
                        f"{kind} {name} was removed; its uses were compared on the wire"
                        if b_used
                        else f"{kind} {name} was removed; no operation used it"
                    )
                    self.emit("component-removed", False, reason, pointer, b_at, None)
                elif name not in bk:
                    reason = (
                        f"{kind} {name} was added; its uses are compared on the wire"
                        if h_used
                        else f"{kind} {name} was added; no operation uses it yet"
                    )
                    self.emit("component-added", False, reason, pointer, None, h_at)
                elif canonical(bk[name]) == canonical(hk[name]):
                    continue
                elif kind in DOCUMENTATION_COMPONENTS:
                    self.emit(
                        "documentation-changed",
                        False,
                        f"{kind} {name} changed; it documents the contract and is not sent",
                        pointer,
                        b_at,
                        h_at,
                    )
                elif not (b_used or h_used):
                    self.emit(
                        "unused-component-changed",
                        False,
                        f"{kind} {name} changed, but no operation uses it",
                        pointer,
                        b_at,
                        h_at,
                    )


def _reached(referenced: set[Location], main_file: str, pointer: str) -> bool:
    prefix = pointer + "/"
    return any(
        loc.file == main_file and (loc.pointer == pointer or loc.pointer.startswith(prefix))
        for loc in referenced
    )


def _on_the_wire(value: Any) -> Any:
    """A security scheme without its descriptions and extensions."""
    if isinstance(value, dict):
        return {
            k: _on_the_wire(v)
            for k, v in value.items()
            if k != "description" and not k.startswith("x-")
        }
    if isinstance(value, list):
        return [_on_the_wire(v) for v in value]
    return value


def _label(op: Operation) -> str:
    operation_id = op.node.get("operationId")
    name = f"{op.method.upper()} {op.path}"
    return f"{operation_id} ({name})" if operation_id else name
