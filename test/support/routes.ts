import type { INestApplication } from '@nestjs/common';

export interface Route {
  method: string;
  path: string;
}

/** Every route the HTTP server answers, read from the router itself: a new route is covered unasked. */
export function routes(app: INestApplication): Route[] {
  const router = (
    app.getHttpAdapter().getInstance() as {
      router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
    }
  ).router;
  return router.stack.flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods).map((method) => ({ method, path: layer.route!.path }))
      : [],
  );
}
