import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '#infra/app.ts';

export interface Synthesized {
  template: Template;
  json: Record<string, unknown>;
  /** The cloud assembly with the bundles; already removed when synthesised with `bundle: false`. */
  outdir: string;
  /** cdk-nag findings that were not acknowledged. */
  findings: { ruleId: string; resource: string }[];
  /** Removes `outdir` (tens of MB with bundles); call it once the bundles have been read. */
  cleanup(): void;
}

/**
 * Synthesises the real app (with cdk-nag) into a temporary directory. `bundle: false` skips
 * esbuild for speed and removes the directory before returning (only the template is needed);
 * the default bundles every function as a deploy would and leaves the directory to the caller,
 * who removes it with `cleanup()`.
 */
export function synth(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'kf-cdk-'));
  const cleanup = () => rmSync(outdir, { recursive: true, force: true });
  try {
    const synthesized = synthInto(outdir, context, options.bundle !== false);
    if (options.bundle === false) cleanup();
    return { ...synthesized, outdir, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

function synthInto(
  outdir: string,
  context: Record<string, unknown>,
  bundle: boolean,
): Pick<Synthesized, 'template' | 'json' | 'findings'> {
  const app = new App({
    outdir,
    context: { stage: 'test', ...context, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const { stack } = buildApp(app);
  let findings: Synthesized['findings'] = [];
  try {
    app.synth();
  } catch (error) {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingResources: { resourceLogicalId: string }[] }[] }[];
    };
    findings = report.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ ruleId: v.ruleName, resource: r.resourceLogicalId })),
      ),
    );
    if (findings.length === 0) throw error;
  }
  const json = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.template.json`), 'utf8')) as Record<
    string,
    unknown
  >;
  return { template: Template.fromJSON(json), json, findings };
}
