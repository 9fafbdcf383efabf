/**
 * Every route's schema says `security: [{ bearer: [] }]`; @fastify/swagger throws while building the document
 * unless a scheme of that name is declared in `openapi.components.securitySchemes` (api/server.ts does).
 */
export const apiSecuritySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      'The admin token (ADMIN_TOKEN) or an operator token issued by POST /v1/admin/operators. Browsers use ' +
      'the session cookie from POST /v1/session instead (plus X-CSRF-Token on state-changing requests).',
  },
  // The webhooks' and the PBX's credentials (connectors name these labels in their route docs).
  lineSecret: { type: 'http', scheme: 'bearer', description: "A telephony line's secret" },
  lineSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Signature',
    description: 'sha256=<hex HMAC-SHA256 of the raw body with the line secret>',
  },
  twilioSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Twilio-Signature',
    description: "Twilio's request signature with the line's authToken",
  },
  basic: { type: 'http', scheme: 'basic', description: 'FreeSWITCH mod_json_cdr credentials' },
} as const;
