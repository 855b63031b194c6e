export * from './client-error';
export * from './client.types';
export * from './jelmore-client';
export * from './session-event-stream';
