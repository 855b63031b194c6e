export * from './client-error';
export * from './client.types';
export * from './content-blocks';
export * from './jelmore-client';
export * from './session-event-stream';
export * from './shared-session';
