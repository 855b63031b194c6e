import {
  ARRAY_MAX_SIZE,
  getMetadataStorage,
  IS_ARRAY,
  IS_BOOLEAN,
  IS_IN,
  IS_INT,
  IS_NOT_EMPTY,
  IS_NUMBER,
  IS_POSITIVE,
  IS_STRING,
  IS_UUID,
  MATCHES,
  MAX,
  MAX_LENGTH,
  MIN,
  ValidationTypes,
} from 'class-validator';
import { IS_TURN_CONTENT, TURN_CONTENT_SCHEMA } from '../api/turn-content';
import type { JsonSchema } from './json-schema';

type Constraints = unknown[] | undefined;

/** What each class-validator decorator the DTOs use says, as JSON Schema keywords. */
const KEYWORDS: Record<string, (c: Constraints) => JsonSchema> = {
  [IS_STRING]: () => ({ type: 'string' }),
  [IS_NOT_EMPTY]: () => ({ minLength: 1 }),
  [MAX_LENGTH]: (c) => ({ maxLength: c![0] as number }),
  [MATCHES]: (c) => ({ pattern: patternOf(c![0]) }),
  [IS_UUID]: () => ({ type: 'string', format: 'uuid' }),
  [IS_INT]: () => ({ type: 'integer' }),
  [IS_NUMBER]: () => ({ type: 'number' }),
  [IS_POSITIVE]: () => ({ exclusiveMinimum: 0 }),
  [MIN]: (c) => ({ minimum: c![0] as number }),
  [MAX]: (c) => ({ maximum: c![0] as number }),
  [IS_BOOLEAN]: () => ({ type: 'boolean' }),
  [IS_IN]: (c) => ({ enum: c![0] as unknown[] }),
  [IS_ARRAY]: () => ({ type: 'array' }),
  [ARRAY_MAX_SIZE]: (c) => ({ maxItems: c![0] as number }),
  [IS_TURN_CONTENT]: () => TURN_CONTENT_SCHEMA as JsonSchema,
};

/** What @ApiProperty said about a field, where it did: a description and an example for the reader. */
const SWAGGER_PROPERTY = 'swagger/apiModelProperties';

/**
 * The JSON Schema of a class-validator DTO, read from the decorators the server validates with, so the
 * document says what the server takes. Unknown properties are refused (the pipe's forbidNonWhitelisted);
 * a nested DTO is a `$ref` named by `refOf`. A decorator this does not know is an error, not a gap.
 */
export function dtoSchema(
  cls: new () => object,
  refOf: (nested: new () => object) => string,
): JsonSchema {
  const storage = getMetadataStorage();
  const byProperty = new Map<string, JsonSchema & { items?: JsonSchema }>();
  const optional = new Set<string>();
  for (const meta of storage.getTargetValidationMetadatas(cls, '', true, false)) {
    const property = meta.propertyName;
    const schema = byProperty.get(property) ?? {};
    byProperty.set(property, schema);
    if (meta.type === ValidationTypes.CONDITIONAL_VALIDATION && meta.name === 'isOptional') {
      optional.add(property);
    } else if (meta.type === ValidationTypes.NESTED_VALIDATION) {
      const nested = Reflect.getMetadata('design:type', cls.prototype as object, property) as
        (new () => object) | undefined;
      if (!nested || nested === Array || nested === Object) {
        throw new Error(
          `${cls.name}.${property}: a nested DTO needs its class as the field's type`,
        );
      }
      schema.$ref = refOf(nested);
    } else {
      const keywords = meta.type === ValidationTypes.CUSTOM_VALIDATION && KEYWORDS[meta.name ?? ''];
      if (!keywords) {
        throw new Error(`${cls.name}.${property}: no JSON Schema for ${meta.name ?? meta.type}`);
      }
      const target = meta.each ? (schema.items ??= {}) : schema;
      Object.assign(target, keywords(meta.constraints as Constraints));
    }
  }
  for (const [property, schema] of byProperty) {
    const api = Reflect.getMetadata(SWAGGER_PROPERTY, cls.prototype as object, property) as
      { description?: string; example?: unknown } | undefined;
    if (api?.description) schema.description = api.description;
    if (api?.example !== undefined) schema.examples = [api.example];
  }
  const required = [...byProperty.keys()].filter((p) => !optional.has(p));
  return {
    type: 'object',
    properties: Object.fromEntries(byProperty),
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function patternOf(pattern: unknown): string {
  if (!(pattern instanceof RegExp) || pattern.flags) {
    throw new Error(`@Matches(${String(pattern)}): only a RegExp without flags maps to a pattern`);
  }
  return pattern.source;
}
