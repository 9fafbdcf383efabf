import Fastify from 'fastify';

/**
 * The HTTP ceiling: a bare Fastify server in its own process with one POST route that parses the same JSON
 * body as the web form and answers 202 with an id, doing nothing else. Started by bench/run.ts.
 */
const app = Fastify({ logger: false });
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/v1/forms/:formKey', async (_req, reply) =>
  reply.code(202).send({ id: '00000000-0000-4000-8000-000000000000', status: 'accepted' }),
);
app.post('/v1/telephony/generic', async (_req, reply) =>
  reply.code(202).send({ id: '00000000-0000-4000-8000-000000000000', status: 'accepted' }),
);
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
