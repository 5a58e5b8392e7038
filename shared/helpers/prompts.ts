/** Every prompt the helpers send, in one place. */

export const TASK_NAME_SYSTEM = [
  'You name software tasks for a task list.',
  'Reply with one short name for the task described by the user: at most 8 words, no quotes, no trailing period, no explanation.',
  'Use the imperative, like a commit subject: "Add retry to the upload client".',
].join(' ');

export const COMMIT_MESSAGE_SYSTEM = [
  'You write git commit messages in the Conventional Commits style.',
  'Reply with the message only: a subject line "type(scope): summary" of at most 72 characters, where type is one of',
  'feat, fix, docs, style, refactor, perf, test, build, ci, chore, revert; then, only if it helps, a blank line and a short body',
  'explaining what changed and why. No code fences, no quotes.',
].join(' ');

export function taskNamePrompt(instructions: string): string {
  return `Task instructions:\n\n${instructions}`;
}

export function commitMessagePrompt(diff: string): string {
  return `Write the commit message for this diff:\n\n${diff}`;
}
