import { describe, expect, it } from 'vitest';
import { cleanCommitMessage, cleanTaskName } from '#shared/helpers/clean.ts';

describe('cleanTaskName', () => {
  it.each([
    ['"Add retry to the upload client."', 'Add retry to the upload client'],
    ['**Task name:** Fix login', 'Fix login'],
    ['\n\n  Refactor the cache layer\nextra explanation', 'Refactor the cache layer'],
    [
      'Task name: Migrate every service in the monorepo from the old logging library to structured logs',
      'Migrate every service in the monorepo from the old logging',
    ],
    ['', ''],
  ])('%j → %j', (answer, name) => {
    const cleaned = cleanTaskName(answer);
    expect(cleaned).toBe(name);
    expect(cleaned.length).toBeLessThanOrEqual(60);
    expect(cleaned).not.toContain('\n');
  });
});

describe('cleanCommitMessage', () => {
  it('keeps a conventional subject and body', () => {
    expect(cleanCommitMessage('feat(api): add launches\n\nBody line.')).toBe('feat(api): add launches\n\nBody line.');
  });

  it('strips fences and quotes, and makes an unconventional subject conventional', () => {
    expect(cleanCommitMessage('```\n"Added the thing."\n```')).toBe('chore: added the thing');
  });

  it('keeps subjects within 72 characters', () => {
    const message = cleanCommitMessage(`fix: ${'word '.repeat(30)}`);
    expect(message.length).toBeLessThanOrEqual(72);
    expect(message.startsWith('fix: word')).toBe(true);
  });
});
