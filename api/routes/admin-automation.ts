import type { FastifyInstance } from 'fastify';
import type { RuleKind } from '../../crm-core/repositories/automation-rule.repository.js';
import {
  ACTION_TYPES,
  type AutomationRule,
  changeRule,
  createRule,
  deleteRule,
  ESCALATIONS,
  getRule,
  listRules,
  RULE_KINDS,
  type RuleInput,
  SLA_CHANNELS,
} from '../../crm-core/services/automation-rules.service.js';
import { CHANNELS, MESSENGER_CHANNELS } from '../../event/inbound-contact.js';
import type { RouteContext } from './context.js';
import * as s from './schemas.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const list = (items: unknown, max = 100) => ({
  type: 'array',
  items,
  minItems: 1,
  maxItems: max,
  uniqueItems: true,
});

/** Every setting of every kind; which ones a kind takes is checked by the service (a 400 naming the field). */
const fields = {
  name: text(200),
  kind: { type: 'string', enum: [...RULE_KINDS] },
  active: s.bool,
  channel: {
    type: 'string',
    enum: [...SLA_CHANNELS],
    description: 'first_response_sla: the channel it watches',
  },
  minutes: {
    type: 'integer',
    minimum: 1,
    maximum: 10_080,
    description: 'first_response_sla: minutes to answer',
  },
  escalate: {
    type: 'string',
    enum: [...ESCALATIONS],
    description:
      'first_response_sla: hand an overdue item to the next operator of the region or its supervisor',
  },
  graceMinutes: {
    type: 'integer',
    minimum: 0,
    maximum: 1_440,
    description: 'offline_reassign: minutes offline before the conversations are handed on (default 0)',
  },
  channels: {
    ...list({ type: 'string', enum: [...MESSENGER_CHANNELS] }, 10),
    description: 'offline_reassign: conversation channels handed on (default all)',
  },
  conditions: s.body({
    channels: list({ type: 'string', enum: [...CHANNELS] }, 20),
    sourceKeys: list(text(200)),
    regionIds: list(s.id),
    keywords: list(text(200)),
  }),
  action: s.body({
    type: { type: 'string', enum: [...ACTION_TYPES] },
    subject: text(500),
    deadlineMinutes: { type: 'integer', minimum: 0, maximum: 525_600 },
  }),
};

const rule = s.obj({
  id: s.int,
  name: s.str,
  kind: s.str,
  active: s.bool,
  channel: s.str,
  minutes: s.int,
  escalate: s.str,
  graceMinutes: s.int,
  channels: { type: 'array', items: s.str },
  conditions: s.anyObject,
  action: s.anyObject,
  createdAt: s.time,
  updatedAt: s.time,
});

/** A rule as the API shows it: its kind's settings flat beside the common fields, as they are written. */
const present = (r: AutomationRule) => {
  const { settings, ...rest } = r;
  return { ...rest, ...settings };
};

/** Automation rules (README "Automation"), admin only: SLA timers, offline reassignment, condition tasks. */
export function adminAutomationRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: ['admin: automation'],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, 403, ...codes) },
  });

  app.get<{ Querystring: { kind?: RuleKind } }>(
    '/v1/admin/automation-rules',
    {
      onRequest,
      schema: schema(
        'List automation rules',
        { querystring: s.body({ kind: fields.kind }) },
        { 200: s.obj({ items: { type: 'array', items: rule } }, ['items']) },
        400,
      ),
    },
    async (request) => ({ items: (await listRules(db, request.query.kind)).map(present) }),
  );

  app.post<{ Body: RuleInput }>(
    '/v1/admin/automation-rules',
    {
      onRequest,
      schema: schema(
        'Create a rule: first_response_sla {channel, minutes, escalate}, offline_reassign {graceMinutes, channels}, or condition {conditions, action}',
        { body: s.body(fields, ['name', 'kind']) },
        { 201: rule },
        400,
      ),
    },
    async (request, reply) => reply.code(201).send(present(await createRule(db, request.body))),
  );

  app.get<{ Params: { id: number } }>(
    '/v1/admin/automation-rules/:id',
    { onRequest, schema: schema('One automation rule', { params: s.idParams }, { 200: rule }, 400, 404) },
    async (request) => present(await getRule(db, request.params.id)),
  );

  app.patch<{ Params: { id: number }; Body: RuleInput }>(
    '/v1/admin/automation-rules/:id',
    {
      onRequest,
      schema: schema(
        'Change a rule (the fields given replace the stored ones; the kind stays)',
        { params: s.idParams, body: s.body(fields) },
        { 200: rule },
        400,
        404,
      ),
    },
    async (request) => present(await changeRule(db, request.params.id, request.body)),
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/admin/automation-rules/:id',
    {
      onRequest,
      schema: schema(
        'Delete a rule and its timers',
        { params: s.idParams },
        { 204: { type: 'null' } },
        400,
        404,
      ),
    },
    async (request, reply) => {
      await deleteRule(db, request.params.id);
      return reply.code(204).send();
    },
  );
}
