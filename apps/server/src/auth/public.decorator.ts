import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'jelmore:public';

/** Routes anyone may call without a key: the Kubernetes probes. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
