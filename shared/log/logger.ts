import { Logger } from '@aws-lambda-powertools/logger';
import { redactingReplacer } from '#shared/log/redact.ts';

/**
 * The one logger. Every attribute passes through the redacting replacer, so a token reaches no
 * log line even when a caller logs a whole object by mistake.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'keyfleet',
  jsonReplacerFn: redactingReplacer,
});
