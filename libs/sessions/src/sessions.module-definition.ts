import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionsModuleOptions } from './sessions.options';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: SESSIONS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionsModuleOptions>().setClassMethodName('forRoot').build();
