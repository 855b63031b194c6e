import type { ErrorBody } from '@jelmore/contracts';
import { ClientErrorCode, JelmoreClientError } from './client-error';

export type Method = 'GET' | 'POST' | 'DELETE';

/** A request body: JSON, or bytes sent as they are. */
export type RequestBody = { json: unknown } | { bytes: Uint8Array; contentType: string };

export interface HttpTarget {
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** An answer, whole: its status and body. */
export interface HttpAnswer {
  method: Method;
  path: string;
  status: number;
  ok: boolean;
  body: Buffer;
}

/** One request and its whole answer; failing to get one throws CLIENT_TIMEOUT or CLIENT_NETWORK. */
export async function httpRequest(
  target: HttpTarget,
  method: Method,
  path: string,
  body?: RequestBody,
  accept = 'application/json',
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  if (body) headers['content-type'] = 'json' in body ? 'application/json' : body.contentType;
  try {
    const res = await fetch(`${target.url}${path}`, {
      method,
      headers,
      body: !body ? undefined : 'json' in body ? JSON.stringify(body.json) : ownBytes(body.bytes),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    const answer = Buffer.from(await res.arrayBuffer());
    return { method, path, status: res.status, ok: res.ok, body: answer };
  } catch (err) {
    // Checked by name: fetch's errors may come from another realm (e.g. a test sandbox).
    const failure = err as { name?: unknown; message?: unknown; cause?: { message?: unknown } };
    if (failure?.name === 'TimeoutError') {
      throw new JelmoreClientError(
        ClientErrorCode.Timeout,
        `No answer to ${method} ${path} within ${target.timeoutMs} ms`,
      );
    }
    const cause = String(failure?.cause?.message ?? failure?.message ?? err);
    throw new JelmoreClientError(ClientErrorCode.Network, `Cannot reach ${target.url}: ${cause}`);
  }
}

/** `?a=1&b=2` of the parameters that are set; '' when none is. */
export function queryString(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) search.set(name, String(value));
  }
  return search.size ? `?${search.toString()}` : '';
}

/** The answer's JSON; an error status (unless accepted) throws the server's code. */
export function jsonOf<T>(answer: HttpAnswer, acceptedErrors: number[] = []): T {
  const parsed = parse(answer);
  if (answer.ok || acceptedErrors.includes(answer.status)) return parsed as T;
  throw errorOf(answer, parsed);
}

/** The answer's bytes; an error status throws the server's code. */
export function bytesOf(answer: HttpAnswer): Buffer {
  if (answer.ok) return answer.body;
  throw errorOf(answer, parse(answer));
}

function parse({ method, path, status, body }: HttpAnswer): unknown {
  const text = body.toString('utf8');
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    throw new JelmoreClientError(
      ClientErrorCode.BadResponse,
      `${method} ${path} answered ${status} with something other than JSON`,
      status,
    );
  }
}

/** The server's error body as an error, or a bad response when there is none. */
function errorOf({ method, path, status }: HttpAnswer, parsed: unknown): JelmoreClientError {
  const error = (parsed as { error?: ErrorBody } | undefined)?.error;
  if (error && typeof error.code === 'string') return JelmoreClientError.fromBody(error, status);
  return new JelmoreClientError(
    ClientErrorCode.BadResponse,
    `${method} ${path} answered ${status}`,
    status,
  );
}

/** The view's own bytes, as fetch takes them whatever buffer (or Buffer pool) they live in. */
function ownBytes(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
