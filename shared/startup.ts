import { ConfigProblems, readConfig } from '#shared/config.ts';
import { ConfigError } from '#shared/errors.ts';
import { buildProviders } from '#shared/providers/index.ts';

export interface StartupOptions {
  /** The environment to check; `process.env` by default. */
  env?: Record<string, string | undefined>;
  /**
   * Called at module init of a `functions/*.ts` entry: check only inside a Lambda runtime, whose
   * environment is complete before init. Local mode and the tests import the handlers first and
   * set the environment afterwards, so they call this again, without the flag, once it is set.
   */
  lambdaInit?: boolean;
}

/**
 * Loads the configuration and the provider definitions (built-ins plus
 * `KEYFLEET_PROVIDER_OVERRIDES`) and throws one {@link ConfigError} listing every problem of both,
 * so a misconfigured function fails before it serves anything instead of answering `500` per
 * request.
 */
export function checkStartup(options: StartupOptions = {}): void {
  const env = options.env ?? process.env;
  if (options.lambdaInit && !env.AWS_LAMBDA_FUNCTION_NAME) return;
  const { config, problems } = readConfig(env);
  try {
    buildProviders(config.providerOverrides);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0) throw new ConfigProblems(problems);
}
