// Starts Swagger UI on /docs. A file rather than an inline script, so the page's
// Content-Security-Policy can allow scripts from this origin only.
"use strict";

window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    // Relative to /docs, so the page also works behind a path prefix.
    url: "openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    displayRequestDuration: true,
    showExtensions: true,
    showCommonExtensions: true,
    // No call to the public validator service: the page talks to this server only.
    validatorUrl: null,
    // The bearer token lives in this page's memory only: never in localStorage, where any
    // script of this origin could read it after the tab is closed. Reloading signs out.
    persistAuthorization: false,
  });
});
