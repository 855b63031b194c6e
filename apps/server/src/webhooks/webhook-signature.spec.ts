import { createHmac } from 'node:crypto';
import { signatureHeader } from './webhook-signature';

describe('signatureHeader', () => {
  it('signs "<t>.<body>" with the secret, so another body, secret or time signs differently', () => {
    const secret = 'whsec-0123456789abcdef';
    const body = '{"id":"whd_1"}';
    const header = signatureHeader(secret, body, 1_700_000_000);
    const mac = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${mac}`);
    expect(signatureHeader(secret, `${body} `, 1_700_000_000)).not.toBe(header);
    expect(signatureHeader('another-secret-0123', body, 1_700_000_000)).not.toBe(header);
    expect(signatureHeader(secret, body, 1_700_000_001).split(',')[1]).not.toBe(
      header.split(',')[1],
    );
  });
});
