// Swagger UI for /docs, from files the service serves itself (no CDN on a closed network).
// A file of its own, not an inline script: the page keeps the dashboard's strict CSP.
/* global SwaggerUIBundle */
SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
});
