/** Turning model answers into what the helpers promise. */

const CONVENTIONAL = /^(feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert)(\([^)\n]{1,40}\))?!?: \S/;

function stripWrapping(text: string): string {
  return text
    .replace(/^```[a-z]*\n?/i, '')
    .replace(/\n?```\s*$/, '')
    .trim();
}

function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max + 1);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : text.slice(0, max)).replace(/[\s,;:.-]+$/, '');
}

/** One line, no quotes or markdown, at most 60 characters; empty when nothing usable came back. */
export function cleanTaskName(answer: string): string {
  const line =
    stripWrapping(answer)
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '';
  const plain = line
    .replace(/\*\*/g, '')
    .replace(/^[#*>\-\s]+/, '')
    .replace(/^(task name|name)\s*:\s*/i, '')
    .replace(/^["'`“”‘’]+|["'`“”‘’]+$/g, '')
    .replace(/\s+/g, ' ')
    .replace(/\.$/, '')
    .trim();
  return shorten(plain, 60);
}

/**
 * A conventional subject of at most 72 characters (prefixed `chore: ` if the model ignored the
 * convention) and an optional body, separated by a blank line; empty when nothing came back.
 */
export function cleanCommitMessage(answer: string): string {
  const lines = stripWrapping(answer).replace(/\r\n/g, '\n').split('\n');
  const first = lines.findIndex((l) => l.trim().length > 0);
  if (first < 0) return '';
  let subject = (lines[first] ?? '')
    .trim()
    .replace(/^["'`]+|["'`]+$/g, '')
    .replace(/\.$/, '');
  if (!CONVENTIONAL.test(subject)) subject = `chore: ${subject.charAt(0).toLowerCase()}${subject.slice(1)}`;
  subject = shorten(subject, 72);
  const body = lines
    .slice(first + 1)
    .join('\n')
    .trim()
    .slice(0, 4000);
  return body ? `${subject}\n\n${body}` : subject;
}
