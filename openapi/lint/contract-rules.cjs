// Contract lint rules that Redocly's built-in and configurable rules cannot express, because
// they need to know whether a schema is reached from a request (OWASP API4:2023 "unrestricted
// resource consumption") or which security applies to an operation (OWASP API2:2023).
// Loaded by redocly.yaml; see history/adr for why each rule exists.
"use strict";

// Formats whose validators bound the length of the string by themselves.
const SELF_BOUNDED_FORMATS = new Set(["date", "date-time", "time", "uuid", "ipv4", "ipv6"]);

function typesOf(schema) {
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type === undefined ? [] : [schema.type];
}

// Visit every schema reachable from `root`, following $refs, each once per request.
function walkSchemas(root, location, ctx, visit, seen = new Set()) {
  let schema = root;
  let where = location;
  if (schema && typeof schema === "object" && typeof schema.$ref === "string") {
    const resolved = ctx.resolve(schema);
    if (!resolved.node || seen.has(resolved.node)) return;
    schema = resolved.node;
    where = resolved.location;
  }
  if (!schema || typeof schema !== "object" || seen.has(schema)) return;
  seen.add(schema);
  visit(schema, where);
  for (const [name, child] of Object.entries(schema.properties || {})) {
    walkSchemas(child, where.child(["properties", name]), ctx, visit, seen);
  }
  for (const keyword of ["items", "additionalProperties", "unevaluatedProperties", "not"]) {
    if (schema[keyword] && typeof schema[keyword] === "object") {
      walkSchemas(schema[keyword], where.child(keyword), ctx, visit, seen);
    }
  }
  for (const keyword of ["allOf", "anyOf", "oneOf", "prefixItems"]) {
    (schema[keyword] || []).forEach((child, index) =>
      walkSchemas(child, where.child([keyword, index]), ctx, visit, seen),
    );
  }
}

// A rule that checks every schema a client can send: request bodies and parameters.
function requestSchemaRule(check) {
  return function rule() {
    const inspect = (schema, ctx) =>
      walkSchemas(schema, ctx.location, ctx, (node, location) => {
        const message = check(node);
        if (message) ctx.report({ message, location });
      });
    return {
      Parameter: { Schema: { enter: (schema, ctx) => inspect(schema, ctx) } },
      RequestBody: { Schema: { enter: (schema, ctx) => inspect(schema, ctx) } },
    };
  };
}

const requestStringsBounded = requestSchemaRule((schema) => {
  if (!typesOf(schema).includes("string")) return null;
  const bounded =
    schema.maxLength !== undefined ||
    schema.enum !== undefined ||
    schema.const !== undefined ||
    SELF_BOUNDED_FORMATS.has(schema.format);
  return bounded
    ? null
    : "A string a client sends must declare `maxLength` (or `enum`, `const`, or a self-bounded " +
        "`format` such as `uuid` or `date-time`).";
});

const requestArraysBounded = requestSchemaRule((schema) =>
  typesOf(schema).includes("array") && schema.maxItems === undefined
    ? "An array a client sends must declare `maxItems`."
    : null,
);

const requestNumbersBounded = requestSchemaRule((schema) => {
  const numeric = typesOf(schema).some((type) => type === "integer" || type === "number");
  if (!numeric || schema.enum !== undefined || schema.const !== undefined) return null;
  const low = schema.minimum !== undefined || schema.exclusiveMinimum !== undefined;
  const high = schema.maximum !== undefined || schema.exclusiveMaximum !== undefined;
  return low && high
    ? null
    : "A number a client sends must declare `minimum` and `maximum` (or their exclusive forms).";
});

const requestObjectsClosed = requestSchemaRule((schema) => {
  const isObject = typesOf(schema).includes("object") || schema.properties !== undefined;
  if (!isObject) return null;
  return schema.additionalProperties === false || schema.unevaluatedProperties === false
    ? null
    : "An object a client sends must declare `additionalProperties: false` (or " +
        "`unevaluatedProperties: false` with `allOf`), so unknown members such as `owner_id` " +
        "get 422 instead of being dropped.";
});

// An operation that requires credentials must say what happens without them.
function securedOperationsDocument401() {
  let globalSecurity = [];
  return {
    Root: {
      enter(root) {
        globalSecurity = root.security || [];
      },
    },
    Operation: {
      enter(operation, ctx) {
        const security = operation.security !== undefined ? operation.security : globalSecurity;
        const anonymousAllowed =
          security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0);
        const responses = operation.responses || {};
        if (!anonymousAllowed && responses["401"] === undefined) {
          ctx.report({
            message: "An operation that requires credentials must document its 401 response.",
            location: ctx.location.child("responses").key(),
          });
        }
      },
    },
  };
}

module.exports = function contractRules() {
  return {
    id: "taskapi",
    rules: {
      oas3: {
        "request-strings-bounded": requestStringsBounded,
        "request-arrays-bounded": requestArraysBounded,
        "request-numbers-bounded": requestNumbersBounded,
        "request-objects-closed": requestObjectsClosed,
        "secured-operations-document-401": securedOperationsDocument401,
      },
    },
  };
};
