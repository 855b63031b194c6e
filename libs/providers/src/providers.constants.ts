/** The DI token of a provider by name, e.g. `@Inject(providerToken('claude'))`. */
export function providerToken(name: string): string {
  return `JELMORE:PROVIDER:${name}`;
}
