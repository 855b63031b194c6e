/**
 * A JSON Schema (draft 07, the base of AsyncAPI 3's schema format). `optional` is never a keyword: it
 * keeps an `optional(...)` field from passing where a required one is expected (see FieldSchemas).
 */
export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  const?: unknown;
  enum?: readonly unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  items?: JsonSchema;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  oneOf?: JsonSchema[];
  title?: string;
  description?: string;
  examples?: unknown[];
  optional?: never;
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** A reference to a schema of the document's components. */
export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** A field that may be absent. */
export interface OptionalField {
  optional: true;
  schema: JsonSchema;
}

export const optional = (schema: JsonSchema): OptionalField => ({ optional: true, schema });

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/**
 * A schema for each field of the contract type T: the compiler refuses a missing field, an unknown one,
 * and `optional(...)` on a field that T requires (or its absence on one T leaves optional).
 */
export type FieldSchemas<T> = { [K in Exclude<keyof T, OptionalKeys<T>>]-?: JsonSchema } & {
  [K in OptionalKeys<T>]-?: OptionalField;
};

/** The object schema of a contract type, from its fields (see FieldSchemas). */
export function objectSchema<T>(
  fields: FieldSchemas<T>,
  extra: Pick<JsonSchema, 'title' | 'description'> = {},
): JsonSchema {
  return schemaOfFields(fields, extra);
}

/** The object schema of fields whose types were checked elsewhere (e.g. several FieldSchemas spread). */
export function schemaOfFields(
  fields: Record<string, JsonSchema | OptionalField>,
  extra: Pick<JsonSchema, 'title' | 'description'> = {},
): JsonSchema {
  const entries = Object.entries(fields);
  const required = entries.filter(([, field]) => !isOptional(field)).map(([name]) => name);
  return {
    type: 'object',
    ...extra,
    properties: Object.fromEntries(
      entries.map(([name, field]) => [name, isOptional(field) ? field.schema : field]),
    ),
    ...(required.length ? { required } : {}),
  };
}

function isOptional(field: JsonSchema | OptionalField): field is OptionalField {
  return field.optional === true;
}

/** The list of every member of the string union T: the compiler refuses a missing or unknown one. */
export function everyMember<T extends string>() {
  return <const V extends readonly T[]>(
    ...values: V & ([T] extends [V[number]] ? unknown : { missing: Exclude<T, V[number]> })
  ): V => values;
}
