import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

export interface HttpOptions {
  method?: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Pooled connections (keep-alive), or `false` for a connection of its own that ends with the answer. */
  agent: http.Agent | false;
}

/**
 * An HTTP exchange with node:http rather than fetch: fetch pools connections per origin for the whole
 * process, and a session's server often gets the port of one that just ended (opencode tries 4096
 * first), whose pooled connections then fail with ECONNRESET.
 */
export function httpOpen(url: string, options: HttpOptions): Promise<IncomingMessage> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      signal: options.signal,
      agent: options.agent,
    });
    req.once('response', resolve).once('error', reject);
    req.end(options.body);
  });
}

/** The answer's status and its whole body as text. */
export async function httpText(
  url: string,
  options: HttpOptions,
): Promise<{ status: number; text: string }> {
  const res = await httpOpen(url, options);
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return { status: res.statusCode ?? 0, text };
}
