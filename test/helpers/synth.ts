import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '#infra/app.ts';

export interface Synthesized {
  template: Template;
  json: Record<string, unknown>;
  outdir: string;
  /** cdk-nag findings that were not acknowledged. */
  findings: { ruleId: string; resource: string }[];
}

/**
 * Synthesises the real app (with cdk-nag) into a temporary directory. `bundle: false` skips
 * esbuild for speed; the default bundles every function as a deploy would.
 */
export function synth(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'kf-cdk-'));
  const app = new App({
    outdir,
    context: { stage: 'test', ...context, ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}) },
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
  return { template: Template.fromJSON(json), json, outdir, findings };
}
