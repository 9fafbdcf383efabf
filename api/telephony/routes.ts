import type { FastifyPluginAsync } from 'fastify';
import { isChannelKey } from '../../channels/settings.js';
import type { Database } from '../../crm-core/db/database.js';
import { type CallGroupBy, callReport } from '../../crm-core/repositories/call-report.repository.js';
import { getLine, SETTINGS_CACHE_MS } from '../../crm-core/repositories/channel-settings.repository.js';
import { callRinging } from '../../crm-core/services/console-notices.js';
import { bearerToken, safeEqual } from '../../lib/credentials.js';
import { AppError } from '../../lib/errors.js';
import { ttlCache } from '../../lib/ttl-cache.js';
import { NO_NOTICES, type Notifier } from '../../realtime/notices.js';
import { lookupClient } from '../../router/client-lookup.js';
import { createRegionsCache, type RegionsCache } from '../../router/regions-cache.js';
import { createAuth, prepareAuth } from '../auth.js';
import type { ApiConfig } from '../config.js';
import { refuseUnsafeText } from '../validation.js';

export interface TelephonyApiDeps {
  db: Database;
  config: Readonly<ApiConfig>;
  /** Screen pop: the routing answer that names an operator tells their console (call.ringing). */
  notices?: Notifier;
  /** The region rules' cache shared with the rest of the API (api/server.ts invalidates it); its own if absent. */
  regions?: RegionsCache;
}

/**
 * Telephony reads for PBXs and supervisors: whom to ring for a caller (line token), and call reports (admin).
 */
export const telephonyApi: FastifyPluginAsync<TelephonyApiDeps> = async (
  app,
  { db, config, notices = NO_NOTICES, regions = createRegionsCache() },
) => {
  await prepareAuth(app);
  // Reports are for administrators: the admin token or an operator with the admin role (token or session).
  const { requireAdmin } = createAuth({
    db,
    adminToken: config.adminToken,
    sessionTtlHours: config.sessionTtlHours,
  });
  // The PBX waits for this answer while the caller hears ringing: it reads through the database's fast lane
  // (connections of its own, never queued behind router transactions), with the region rules and the line
  // cached, so an answer is one statement (router/client-lookup.ts).
  const lane = db.fastLane ?? db;
  // The PBX asks on every ring: the line (and its secret) is cached like the webhooks' copy.
  const lineOf = ttlCache((key) => getLine(lane, key), SETTINGS_CACHE_MS);
  app.addHook('preValidation', refuseUnsafeText);
  app.get<{ Querystring: { from?: string; line?: string } }>(
    '/v1/telephony/route',
    {
      schema: {
        tags: ['telephony'],
        summary: 'Whom should the PBX ring for this caller? (Bearer: the line secret)',
        security: [{ lineSecret: [] }],
        querystring: {
          type: 'object',
          required: ['from', 'line'],
          properties: { from: { type: 'string', minLength: 1 }, line: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (req) => {
      const line = isChannelKey(req.query.line) ? await lineOf(req.query.line) : undefined;
      const token = bearerToken(req.headers.authorization) ?? '';
      if (!line?.active || !safeEqual(token, line.secret)) {
        throw new AppError('UNAUTHORIZED', 'line: unknown line or wrong line secret', { fields: ['line'] });
      }
      // Call tracking: the line's own region and number steer the prediction for an unknown caller.
      const r = await lookupClient(
        lane,
        { phone: req.query.from },
        config.defaultCountry,
        { explicitRegionId: line.regionId, calledLine: line.number ?? line.key },
        { regions: regions.get },
      );
      // The PBX rings the operator it is told: their console pops the caller's card (after the answer is built,
      // never delaying it; a lost notice costs the pop, not the call).
      const phone = r.found
        ? (r.matchedBy.find((i) => i.kind === 'phone')?.value ?? req.query.from ?? '')
        : '';
      if (r.found && r.responsible?.active) {
        notices.publish([
          callRinging({
            operatorId: r.responsible.id,
            phone,
            line: line.key,
            client: { entityType: r.entityType, entityId: r.entityId, name: r.name },
            known: true,
          }),
        ]);
      } else if (!r.found && r.wouldAssign.operatorId != null) {
        notices.publish([
          callRinging({
            operatorId: r.wouldAssign.operatorId,
            phone: r.identities.find((i) => i.kind === 'phone')?.value ?? req.query.from ?? '',
            line: line.key,
            client: null,
            known: false,
            regionId: r.wouldAssign.regionId,
            source: line.source ?? line.name,
          }),
        ]);
      }
      if (r.found) {
        return {
          known: true,
          client: { entityType: r.entityType, entityId: r.entityId, name: r.name },
          operator: r.responsible?.active ? r.responsible : null,
          reason: r.responsible?.active ? 'responsible' : 'responsible_inactive',
        };
      }
      return {
        known: false,
        client: null,
        operator: r.wouldAssign.operatorId != null ? { id: r.wouldAssign.operatorId } : null,
        reason: r.wouldAssign.reason,
        regionId: r.wouldAssign.regionId,
      };
    },
  );

  app.get<{ Querystring: { from: string; to: string; groupBy?: CallGroupBy } }>(
    '/v1/reports/calls',
    {
      onRequest: requireAdmin,
      schema: {
        tags: ['reports'],
        summary: 'Call statistics per operator, line or day (admin)',
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            groupBy: { type: 'string', enum: ['operator', 'line', 'day'], default: 'day' },
          },
        },
      },
    },
    async (req) => {
      if (req.query.from >= req.query.to)
        throw new AppError('VALIDATION', 'to: must be after from', { fields: ['to'] });
      const groupBy = req.query.groupBy ?? 'day';
      return {
        from: req.query.from,
        to: req.query.to,
        groupBy,
        rows: await callReport(db, req.query.from, req.query.to, groupBy, new Date()),
      };
    },
  );
};
