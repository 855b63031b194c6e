export * from './middleware.options';
export * from './redactor/secret-redactor';
export * from './session-middleware.decorator';
