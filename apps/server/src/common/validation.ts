import { ValidationPipe } from '@nestjs/common';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError as ClassValidationError } from 'class-validator';
import { ValidationError } from '@jelmore/contracts';

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true };

/** Validates a WS payload (or any plain value) against a DTO class; throws our ValidationError. */
export function validateDto<T extends object>(cls: ClassConstructor<T>, value: unknown): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('payload must be a JSON object');
  }
  const instance = plainToInstance(cls, value);
  const errors = validateSync(instance, OPTIONS);
  if (errors.length > 0) throw toValidationError(errors);
  return instance;
}

/** The same rules for REST bodies and queries. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({ ...OPTIONS, transform: true, exceptionFactory: toValidationError });
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
