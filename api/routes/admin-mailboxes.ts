import type { FastifyInstance } from 'fastify';
import type { MailboxSettings } from '../../channels/settings.js';
import * as repo from '../../crm-core/repositories/channel-settings.repository.js';
import { AppError } from '../../lib/errors.js';
import type { RouteContext } from './context.js';
import { keepSecret, maskMailbox } from './present.js';
import * as s from './schemas.js';

const host = { type: 'string', minLength: 1, maxLength: 255 };
const port = { type: 'integer', minimum: 1, maximum: 65_535 };
const secret = { type: 'string', minLength: 1, maxLength: 500 };

/** On create the IMAP password is required; on replace it may be left out (or sent back masked) to keep it. */
const fields = (create: boolean) => ({
  name: { type: 'string', minLength: 1, maxLength: 200 },
  address: { type: 'string', format: 'email', maxLength: 320 },
  imap: s.body(
    { host, port, secure: s.bool, user: { type: 'string', minLength: 1, maxLength: 320 }, password: secret },
    create ? ['host', 'port', 'secure', 'user', 'password'] : ['host', 'port', 'secure', 'user'],
  ),
  smtp: {
    ...s.body(
      {
        host,
        port,
        secure: s.bool,
        user: { type: 'string', maxLength: 320 },
        password: secret,
        // where the copy of each reply is appended; default: the folder flagged \Sent, else "Sent"
        sentFolder: { type: 'string', minLength: 1, maxLength: 500 },
      },
      ['host', 'port', 'secure'],
    ),
    nullable: true,
  },
  folders: {
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength: 500 },
    minItems: 1,
    maxItems: 50,
    default: ['INBOX'],
  },
  syncSince: s.time,
  processed: s.body(
    {
      action: { type: 'string', enum: ['none', 'seen', 'move'] },
      folder: { type: 'string', minLength: 1, maxLength: 500 },
    },
    ['action'],
  ),
  attachmentMaxBytes: { type: 'integer', minimum: 0, maximum: 100 * 1024 * 1024, default: 5 * 1024 * 1024 },
  active: { type: 'boolean', default: true },
});
const mailbox = s.obj({
  id: s.int,
  ...fields(false),
  syncSince: s.str,
  imap: s.anyObject,
  smtp: s.anyObject,
  processed: s.anyObject,
});

type Body = Omit<MailboxSettings, 'id' | 'imap' | 'smtp'> & {
  imap: Omit<MailboxSettings['imap'], 'password'> & { password?: string };
  smtp?: MailboxSettings['smtp'] | null;
};

/** JSON Schema cannot say "folder is required when action is move" readably; this can, naming the field. */
function settings(b: Body, stored?: MailboxSettings): Omit<MailboxSettings, 'id'> {
  const processed = b.processed ?? { action: 'none' };
  if (processed.action === 'move' && !('folder' in processed && processed.folder)) {
    throw new AppError('VALIDATION', 'processed.folder: is required when action is move', {
      fields: ['processed.folder'],
    });
  }
  const password = keepSecret(b.imap.password, stored?.imap.password);
  if (!password)
    throw new AppError('VALIDATION', 'imap.password: is required', { fields: ['imap.password'] });
  const smtp = b.smtp
    ? { ...b.smtp, password: keepSecret(b.smtp.password, stored?.smtp?.password) }
    : undefined;
  return { ...b, imap: { ...b.imap, password }, smtp, processed };
}

/** IMAP mailboxes the email connector watches; passwords are write-only. */
export function adminMailboxRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: ['admin: mailboxes'],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, ...codes) },
  });
  const gone = (id: number) => new AppError('NOT_FOUND', `id: mailbox ${id} not found`, { fields: ['id'] });
  const load = async (id: number) => {
    const m = await repo.getMailbox(db, id);
    if (!m) throw gone(id);
    return m;
  };

  app.get(
    '/v1/admin/mailboxes',
    {
      onRequest,
      schema: schema(
        'List mailboxes (passwords masked)',
        {},
        { 200: s.obj({ items: { type: 'array', items: mailbox } }) },
      ),
    },
    async () => ({
      items: (await repo.listMailboxes(db)).map(maskMailbox),
    }),
  );
  app.post<{ Body: Body }>(
    '/v1/admin/mailboxes',
    {
      onRequest,
      schema: schema(
        'Add a mailbox',
        { body: s.body(fields(true), ['name', 'address', 'imap']) },
        { 201: mailbox },
        400,
        409,
      ),
    },
    async (request, reply) => {
      const id = await repo.insertMailbox(db, settings(request.body));
      return reply.code(201).send(maskMailbox(await load(id)));
    },
  );
  app.get<{ Params: { id: number } }>(
    '/v1/admin/mailboxes/:id',
    {
      onRequest,
      schema: schema('One mailbox (passwords masked)', { params: s.idParams }, { 200: mailbox }, 400, 404),
    },
    async (request) => maskMailbox(await load(request.params.id)),
  );
  app.put<{ Params: { id: number }; Body: Body }>(
    '/v1/admin/mailboxes/:id',
    {
      onRequest,
      schema: schema(
        'Replace a mailbox',
        { params: s.idParams, body: s.body(fields(false), ['name', 'address', 'imap']) },
        { 200: mailbox },
        400,
        404,
        409,
      ),
    },
    async (request) => {
      const stored = await load(request.params.id);
      await repo.updateMailbox(db, stored.id, settings(request.body, stored));
      return maskMailbox(await load(stored.id));
    },
  );
  app.delete<{ Params: { id: number } }>(
    '/v1/admin/mailboxes/:id',
    {
      onRequest,
      schema: schema('Delete a mailbox', { params: s.idParams }, { 204: { type: 'null' } }, 400, 404),
    },
    async (request, reply) => {
      if (!(await repo.deleteMailbox(db, request.params.id))) throw gone(request.params.id);
      return reply.code(204).send();
    },
  );
}
