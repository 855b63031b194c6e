export * from './content';
export * from './errors';
export * from './events';
export * from './permissions';
export * from './provider';
export * from './session';
export * from './ws-protocol';
export * from './settings';
