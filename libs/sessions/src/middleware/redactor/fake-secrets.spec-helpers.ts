// Fake secrets of the real shapes, built at run time so that no scanner takes this file for a leak.
export const body = (n: number, chars = 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0z') =>
  Array.from({ length: n }, (_, i) => chars[(i * 7) % chars.length]).join('');
export const FAKE = {
  anthropic: `sk-ant-api03-${body(93)}-${body(6)}AA`,
  openai: `sk-${body(48)}`,
  openaiProject: `sk-proj-${body(40)}_${body(60)}`,
  github: `ghp_${body(36)}`,
  githubFine: `github_pat_${body(22)}_${body(59)}`,
  aws: `AKIA${body(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
  slack: `xoxb-${body(12, '0123456789')}-${body(13, '0123456789')}-${body(24)}`,
  delegation: `jdt.${body(60)}.${body(43)}`,
  privateKey: [
    '-----BEGIN RSA PRIVATE KEY-----',
    body(64),
    body(64),
    `${body(20)}==`,
    '-----END RSA PRIVATE KEY-----',
  ].join('\n'),
};
