// The one redaction module: secrets by shape, by secret-looking name, and by known value.
import { describe, expect, it } from 'vitest';
import { createRedactor, looksSecretName, MASK, redact } from '../../activities/redact.js';

describe('redact.text masks secret shapes and keeps the rest of the line', () => {
  it.each([
    ['Authorization: Bearer abc.def-123_XYZ', 'abc.def-123_XYZ'],
    ['calling with api_key=ak_live_1234567 now', 'ak_live_1234567'],
    ['{"password": "hunter22", "user": "bob"}', 'hunter22'],
    ['ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijkl', 'sk-ant-api03-abcdefghijkl'],
    ['key sk-proj-abcdefgh1234 rejected', 'abcdefgh1234'],
    ['token ghp_abcdefghijklmnopqrstuvwxyz0123 leaked', 'ghp_abcdefghijklmnopqrstuvwxyz0123'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0'],
    ['connecting to postgres://app:s3cretPass@db:5432/app', 's3cretPass'],
    ['opaque Xk9fQ2mLp8vR3tZ7wY1bN5cJ0hG4dS6a here', 'Xk9fQ2mLp8vR3tZ7wY1bN5cJ0hG4dS6a'],
  ])('%s', (line, secret) => {
    const out = redact.text(line);
    expect(out).not.toContain(secret);
    expect(out).toContain(MASK);
  });

  it.each([
    'ERROR failed to start: connection refused to api.anthropic.com:443',
    'pod agent-native-framework-7d9f8b6c4-x2x9z restarted',
    'image sha256:3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a',
    'request id 123e4567-e89b-12d3-a456-426614174000 took 12ms',
    'LOG_LEVEL=debug AGENT_MODE=server',
  ])('leaves ordinary text alone: %s', (line) => {
    expect(redact.text(line)).toBe(line);
  });
});

describe('known literals', () => {
  it('masks a literal secret value wherever it appears, longest first', () => {
    const redactor = createRedactor(['CANARY-123', 'CANARY-123-LONGER']);
    expect(redactor.text('x CANARY-123-LONGER y CANARY-123')).toBe(`x ${MASK} y ${MASK}`);
  });

  it('ignores literals too short to be secrets', () => {
    expect(createRedactor(['abc']).text('abc def')).toBe('abc def');
  });

  it('withLiterals adds to what the redactor already knows', () => {
    const redactor = createRedactor(['first-secret']).withLiterals(['second-secret']);
    expect(redactor.text('first-secret second-secret')).toBe(`${MASK} ${MASK}`);
  });
});

describe('redact.value masks the values of secret-looking keys', () => {
  it.each([
    ['ANTHROPIC_API_KEY', true],
    ['DB_PASSWORD', true],
    ['authToken', true],
    ['private-key', true],
    ['LOG_LEVEL', false],
    ['AGENT_MODE', false],
  ])('%s → secret: %s', (name, secret) => {
    expect(looksSecretName(name)).toBe(secret);
    expect(redact.value(name, 'plainvalue') === MASK).toBe(secret);
  });
});
