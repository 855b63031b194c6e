import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError as ClassValidationError } from 'class-validator';
import { ValidationError } from '@jelmore/contracts';

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true };

/**
 * How deep objects and arrays may nest in a REST body, query or WS payload. Real ones nest a few levels
 * (a session's `requirements.capabilities`); class-transformer and class-validator recurse once per level
 * and overflow the stack about 2,000 levels down, which a 20 KB body reaches.
 */
export const MAX_PAYLOAD_DEPTH = 32;

/**
 * Refuses a value nested deeper than `max` levels (a top-level object or array is level 1), naming the
 * top-level field where it happens. Walks with its own stack, so however deep the value, it cannot overflow.
 */
export function assertPayloadDepth(value: unknown, max = MAX_PAYLOAD_DEPTH): void {
  if (!depthExceeds(value, max)) return;
  const field =
    isNested(value) && !Array.isArray(value)
      ? Object.entries(value).find(([, child]) => depthExceeds(child, max - 1))?.[0]
      : undefined;
  throw new ValidationError(
    `payload is nested deeper than ${max} levels${field ? ` (at ${field})` : ''}`,
    { maxDepth: max, ...(field ? { fields: [field] } : {}) },
  );
}

function isNested(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !ArrayBuffer.isView(value);
}

function depthExceeds(value: unknown, max: number): boolean {
  return nestingDepth(value, max) > max;
}

/**
 * How many levels objects and arrays nest in `value` (0 for a scalar), or the first level found past
 * `stopAt`. Iterative, so any depth is safe, and bounded by the value's size.
 */
export function nestingDepth(value: unknown, stopAt = Infinity): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next && deepest <= stopAt; next = pending.pop()) {
    const [node, level] = next;
    if (!isNested(node)) continue;
    deepest = Math.max(deepest, level);
    for (const child of Object.values(node)) pending.push([child, level + 1]);
  }
  return deepest;
}

/** Validates a WS payload (or any plain value) against a DTO class; throws our ValidationError. */
export function validateDto<T extends object>(cls: ClassConstructor<T>, value: unknown): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('payload must be a JSON object');
  }
  assertPayloadDepth(value);
  const instance = plainToInstance(cls, value);
  const errors = validateSync(instance, OPTIONS);
  if (errors.length > 0) throw toValidationError(errors);
  return instance;
}

/**
 * Nest's pipe with the depth bound first, wherever it would run class-transformer: not on a gateway's
 * `unknown` payload (the gateway calls validateDto, inside its ack) nor on custom decorators.
 */
class DepthBoundValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.metatype && this.toValidate(metadata)) assertPayloadDepth(value);
    return super.transform(value, metadata);
  }
}

/** The same rules for REST bodies and queries. */
export function createValidationPipe(): ValidationPipe {
  return new DepthBoundValidationPipe({
    ...OPTIONS,
    transform: true,
    exceptionFactory: toValidationError,
  });
}

function toValidationError(errors: ClassValidationError[]): ValidationError {
  const messages = flatten(errors);
  return new ValidationError(messages.join('; '), { fields: errors.map((e) => e.property) });
}

function flatten(errors: ClassValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => (prefix ? `${prefix}${m}` : m)),
    ...flatten(e.children ?? [], `${prefix}${e.property}.`),
  ]);
}
