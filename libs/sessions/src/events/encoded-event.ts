import type { SessionEvent } from '@jelmore/contracts';

const ENCODED = Symbol('jelmore.encodedEvent');

/**
 * Remembers an event's JSON (the log encodes each event once, for the store): a transport can send that
 * text instead of encoding the event again. Not enumerable, so a copy (`{ ...event }`) never carries a
 * text that its changes would make stale. Events are never changed once logged.
 */
export function rememberEncoding(event: SessionEvent, json: string): SessionEvent {
  Object.defineProperty(event, ENCODED, { value: json });
  return event;
}

/** The event's JSON if the log remembered it, else undefined. */
export function encodingOf(event: SessionEvent): string | undefined {
  return (event as SessionEvent & { [ENCODED]?: string })[ENCODED];
}
