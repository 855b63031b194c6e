// Schema-checks Kubernetes objects with kubernetes-models (the OpenAPI schemas of the API server, compiled
// to validators). Its exports allow only `import`, which Jest's CommonJS runtime cannot do, so tests
// run this file with node: objects as a JSON array on stdin, one result per object as JSON on stdout.
const input = await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text));
});

const results = [];
for (const object of JSON.parse(input)) {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  // apps/v1 -> kubernetes-models/apps/v1/Deployment; v1 (the core group) -> kubernetes-models/v1/Service.
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  let Model;
  try {
    Model = (await import(path))[kind];
  } catch (err) {
    results.push({ kind, name, ok: false, error: `no schema for ${apiVersion} ${kind}: ${err}` });
    continue;
  }
  try {
    new Model(object).validate();
    results.push({ kind, name, ok: true });
  } catch (err) {
    results.push({
      kind,
      name,
      ok: false,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
process.stdout.write(JSON.stringify(results));
