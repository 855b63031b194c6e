import SwaggerParser from '@apidevtools/swagger-parser';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService } from '@nestjs/core';
import request from 'supertest';
import { startTestServer, TestServer } from './support/app';
import { Route, routes } from './support/routes';

const ADMIN = 'ops-key-0123456789abcdef';
const KEYS = `ops:${ADMIN}:admin`;
const SOME_ID = '00000000-0000-4000-8000-000000000000';

interface Media {
  schema?: unknown;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Operation {
  summary?: string;
  security?: Array<Record<string, string[]>>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media>; headers?: Record<string, unknown> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

/** Every example a media type gives, named or not. */
function examplesOf(media: Media): unknown[] {
  return [
    ...('example' in media ? [media.example] : []),
    ...Object.values(media.examples ?? {}).map((e) => e.value),
  ];
}

/** Routes whose controller or handler is deliberately left out of the document (@ApiExclude...). */
function excludedRoutes(server: TestServer): Set<string> {
  const excluded = new Set<string>();
  const join = (...parts: string[]) =>
    '/' +
    parts
      .map((p) => p.replace(/^\/+|\/+$/g, ''))
      .filter(Boolean)
      .join('/');
  for (const wrapper of server.app.get(DiscoveryService).getControllers()) {
    const cls = wrapper.metatype as (new (...args: never[]) => object) | null;
    if (!cls) continue;
    const wholeClass = Reflect.getMetadata('swagger/apiExcludeController', cls) as
      boolean[] | undefined;
    const base = [Reflect.getMetadata(PATH_METADATA, cls) as string | string[]].flat();
    for (const name of Object.getOwnPropertyNames(cls.prototype)) {
      const handler = (cls.prototype as Record<string, unknown>)[name];
      if (typeof handler !== 'function' || name === 'constructor') continue;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (paths === undefined) continue;
      const endpoint = Reflect.getMetadata('swagger/apiExcludeEndpoint', handler) as
        { disable: boolean } | undefined;
      if (!wholeClass?.[0] && !endpoint?.disable) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
      for (const b of base)
        for (const p of [paths].flat()) excluded.add(`${method.toLowerCase()} ${join(b, p)}`);
    }
  }
  return excluded;
}

describe('OpenAPI document (/docs-json)', () => {
  let server: TestServer;
  let doc: OpenApiDocument;
  /** The API routes of the router, each with its operation in the document (when it has one). */
  let api: Array<Route & { docPath: string; op?: Operation }>;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: KEYS,
        JELMORE_SCRIPTED_ENABLED: 'true',
        // Every route is asked once without a key: more failures than the default limit lets through.
        JELMORE_AUTH_FAILURE_LIMIT: '1000',
      },
    });
    doc = (await request(server.url).get('/docs-json').expect(200)).body as OpenApiDocument;
    const excluded = excludedRoutes(server);
    api = routes(server.app)
      // Catch-all layers (`{/*splat}`) are middleware; the OpenAPI pages come from SwaggerModule.
      .filter((r) => r.path.startsWith('/') && !r.path.startsWith('/docs'))
      .filter((r) => !excluded.has(`${r.method} ${r.path}`))
      .map((r) => {
        const docPath = r.path.replace(/:(\w+)/g, '{$1}');
        return { ...r, docPath, op: doc.paths[docPath]?.[r.method] };
      });
  });

  afterAll(async () => {
    await server?.close();
  });

  /** supertest, indexed by the router's lower-case method names. */
  const agent = () =>
    request(server.url) as unknown as Record<string, (path: string) => request.Test>;

  it('is a valid OpenAPI 3 document in which every $ref resolves', async () => {
    // What an external tool (a mock server, a code generator) does first: schema validation, then every
    // reference dereferenced. A copy, because the parser rewrites the document in place.
    const parsed = await SwaggerParser.validate(structuredClone(doc) as never).catch(
      (err: Error) => err.message,
    );
    expect(parsed).toEqual(expect.objectContaining({ openapi: expect.stringMatching(/^3\./) }));
  });

  it('documents every route the router serves', () => {
    // The router really was read: the sessions API alone has nine routes.
    expect(api.length).toBeGreaterThanOrEqual(15);
    const missing = api.filter((r) => !r.op).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('gives each operation a summary, and the bearer scheme to exactly the routes that need a key', async () => {
    expect(doc.components.securitySchemes?.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    const wrong: string[] = [];
    for (const route of api) {
      if (!route.op?.summary?.trim()) wrong.push(`${route.method} ${route.path}: no summary`);
      // What the server does decides: a route that answers 401 without a key must say it needs one.
      const path = route.path.replace(/:\w+/g, SOME_ID);
      const needsKey = (await agent()[route.method](path)).status === 401;
      const documented = (route.op?.security ?? []).some((s) => 'bearer' in s);
      if (needsKey !== documented) {
        wrong.push(
          `${route.method} ${route.path}: needs a key ${needsKey}, documented ${documented}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has an example for every success response and every request body', async () => {
    const wrong: string[] = [];
    for (const { method, path, op } of api) {
      if (!op) continue;
      const successes = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      if (successes.length === 0) wrong.push(`${method} ${path}: no success response`);
      for (const [status, response] of successes) {
        const contents = Object.entries(response.content ?? {});
        if (contents.length === 0) wrong.push(`${method} ${path} ${status}: no content`);
        for (const [type, media] of contents) {
          if (examplesOf(media).length === 0) wrong.push(`${method} ${path} ${status} ${type}`);
        }
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        if (examplesOf(media).length === 0) wrong.push(`${method} ${path} body ${type}`);
      }
      // A route that validates a body must document one: it refuses an unknown field by name.
      if (method === 'post' || method === 'put' || method === 'patch') {
        const send = agent()[method];
        const probe = await send(path.replace(/:\w+/g, SOME_ID))
          .set('authorization', `Bearer ${ADMIN}`)
          .send({ notAField: 1 });
        const takesBody = probe.status === 400 && /notAField/.test(probe.body.error?.message);
        if (takesBody && !op.requestBody) wrong.push(`${method} ${path}: body not documented`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('documents errors in their shape: 401 and 429 wherever a key is needed, 404 for a resource', () => {
    const wrong: string[] = [];
    for (const { method, path, op } of api) {
      if (!op?.security?.length) continue;
      const code = (status: string): unknown[] =>
        Object.values(op.responses[status]?.content ?? {})
          .flatMap(examplesOf)
          .map((e) => (e as { error?: { code?: unknown } }).error?.code);
      for (const [status, expected] of [
        ['401', 'UNAUTHORIZED'],
        ['429', 'RATE_LIMITED'],
      ]) {
        const codes = code(status);
        if (codes.length === 0 || codes.some((c) => c !== expected)) {
          wrong.push(`${method} ${path} ${status}: ${JSON.stringify(codes)}`);
        }
      }
      if (!op.responses['429']?.headers?.['Retry-After'])
        wrong.push(`${method} ${path}: Retry-After`);
      if (path.includes(':') && code('404').length === 0) wrong.push(`${method} ${path}: no 404`);
      for (const status of Object.keys(op.responses).filter((s) => /^[45]/.test(s))) {
        const codes = code(status);
        if (codes.length === 0 || codes.some((c) => typeof c !== 'string')) {
          wrong.push(`${method} ${path} ${status}: no error code in the example`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('shows what the server really answers', async () => {
    const example = (path: string, method: string, status: string) => {
      const media = doc.paths[path][method].responses[status].content!['application/json'];
      return examplesOf(media)[0] as Record<string, unknown>;
    };
    const keys = (value: object) => Object.keys(value).sort();
    const http = () => request(server.url);
    const auth = { authorization: `Bearer ${ADMIN}` };

    const created = await http()
      .post('/v1/sessions')
      .set(auth)
      .send({ query: 'hi', provider: 'scripted' })
      .expect(201);
    expect(keys(created.body)).toEqual(keys(example('/v1/sessions', 'post', '201')));
    const id = created.body.id as string;
    const events = await http().get(`/v1/sessions/${id}/events`).set(auth).expect(200);
    expect(keys(events.body)).toEqual(keys(example('/v1/sessions/{id}/events', 'get', '200')));
    const providers = await http().get('/v1/providers').set(auth).expect(200);
    const providersExample = example('/v1/providers', 'get', '200') as {
      providers: object[];
    };
    expect(keys(providers.body)).toEqual(keys(providersExample));
    expect(keys(providers.body.providers[0])).toEqual(keys(providersExample.providers[0]));
    const metrics = await http().get('/v1/metrics').set(auth).expect(200);
    expect(keys(metrics.body)).toEqual(keys(example('/v1/metrics', 'get', '200')));
    await http().delete(`/v1/sessions/${id}`).set(auth).expect(200);

    // Error examples are the server's own words.
    const unauthorized = await http().get('/v1/sessions').expect(401);
    expect(unauthorized.body).toEqual(example('/v1/sessions', 'get', '401'));
    const missing = await http().get(`/v1/sessions/${SOME_ID}`).set(auth).expect(404);
    expect(missing.body.error.code).toBe(
      (example('/v1/sessions/{id}', 'get', '404') as { error: { code: string } }).error.code,
    );
  });
});
