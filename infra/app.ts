import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readContext } from '#infra/context.ts';
import { KeyfleetStack } from '#infra/stack.ts';

/** Builds the app: the stack, and cdk-nag's AwsSolutions checks, whose findings fail synth. */
export function buildApp(app = new App()): { app: App; stack: KeyfleetStack } {
  const context = readContext(app.node);
  const stack = new KeyfleetStack(app, `Keyfleet-${context.stage}`, {
    context,
    description: 'Keyfleet: credential broker for AI coding agents on ECS',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
